"""Catch the mascot over the API: a hunt is judged against its seeded plan and credited once;
daily caps follow each member's local day; every refusal is typed and changes nothing."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, update
from strawberry.relay import GlobalID, to_base64

from backend.db.engine import Pools, open_database
from backend.db.tables import (
    AuditLog,
    IdempotencyKey,
    LedgerEntry,
    MascotHunt,
    Member,
    ProgramSetting,
)
from backend.main import create_app
from backend.rewards.games.mascot import services as hunt_services
from backend.settings import Settings
from tests.api.conftest import Api
from tests.api.operations import ENROLL
from tests.api.test_query_counts import counting_checkouts
from tests.helpers import assert_consistent

START = """
mutation Start($key: String) {
  startMascotHunt(idempotencyKey: $key) {
    hunt { id startedAt durationMs deadline finishBy reactionMs toleranceMs pointsPerCatch
           goldenBonus seedCommitment huntsLeftToday
           spawns { mascotId appearAtMs visibleMs disappearAtMs x y golden } }
    errors { code field message }
  }
}"""
FINISH = """
mutation Finish($id: ID!, $catches: [MascotCatchInput!]!) {
  finishMascotHunt(sessionId: $id, catches: $catches) {
    result { huntId pointsEarned pointsAwarded goldenCaught finishedAt seed
             caught { mascotId caughtAtMs } rejected { mascotId caughtAtMs reason } }
    errors { code field message }
  }
}"""
FLAGGED = """
query Flagged($first: Int!) {
  flaggedMascotHunts(first: $first) {
    edges { node { id memberReference startedAt result { pointsAwarded rejected { reason } } } }
    pageInfo { hasNextPage }
  }
}"""
LEFT = "{ me { mascotHuntsLeftToday points { balance } } }"
STAFF = "support:sam"


async def enrol(api: Api, uid: str, time_zone: str = "UTC") -> int:
    """Enrol a member; return their row id."""
    variables = {"input": {"birthDate": "1990-05-17", "timeZone": time_zone}}
    body = await api(ENROLL, variables, f"member:{uid}")
    return int(GlobalID.from_id(body["data"]["enroll"]["member"]["id"]).node_id)


async def start(api: Api, uid: str, key: str | None = None) -> dict[str, Any]:
    """Start a hunt as a member; the payload."""
    body = await api(START, {"key": key}, f"member:{uid}")
    assert "errors" not in body, body
    return body["data"]["startMascotHunt"]


async def finish(api: Api, uid: str, hunt_id: str, catches: list[dict]) -> dict[str, Any]:
    """Finish a hunt as a member; the payload."""
    body = await api(FINISH, {"id": hunt_id, "catches": catches}, f"member:{uid}")
    assert "errors" not in body, body
    return body["data"]["finishMascotHunt"]


def caught_in_time(hunt: dict[str, Any]) -> list[dict[str, int]]:
    """A catch of every mascot of the plan, a human reaction after it appeared."""
    return [
        {"mascotId": s["mascotId"], "caughtAtMs": s["appearAtMs"] + hunt["reactionMs"] + 80}
        for s in hunt["spawns"]
    ]


def worth(hunt: dict[str, Any]) -> int:
    """What catching every mascot of a hunt earns."""
    golden = sum(s["golden"] for s in hunt["spawns"])
    return hunt["pointsPerCatch"] * len(hunt["spawns"]) + hunt["goldenBonus"] * golden


async def set_rules(database, **changes: int) -> None:
    """Change the hunt rules (program setting `mascot_hunt`) for hunts started from now on."""
    key = ProgramSetting.key == "mascot_hunt"
    async with database.writer.begin() as conn:
        rules = (await conn.execute(select(ProgramSetting.value).where(key))).scalar_one()
        await conn.execute(update(ProgramSetting).where(key).values(value={**rules, **changes}))


async def state(database) -> dict[str, Any]:
    """Everything a hunt may change: hunts, entries, keys and balances."""
    async with database.reader.connect() as conn:
        hunts = (await conn.execute(select(MascotHunt).order_by(MascotHunt.id))).all()
        counts = [
            (await conn.execute(select(func.count()).select_from(t))).scalar_one()
            for t in (LedgerEntry, IdempotencyKey)
        ]
        balances = (await conn.execute(select(Member.id, Member.balance))).all()
    return {"hunts": [tuple(h) for h in hunts], "rows": counts, "balances": sorted(balances)}


@pytest.fixture
def under_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hunt seeds that plan two golden mascots of twelve, so catching all stays under the daily
    cap (150): a random seed plans four or more about once in a hundred hunts."""
    monkeypatch.setattr(hunt_services, "random_bytes", bytes)


