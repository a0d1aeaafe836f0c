"""Automations on both databases: each occasion acted on once (runs twice, two runners at once),
birthdays in time zones and on 29 February, expiry warnings, nudge and reminder boundaries."""

from __future__ import annotations

import asyncio
from dataclasses import asdict, replace
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select

from backend.db.tables import LedgerEntry, Occasion, ProgramSetting, Voucher
from backend.rewards.automations.services import AutomationReport, run_automations
from backend.rewards.clubs.services import create_club, join_club
from backend.rewards.offers.drafts import OfferDraft, OfferText
from backend.rewards.offers.rules import OfferKind
from backend.rewards.offers.services import create_offer
from backend.rewards.uow import UnitOfWork, UnitOfWorkFactory
from tests.api.test_query_plans import HOT, capturing, full_scans
from tests.helpers import give, member_row, new_member, spend
from tests.integration.test_clubs import MIA, draft
from tests.push_support import notifications_of

NOTHING = asdict(AutomationReport())
GROWING = ("club_membership", "automation_occasion", "notification", "device")


def at(clock, moment: datetime) -> None:
    """Move the manual clock forward to a moment."""
    clock.advance(seconds=(moment - clock.now()).total_seconds())


async def run(uows: UnitOfWorkFactory) -> dict[str, int]:
    """One run of every automation, as counts."""
    return asdict(await run_automations(uows))


async def kinds(uows: UnitOfWorkFactory, member_id: int) -> list[str]:
    """The kinds of a member's notifications, oldest first."""
    return [note.kind for note in await notifications_of(uows, member_id)]


async def monthly_club(uows, code: str) -> int:
    """A club sold for 100 points a month."""
    monthly = replace(draft(code), term_months=1)
    club = await uows.run(lambda uow: create_club(uow, draft=monthly, staff=MIA))
    return int(club.id)


async def join(uows, uid: str, club_id: int, key: str) -> None:
    """Join (or renew) a club as a member."""
    await uows.run(lambda uow: join_club(uow, uid=uid, club_id=club_id, idempotency_key=key))


async def test_every_automation_acts_once_with_two_runners_at_once_and_a_rerun(
    uows, clock, database
):
    # given ana, whose birthday is on 25 June, and ben, with 450 points expiring on 1 July
    # (400 is 80 % of silver's 500) and a monthly club term ending on 1 July
    ana = await new_member(uows, "ana", birth_date=date(1990, 6, 25))
    ben = await new_member(uows, "ben", marketing_consent=True)
    await give(uows, ben.id, 450, lifetime_months=1)
    await join(uows, "ben", await monthly_club(uows, "sneakers"), "join-1")
    at(clock, datetime(2026, 6, 25, 12, tzinfo=UTC))
    # when two runners run at once, then once more
    with capturing(database) as sent:
        first, second = await asyncio.gather(run(uows), run(uows))
        again = await run(uows)
    # then each occasion was acted on once between them, and nothing is left
    assert {k: first[k] + second[k] for k in first} == {
        "birthdays": 1,
        "expiry_warnings": 1,
        "tier_nudges": 1,
        "renewal_reminders": 1,
    }
    assert again == NOTHING
    assert await kinds(uows, ana.id) == ["BIRTHDAY_POINTS"]
    assert (await member_row(uows, ana.id)).balance == 200
    notes = {note.kind: note for note in await notifications_of(uows, ben.id)}
    assert sorted(notes) == ["CLUB_RENEWAL", "POINTS_EXPIRING", "TIER_NUDGE"]
    assert (
        notes["POINTS_EXPIRING"].body
        == "350 of your points expire on 2026-07-01. Use them before then."
    )
    assert notes["TIER_NUDGE"].title == "Almost Silver"
    assert (notes["TIER_NUDGE"].category, notes["CLUB_RENEWAL"].category) == (
        "marketing",
        "transactional",
    )
    assert notes["CLUB_RENEWAL"].title == "Your Sneakers membership ends soon"
    async with uows() as uow:
        assert await uow.session.scalar(select(func.count()).select_from(Occasion)) == 4
    # and every scan and step found its rows through indexes
    assert await full_scans(database, sent, HOT + GROWING) == []


