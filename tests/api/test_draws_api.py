"""Prize draws over the API: seeded and reproducible, entries paid once, one result however often
it runs, winners notified once; every refusal changes nothing."""

from __future__ import annotations

import asyncio
import hashlib
from collections import Counter

from sqlalchemy import select

from backend.db.tables import AuditLog, LedgerEntry, Notification
from backend.rewards.games.draws import run_due_draws
from games.draw import winning_tickets
from tests.api.board_operations import (
    CREATE,
    DRAWS,
    MIA,
    RUN,
    create,
    draw_input,
    enrolled,
    enter,
    state,
)
from tests.helpers import assert_consistent, give


async def listed(api, uid: str) -> dict:
    """The newest draw as a member sees it, with its tickets."""
    body = await api(DRAWS, None, f"member:{uid}")
    assert "errors" not in body, body
    return body["data"]["draws"]["edges"][0]["node"]


async def test_a_draw_is_committed_entered_drawn_reproducibly_and_winners_are_told(
    api, uows, database, clock
):
    ids = {
        uid: await enrolled(api, uid, locale)
        for uid, locale in (("ann", "nl"), ("bo", "en"), ("cy", "uk"))
    }
    for member_id in ids.values():
        await give(uows, member_id, 500)
    draw = await create(api, entryCost=100, maxEntriesPerMember=2)
    assert (draw["status"], draw["seed"], len(draw["seedCommitment"])) == ("OPEN", None, 64)

    tickets = [
        (await enter(api, uid, draw["id"], key))["ticket"]
        for uid, key in (("ann", "a1"), ("bo", "b1"), ("ann", "a2"), ("cy", "c1"))
    ]
    assert tickets == [
        {"number": 1, "holder": 1, "mine": True}, {"number": 2, "holder": 2, "mine": True},
        {"number": 3, "holder": 1, "mine": True}, {"number": 4, "holder": 4, "mine": True},
    ]  # fmt: skip
    seen = await listed(api, "ann")
    assert (seen["prize"], seen["myTickets"], seen["ticketCount"]) == (
        "Een weekend in Parijs",
        [1, 3],
        4,
    )
    assert (await assert_consistent(uows, ids["ann"])).balance == 300
    early = await api(RUN, {"id": draw["id"]}, MIA)
    assert early["data"]["runDraw"]["errors"][0]["code"] == "DRAW_NOT_CLOSED"

    clock.advance(days=1)
    drawn = (await api(RUN, {"id": draw["id"]}, MIA))["data"]["runDraw"]["draw"]

    seed = bytes.fromhex(drawn["seed"])
    assert hashlib.sha256(seed).hexdigest() == draw["seedCommitment"]
    published = [e["node"] for e in (await listed(api, "bo"))["tickets"]["edges"]]
    holders = [t["holder"] for t in published]
    recomputed = [t + 1 for t in winning_tickets(seed, holders, 2)]
    assert (drawn["status"], drawn["winningTickets"]) == ("DRAWN", recomputed)
    winners = {holders[t - 1] for t in recomputed}
    assert len(winners) == 2
    async with database.reader.connect() as conn:
        told = (
            await conn.execute(
                select(Notification.member_id, Notification.title, Notification.deep_link).where(
                    Notification.kind == "DRAW_WON"
                )
            )
        ).all()
        audit = (
            (await conn.execute(select(AuditLog.action).where(AuditLog.action.like("%draw"))))
            .scalars()
            .all()
        )
    by_holder = {1: ids["ann"], 2: ids["bo"], 4: ids["cy"]}
    assert sorted(m for m, _, _ in told) == sorted(by_holder[h] for h in winners)
    titles = {
        "nl": "Je hebt de trekking gewonnen!",
        "en": "You won the draw!",
        "uk": "Ви виграли розіграш!",
    }
    locales = {ids["ann"]: "nl", ids["bo"]: "en", ids["cy"]: "uk"}
    assert all(title == titles[locales[m]] for m, title, _ in told)
    assert all(link.startswith("rewards://draws/") for _, _, link in told)
    assert sorted(audit) == ["create_draw", "run_draw"]
    assert (await listed(api, "ann"))["won"] == (1 in winners)


async def test_twenty_concurrent_entries_of_one_member_take_exactly_the_limit(api, uows, database):
    ann = await enrolled(api, "ann")
    await give(uows, ann, 1000)
    draw = await create(api, entryCost=50, maxEntriesPerMember=3)

    answers = await asyncio.gather(*(enter(api, "ann", draw["id"], f"race-{i}") for i in range(20)))

    codes = Counter(a["errors"][0]["code"] if a["errors"] else "OK" for a in answers)
    assert codes == {"OK": 3, "ENTRY_LIMIT_REACHED": 17}
    assert sorted(a["ticket"]["number"] for a in answers if a["ticket"]) == [1, 2, 3]
    assert (await assert_consistent(uows, ann)).balance == 850
    winner = next(i for i, a in enumerate(answers) if a["ticket"])
    replay = await enter(api, "ann", draw["id"], f"race-{winner}")
    assert replay["ticket"] == answers[winner]["ticket"]
    assert (await assert_consistent(uows, ann)).balance == 850