async def test_a_hunt_is_animated_from_its_plan_and_its_catches_are_credited_once(
    api, uows, database, clock, count_queries, under_the_cap
):
    # Given a member with no hunt played today
    alice = await enrol(api, "alice")
    assert (await api(LEFT, token="member:alice"))["data"]["me"]["mascotHuntsLeftToday"] == 5
    # When they start a hunt
    started = await start(api, "alice", key="hunt-1")
    hunt = started["hunt"]
    assert started["errors"] == [] and len(hunt["spawns"]) == 12
    assert sum(spawn["golden"] for spawn in hunt["spawns"]) == 2
    assert (hunt["durationMs"], hunt["reactionMs"], hunt["huntsLeftToday"]) == (30_000, 150, 4)
    assert datetime.fromisoformat(hunt["deadline"]) == clock.now() + timedelta(seconds=30)
    assert datetime.fromisoformat(hunt["finishBy"]) == clock.now() + timedelta(seconds=40)
    assert await start(api, "alice", key="hunt-1") == started  # a retried start: the same hunt
    # and report every mascot in time, one twice, one forged and one too fast
    clock.advance(seconds=31)
    first = hunt["spawns"][0]
    catches = [
        *caught_in_time(hunt),
        {"mascotId": first["mascotId"], "caughtAtMs": first["disappearAtMs"]},
        {"mascotId": 13, "caughtAtMs": 1_000},
    ]
    finished = await finish(api, "alice", hunt["id"], catches)
    # Then the real, timely, first catches count and the daily cap (150) is not reached
    result = finished["result"]
    assert finished["errors"] == [] and len(result["caught"]) == 12
    assert result["pointsEarned"] == result["pointsAwarded"] == worth(hunt)
    assert {(r["mascotId"], r["reason"]) for r in result["rejected"]} == {
        (first["mascotId"], "ALREADY_CAUGHT"),
        (13, "UNKNOWN_MASCOT"),
    }
    assert hashlib.sha256(bytes.fromhex(result["seed"])).hexdigest() == hunt["seedCommitment"]
    member = await assert_consistent(uows, alice)
    assert member.balance == worth(hunt)
    async with database.reader.connect() as conn:
        entry = (await conn.execute(select(LedgerEntry).order_by(LedgerEntry.id.desc()))).first()
    assert (entry.kind, entry.source, entry.amount) == ("earn", "game", worth(hunt))
    # and a repeated finish, whatever it reports, answers the first result and credits nothing
    before = await state(database)
    assert await finish(api, "alice", hunt["id"], []) == finished
    assert await state(database) == before
    # and the dashboard reads the hunts left with the member, in one batch
    count_queries.count = 0
    with counting_checkouts(database) as checkouts:
        me = (await api(LEFT, token="member:alice"))["data"]["me"]
    assert me == {"mascotHuntsLeftToday": 4, "points": {"balance": worth(hunt)}}
    assert checkouts == {"reader": 1, "writer": 0}


async def test_ten_concurrent_finishes_of_one_hunt_on_small_pools_credit_it_once(
    api, uows, database, clock, verifier, under_the_cap
):
    alice = await enrol(api, "alice")
    hunt = (await start(api, "alice"))["hunt"]
    small = open_database(database.url, Pools(readers=2, writers=2, timeout=10))
    app = create_app(
        Settings(mode="production", jobs_enabled=False),
        verifier=verifier,
        clock=clock,
        database=small,
    )
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://test"
    ) as client:
        answers = await asyncio.gather(
            *(finish(Api(client), "alice", hunt["id"], caught_in_time(hunt)) for _ in range(10))
        )
    await small.dispose()
    assert all(a == answers[0] for a in answers) and answers[0]["errors"] == []
    assert (await assert_consistent(uows, alice)).balance == worth(hunt)
    async with database.reader.connect() as conn:
        games = select(LedgerEntry.amount).where(LedgerEntry.source == "game")
        assert (await conn.execute(games)).scalars().all() == [worth(hunt)]