async def test_birthdays_start_at_local_midnight_on_both_sides_of_utc_midnight(uows, clock):
    # given members born on 2 June in Amsterdam (UTC+2) and New York (UTC-4), Dutch and English
    born = date(1990, 6, 2)
    ams = await new_member(uows, "ams", birth_date=born, time_zone="Europe/Amsterdam", locale="nl")
    nyc = await new_member(uows, "nyc", birth_date=born, time_zone="America/New_York")
    counts = []
    # when the job runs just before and at each local midnight, and after Amsterdam's day ended
    for moment in ("06-01T21:59:59", "06-01T22:00", "06-02T03:59:59", "06-02T04:00", "06-02T22:00"):
        at(clock, datetime.fromisoformat(f"2026-{moment}+00:00"))
        counts.append((await run(uows))["birthdays"])
    # then each got one gift at their own midnight, in their language
    assert counts == [0, 1, 0, 1, 0]
    (note,) = await notifications_of(uows, ams.id)
    assert (note.title, note.push_status) == ("Gefeliciteerd met je verjaardag!", "NO_DEVICE")
    assert await kinds(uows, nyc.id) == ["BIRTHDAY_POINTS"]
    async with uows() as uow:
        refs = select(LedgerEntry.source, LedgerEntry.source_ref, LedgerEntry.amount)
        rows = (await uow.session.execute(refs)).all()
    assert sorted(rows) == [("birthday", "2026", 200)] * 2


async def test_29_february_birthdays_fall_on_28_february_off_leap_years(uows, clock):
    # given a member born on 29 February 2000
    leap = await new_member(uows, "leap", birth_date=date(2000, 2, 29))
    counts = []
    # when the job runs on 28 February and 1 March 2027, then 28 and 29 February 2028
    for day in (date(2027, 2, 28), date(2027, 3, 1), date(2028, 2, 28), date(2028, 2, 29)):
        at(clock, datetime(day.year, day.month, day.day, 12, tzinfo=UTC))
        counts.append((await run(uows))["birthdays"])
    # then the gift came on 28 February in 2027 and on the 29th in the leap year
    assert counts == [1, 0, 0, 1]
    assert await kinds(uows, leap.id) == ["BIRTHDAY_POINTS"] * 2


async def test_no_warning_for_points_spent_or_already_expired(uows, clock):
    # given eve spent one of her two lots and 10 of the other; dan's lot expired unsettled
    eve = await new_member(uows, "eve")
    await give(uows, eve.id, 100, lifetime_months=1)
    await give(uows, eve.id, 60, lifetime_months=1)
    await spend(uows, eve.id, 110)
    dan = await new_member(uows, "dan")
    await give(uows, dan.id, 30, lifetime_months=0)
    # when the job runs a day later
    clock.advance(days=1)
    report = await run(uows)
    # then eve is warned of the 50 points left, dan of nothing
    assert report["expiry_warnings"] == 1
    (note,) = await notifications_of(uows, eve.id)
    assert note.body == "50 of your points expire on 2026-07-01. Use them before then."
    assert await notifications_of(uows, dan.id) == []


async def test_the_nudge_starts_at_80_percent_once_a_month_per_tier(uows, clock):
    # given a member with 399 tier points, 1 short of 80 % of silver
    fay = await new_member(uows, "fay")
    await give(uows, fay.id, 399)
    assert (await run(uows))["tier_nudges"] == 0
    # when one more point arrives, and the job runs twice
    await give(uows, fay.id, 1)
    counts = [(await run(uows))["tier_nudges"] for _ in range(2)]
    # then one nudge, without consent to the inbox only; next month a new one
    assert counts == [1, 0]
    (note,) = await notifications_of(uows, fay.id)
    assert (note.body, note.push_status) == ("Only 100 more points to reach Silver.", "NO_CONSENT")
    at(clock, datetime(2026, 7, 1, 12, tzinfo=UTC))
    await give(uows, fay.id, 1)
    assert (await run(uows))["tier_nudges"] == 1