async def test_running_a_draw_twice_at_once_and_by_the_job_gives_one_result(
    api, uows, database, clock
):
    draw = await create(api)
    for uid in ("ann", "bo", "cy"):
        await enrolled(api, uid)
        await enter(api, uid, draw["id"])
    clock.advance(days=1)

    *answers, _ = await asyncio.gather(
        *(api(RUN, {"id": draw["id"]}, MIA) for _ in range(2)), run_due_draws(uows)
    )
    again = await api(RUN, {"id": draw["id"]}, MIA)

    results = {
        (
            a["data"]["runDraw"]["draw"]["seed"],
            tuple(a["data"]["runDraw"]["draw"]["winningTickets"]),
        )
        for a in (*answers, again)
    }
    assert len(results) == 1 and len(next(iter(results))[1]) == 2
    async with database.reader.connect() as conn:
        told = (
            await conn.execute(select(Notification.id).where(Notification.kind == "DRAW_WON"))
        ).all()
        runs = (await conn.execute(select(AuditLog.id).where(AuditLog.action == "run_draw"))).all()
    assert (len(told), len(runs)) == (2, 1)


async def test_refusals_change_nothing(api, uows, database, clock):
    ann = await enrolled(api, "ann")
    await give(uows, ann, 60)
    gold = await create(api, minTier="gold")
    dear = await create(api, entryCost=100)
    free = await create(api, maxEntriesPerMember=1)
    assert (await enter(api, "ann", free["id"], "once"))["errors"] == []
    before = await state(database)

    refusals = [
        (gold["id"], "k1", "NOT_ELIGIBLE"),
        (dear["id"], "k2", "NOT_ENOUGH_POINTS"),
        (free["id"], "k3", "ENTRY_LIMIT_REACHED"),
        ("RHJhdzo5OTk=", "k4", "UNKNOWN_DRAW"),
        ("not-an-id", "k5", "UNKNOWN_DRAW"),
        (free["id"], "", "INVALID_IDEMPOTENCY_KEY"),
        (dear["id"], "once", "IDEMPOTENCY_CONFLICT"),
    ]
    for draw_id, key, code in refusals:
        answer = await enter(api, "ann", draw_id, key)
        assert [e["code"] for e in answer["errors"]] == [code], (code, answer)
    bad = [
        ({"winners": 0}, "INVALID_WINNERS"),
        ({"minTier": "diamond"}, "UNKNOWN_TIER"),
        ({"closesAt": "2026-06-01T00:00:00+00:00"}, "INVALID_CLOSE_TIME"),
        ({"entryCost": -1}, "INVALID_ENTRY_COST"),
        ({"maxEntriesPerMember": 101}, "INVALID_MAX_ENTRIES"),
        ({"prize": {"en": "x" * 201}}, "INVALID_PRIZE"),
        ({"prize": {"en": "Paris", "ar": "\u202ePARIS"}}, "INVALID_PRIZE"),
    ]
    for fields, code in bad:
        body = await api(CREATE, {"input": draw_input(**fields)}, MIA)
        assert [e["code"] for e in body["data"]["createDraw"]["errors"]] == [code], body
    forbidden = await api(CREATE, {"input": draw_input()}, "member:ann")
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    clock.advance(days=1)
    assert (await enter(api, "ann", dear["id"], "late"))["errors"][0]["code"] == "DRAW_CLOSED"
    assert await state(database) == before


async def test_the_longest_prize_texts_and_key_are_stored_whole(api, uows, database):
    ann = await enrolled(api, "ann", "ar")
    await give(uows, ann, 100)
    prize = {lang: "Ж" * 199 + "😀" for lang in ("en", "ar", "uk", "nl")}
    draw = await create(api, prize=prize, entryCost=100)
    key = "к" * 127 + "😀"

    answer = await enter(api, "ann", draw["id"], key)

    assert answer["errors"] == [] and answer["draw"]["prize"] == prize["ar"]
    assert (await enter(api, "ann", draw["id"], key))["ticket"] == answer["ticket"]  # replayed
    too_long = await enter(api, "ann", draw["id"], key + "k")
    assert too_long["errors"][0]["code"] == "INVALID_IDEMPOTENCY_KEY"
    async with database.reader.connect() as conn:
        reason = (
            await conn.execute(select(LedgerEntry.reason).where(LedgerEntry.amount < 0))
        ).scalar_one()
    assert len(reason) == 200 and reason.endswith("…")