async def test_daily_caps_hold_until_each_members_local_midnight(api, uows, database, clock):
    # Given two hunts and 12 points a day, and members in Auckland (UTC+12) and Los Angeles (UTC-7)
    await set_rules(database, daily_hunts=2, daily_points_cap=12)
    kiri = await enrol(api, "kiri", "Pacific/Auckland")
    lou = await enrol(api, "lou", "America/Los_Angeles")
    clock.advance(hours=23, minutes=30)  # 2 June 11:30 UTC: 23:30 in Auckland, 04:30 in LA
    for uid in ("kiri", "lou"):
        hunts = [(await start(api, uid))["hunt"] for _ in range(2)]
        awarded = [
            (await finish(api, uid, h["id"], caught_in_time(h)))["result"]["pointsAwarded"]
            for h in hunts
        ]
        assert awarded == [12, 0]  # the cap on hunt points of the day
        before = await state(database)
        refused = await start(api, uid)
        assert [e["code"] for e in refused["errors"]] == ["NO_HUNTS_LEFT"] and not refused["hunt"]
        assert await state(database) == before
    # When Auckland passes midnight (12:01 UTC), Los Angeles not yet
    clock.advance(minutes=31)
    assert (await start(api, "lou"))["errors"][0]["code"] == "NO_HUNTS_LEFT"
    hunt = (await start(api, "kiri"))["hunt"]
    assert (await finish(api, "kiri", hunt["id"], caught_in_time(hunt)))["result"][
        "pointsAwarded"
    ] == 12
    # Then at Los Angeles' midnight (07:00 UTC the next day) its member plays again
    clock.advance(hours=18, minutes=58)  # 3 June 06:59 UTC: 23:59 in LA
    assert (await start(api, "lou"))["errors"][0]["code"] == "NO_HUNTS_LEFT"
    clock.advance(minutes=2)
    assert (await start(api, "lou"))["errors"] == []
    assert (await assert_consistent(uows, kiri)).balance == 24
    assert (await assert_consistent(uows, lou)).balance == 12


async def test_a_finish_is_accepted_until_the_deadline_plus_grace_and_refused_after(
    api, database, clock
):
    await enrol(api, "alice")
    on_time, late = (await start(api, "alice"))["hunt"], (await start(api, "alice"))["hunt"]
    clock.advance(seconds=40)  # exactly at `finishBy` of both
    assert (await finish(api, "alice", on_time["id"], caught_in_time(on_time)))["errors"] == []
    clock.advance(milliseconds=1)
    before = await state(database)
    refused = await finish(api, "alice", late["id"], caught_in_time(late))
    assert refused["result"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("HUNT_EXPIRED", None)]
    assert await state(database) == before


async def test_someone_elses_or_a_made_up_hunt_is_unknown_and_nothing_changes(api, database):
    await enrol(api, "alice")
    await enrol(api, "bob")
    hunt = (await start(api, "alice"))["hunt"]
    before = await state(database)
    for session_id in (
        hunt["id"],  # alice's
        to_base64("Club", 1),
        "not-an-id",
        to_base64("MascotHunt", 2**31),
    ):
        refused = await finish(api, "bob", session_id, caught_in_time(hunt))
        assert [(e["code"], e["field"]) for e in refused["errors"]] == [
            ("UNKNOWN_HUNT", "sessionId")
        ]
        assert refused["result"] is None
    assert await state(database) == before