async def test_the_renewal_reminder_window_and_a_renewed_term(uows, clock):
    # given gus and hal in a monthly club whose terms end on 1 July at noon; hal renewed early
    club = await monthly_club(uows, "coffee")
    gus, hal = [await new_member(uows, uid) for uid in ("gus", "hal")]
    for member in (gus, hal):
        await give(uows, member.id, 300)
        await join(uows, member.uid, club, "join-1")
    await join(uows, "hal", club, "renew-1")
    ends = datetime(2026, 7, 1, 12, tzinfo=UTC)
    # when the job runs a second before the 7-day window, at its start and again
    counts = []
    for before in (timedelta(days=7, seconds=1), timedelta(days=7), timedelta(days=6)):
        at(clock, ends - before)
        counts.append((await run(uows))["renewal_reminders"])
    # then gus was reminded once, at the start of the window; hal's renewed term is not ending
    assert counts == [0, 1, 0]
    assert await kinds(uows, gus.id) == ["CLUB_RENEWAL"]
    assert await kinds(uows, hal.id) == []


async def test_a_birthday_offer_set_in_the_program_gives_a_voucher_instead_of_points(uows, clock):
    # given marketing chose a free-shipping gift offer as the birthday gift
    gift = OfferDraft(
        texts=(OfferText("en", "Free shipping"), OfferText("nl", "Gratis verzending")),
        kind=OfferKind.FREE_SHIPPING,
        points_cost=0,
        listed=False,
    )
    offer = await uows.run(lambda uow: create_offer(uow, draft=gift, staff=MIA))

    async def choose(uow: UnitOfWork) -> None:
        await uow.session.merge(ProgramSetting(key="birthday_gift_offer_id", value=offer.id))
        await uow.commit()

    await uows.run(choose)
    ivy = await new_member(uows, "ivy", birth_date=date(1990, 6, 1), locale="nl")
    # when the job runs on her birthday
    assert (await run(uows))["birthdays"] == 1
    # then she has the voucher and one Dutch birthday notification pointing at it, no points
    async with uows() as uow:
        birthday = select(Voucher).where(Voucher.origin == "birthday")  # type: ignore[arg-type]
        (voucher,) = (await uow.session.execute(birthday)).scalars()
    assert (voucher.member_id, voucher.origin, voucher.grant_key) == (
        ivy.id,
        "birthday",
        "birthday-2026",
    )
    (note,) = await notifications_of(uows, ivy.id)
    assert (note.kind, note.deep_link) == ("BIRTHDAY_VOUCHER", f"rewards://vouchers/{voucher.id}")
    assert note.body == "Gratis verzending staat in je wallet: ons cadeau voor jouw dag."
    assert (await member_row(uows, ivy.id)).balance == 0


async def test_a_member_that_cannot_be_handled_does_not_stop_the_others(uows, clock, caplog):
    # given two members born today, the first with a time zone Python does not know
    odd, ok = [await new_member(uows, uid, birth_date=date(1990, 6, 1)) for uid in ("odd", "ok")]

    async def break_zone(uow: UnitOfWork) -> None:
        (await uow.lock_member(odd.id)).time_zone = "Mars/Olympus_Mons"
        await uow.commit()

    await uows.run(break_zone)
    # when the job runs
    report = await run(uows)
    # then the other member got the gift and the fault was logged with the member
    assert report["birthdays"] == 1
    assert await kinds(uows, ok.id) == ["BIRTHDAY_POINTS"]
    assert await kinds(uows, odd.id) == []
    assert f"automation _birthday failed for member {odd.id}" in caplog.text