async def test_every_other_refusal_is_typed_and_changes_nothing(api, database):
    # Not enrolled
    before = await state(database)
    assert (await start(api, "nobody"))["errors"][0]["code"] == "NOT_ENROLLED"
    nobodys = await finish(api, "nobody", to_base64("MascotHunt", 1), [])
    assert nobodys["errors"][0]["code"] == "NOT_ENROLLED"
    assert await state(database) == before
    # Inputs past their limits: a key of 129 characters, 101 catches
    alice = await enrol(api, "alice")
    hunt = (await start(api, "alice", key="k" * 128))["hunt"]  # the longest key is fine
    before = await state(database)
    too_long = await start(api, "alice", key="k" * 129)
    assert [(e["code"], e["field"]) for e in too_long["errors"]] == [
        ("INVALID_IDEMPOTENCY_KEY", "idempotencyKey")
    ]
    oversized = [{"mascotId": 1, "caughtAtMs": 1_000}] * 101
    refused = await finish(api, "alice", hunt["id"], oversized)
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("TOO_MANY_CATCHES", "catches")]
    body = await api(
        FINISH,
        {"id": hunt["id"], "catches": [{"mascotId": 1, "caughtAtMs": 2**31}]},
        "member:alice",
    )
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"  # not a GraphQL Int
    assert await state(database) == before
    # A suspended member
    async with database.writer.begin() as conn:
        await conn.execute(update(Member).where(Member.id == alice).values(status="suspended"))
    before = await state(database)
    for payload in (await start(api, "alice"), await finish(api, "alice", hunt["id"], [])):
        assert [e["code"] for e in payload["errors"]] == ["MEMBER_INACTIVE"]
    # Staff, integrations and anonymous callers cannot play
    for token in ("marketing:mia", "integration:pos", None):
        body = await api(START, {}, token)
        assert body["errors"][0]["extensions"]["code"] in {"FORBIDDEN", "UNAUTHENTICATED"}
    assert await state(database) == before


async def test_a_hunt_of_a_hundred_forged_catches_is_flagged_for_staff(api, database):
    alice = await enrol(api, "alice")
    hunt = (await start(api, "alice"))["hunt"]
    forged = [{"mascotId": 1_000 + i, "caughtAtMs": i} for i in range(100)]  # the most allowed
    result = (await finish(api, "alice", hunt["id"], forged))["result"]
    assert (result["pointsAwarded"], len(result["rejected"])) == (0, 100)
    assert "flagged" not in result  # the player is not told
    body = await api(FLAGGED, {"first": 5}, STAFF)
    (node,) = [e["node"] for e in body["data"]["flaggedMascotHunts"]["edges"]]
    assert (node["id"], len(node["result"]["rejected"])) == (hunt["id"], 100)
    assert {r["reason"] for r in node["result"]["rejected"]} == {"UNKNOWN_MASCOT"}
    # Staff saw alice's card number: the read is audited like a lookup of her
    hunt_row = GlobalID.from_id(hunt["id"]).node_id
    audited = [("sam", "support", alice, {"by": "flaggedMascotHunt", "reference": hunt_row})]
    assert await reads_of_members(database) == audited
    refused = await api(FLAGGED, {"first": 5}, "member:alice")
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await reads_of_members(database) == audited  # a refused read leaves no row


async def reads_of_members(database) -> list[tuple[str, str, int, dict[str, Any]]]:
    """The audit trail's staff reads of member data: (actor, role, member id, by and reference)."""
    async with database.reader.connect() as conn:
        rows = await conn.execute(select(AuditLog).where(AuditLog.action == "read_member"))
        return [
            (r.actor_uid, r.actor_role, r.member_id, {k: r.details[k] for k in ("by", "reference")})
            for r in rows
        ]


async def test_starts_over_the_members_budget_are_rate_limited(
    client_for, sqlite_database, rate_store
):
    limit = {"rate_limit_mascot_hunt": "2/minute", **rate_store}
    async with client_for(sqlite_database, **limit) as client:
        api = Api(client)
        await enrol(api, "alice")
        codes = []
        for _ in range(3):
            body = await api(START, {}, "member:alice")
            codes.append(body.get("errors", [{}])[0].get("extensions", {}).get("code"))
        assert codes == [None, None, "RATE_LIMITED"]
