"""Automation use cases: scan a page of candidates, then act on each member in a unit of work of
its own under the member lock, writing the occasion row with the gift or notification.

Two runs at once (two workers, or a run that overlaps the next) serialise on the member lock,
and the second finds the occasion written: each automation happens at most once per member and
occasion. The program settings are read at every run, so a change applies at the next one.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Row, Select, select, update

from backend.db.tables import Occasion, Offer
from backend.rewards import idempotency
from backend.rewards.automations import scans
from backend.rewards.automations.rules import (
    OccasionKind,
    birthday_year,
    birthdays_somewhere,
    dates_somewhere,
    expiring_by_date,
    local_today,
    month_key,
    nudge_target,
)
from backend.rewards.clubs.rules import localize
from backend.rewards.errors import DomainError
from backend.rewards.ledger import Posting, Source, credit
from backend.rewards.members.rules import MAX_AGE, zone
from backend.rewards.notifications.rules import Kind
from backend.rewards.notifications.services import notify
from backend.rewards.offers.rules import VoucherOrigin
from backend.rewards.offers.services import issue_gift
from backend.rewards.program import ProgramRules
from backend.rewards.tiers.rules import first_counted_month, month_of
from backend.rewards.tiers.services import qualifying_now
from backend.rewards.uow import LockedMember, UnitOfWork, UnitOfWorkFactory

log = logging.getLogger(__name__)
BIRTHDAY_SCOPE = "birthday"
BATCH = 500


@dataclass
class AutomationReport:
    """What one run of the automations did: occasions acted on, by automation."""

    birthdays: int = 0
    expiry_warnings: int = 0
    tier_nudges: int = 0
    renewal_reminders: int = 0

    @property
    def total(self) -> int:
        """Occasions acted on in all."""
        return sum(getattr(self, field.name) for field in fields(self))


async def _first_time(uow: UnitOfWork, kind: OccasionKind, member_id: int, key: str) -> bool:
    """Write the occasion unless it was written before (the caller holds the member lock)."""
    stmt = select(scans.OCCASION.c.id).where(
        scans.OCCASION.c.kind == kind.value,
        scans.OCCASION.c.member_id == member_id,
        scans.OCCASION.c.key == key,
    )
    if (await uow.session.execute(stmt)).first() is not None:
        return False
    await uow.insert(Occasion(kind=kind.value, member_id=member_id, key=key, created_at=uow.now))
    return True


async def _active(uow: UnitOfWork, member_id: int) -> LockedMember | None:
    """Lock the member; None if the membership is no longer active."""
    member = await uow.lock_member(member_id)
    return member if member.status == scans.ACTIVE else None


# Birthday


async def _birthday(uow: UnitOfWork, member_id: int) -> int:
    """Give the member's birthday gift if it is their birthday where they live, once a year."""
    member = await _active(uow, member_id)
    if member is None or member.birth_date is None:
        return 0
    year = birthday_year(member.birth_date, zone(member.time_zone), uow.now)
    if year is None:
        return 0  # the scan looks a day around UTC: not yet (or no longer) there
    if not await _first_time(uow, OccasionKind.BIRTHDAY, member_id, str(year)):
        return 0
    await _give_birthday_gift(uow, member, year=year, program=await uow.rules())
    await uow.commit()
    return 1


async def _give_birthday_gift(
    uow: UnitOfWork, member: LockedMember, *, year: int, program: ProgramRules
) -> None:
    """The program's offer voucher if one is set and can be given, else its points."""
    offer_id = program.settings.get("birthday_gift_offer_id")
    if offer_id is not None and await uow.session.get(Offer, int(offer_id)) is not None:
        voucher = await issue_gift(
            uow,
            member_id=cast(int, member.id),
            offer_id=int(offer_id),
            origin=VoucherOrigin.BIRTHDAY,
            grant_key=f"birthday-{year}",
            kind=Kind.BIRTHDAY_VOUCHER,
        )
        if voucher is not None:
            return
    points = int(program.setting("birthday_gift_points"))
    if points <= 0:
        return  # no gift configured: the birthday passes quietly
    key, payload = idempotency.pair_key(str(member.id), str(year)), {"points": points}
    await idempotency.claim(uow, scope=BIRTHDAY_SCOPE, key=key, payload=payload)
    posting = Posting(f"Birthday gift {year}", Source.BIRTHDAY, str(year))
    await credit(uow, member=member, points=points, posting=posting)
    await notify(
        uow, member_id=cast(int, member.id), kind=Kind.BIRTHDAY_POINTS, params={"points": points}
    )


def _birthday_ready(row: Row[Any], now: datetime) -> bool:
    """Whether it is the candidate's birthday where they live (the scan looks a day around UTC):
    only then is the member locked. A zone that cannot be read goes on, for the step to report."""
    try:
        return birthday_year(row.birth_date, zone(row.time_zone), now) is not None
    except DomainError:
        return True


def _birthday_scan(now: datetime, _program: ProgramRules) -> Callable[[int, int], Select[Any]]:
    """Members whose birthday is today somewhere on Earth and not yet celebrated this year."""
    born = birthdays_somewhere(now, max_age=MAX_AGE)
    years = sorted({str(day.year) for day in dates_somewhere(now)})
    return lambda after, limit: scans.birthdays(born, years, after=after, limit=limit)


# Points expiring


def _warning_horizon(now: datetime, program: ProgramRules) -> datetime:
    """How far ahead expiries are warned of."""
    return now + timedelta(days=int(program.setting("points_expiry_warning_days")))


async def _expiry_warning(uow: UnitOfWork, member_id: int) -> int:
    """Warn of the points expiring on each coming date once; the lots looked at are marked."""
    member = await _active(uow, member_id)
    if member is None:
        return 0
    horizon = _warning_horizon(uow.now, await uow.rules())
    lots = (await uow.session.execute(scans.members_lots(member_id, uow.now, horizon))).all()
    member_zone, sent = zone(member.time_zone), 0
    for day, points in sorted(expiring_by_date(((r.expires_at, r.remaining) for r in lots), member_zone).items()):  # fmt: skip
        if await _first_time(uow, OccasionKind.POINTS_EXPIRING, member_id, day.isoformat()):
            params = {"points": points, "date": day.isoformat()}
            await notify(uow, member_id=member_id, kind=Kind.POINTS_EXPIRING, params=params)
            sent += 1
    ids = [row.id for row in lots]
    await uow.session.execute(
        update(scans.LOT).where(scans.LOT.c.id.in_(ids)).values(expiry_warned=True)
    )
    await uow.commit()
    return sent


def _expiry_scan(now: datetime, program: ProgramRules) -> Callable[[int, int], Select[Any]]:
    """Members with unwarned points expiring within the warning window."""
    horizon = _warning_horizon(now, program)
    return lambda after, limit: scans.expiring(now, horizon, after=after, limit=limit)


# Close to the next tier


async def _tier_nudge(uow: UnitOfWork, member_id: int) -> int:
    """Nudge the member towards the next tier once a month per tier, if their points are close."""
    member = await _active(uow, member_id)
    if member is None:
        return 0
    program = await uow.rules()
    counted = await qualifying_now(uow.session, member_id=member_id, now=uow.now, rules=program)
    target = nudge_target(
        program.tiers,
        current=program.tier(member.tier_code),
        qualifying=counted.points,
        percent=int(program.setting("tier_nudge_percent")),
    )
    if target is None:
        return 0
    if not await _first_time(uow, OccasionKind.TIER_NUDGE, member_id, month_key(uow.now, target.code)):  # fmt: skip
        return 0
    params = {"tier": target.name, "points": target.threshold - counted.points}
    await notify(uow, member_id=member_id, kind=Kind.TIER_NUDGE, params=params)
    await uow.commit()
    return 1


def _nudge_scan(now: datetime, program: ProgramRules) -> Callable[[int, int], Select[Any]]:
    """Members who earned this month and are close to a tier above theirs."""
    month = month_of(now)
    first = first_counted_month(now, int(program.setting("tier_window_months")))
    prefix = month_key(now, "")
    percent = int(program.setting("tier_nudge_percent"))
    return lambda after, limit: scans.near_next_tier(
        program.tiers,
        month=month,
        first=first,
        key_prefix=prefix,
        percent=percent,
        after=after,
        limit=limit,
    )


# Club renewal


def _renewal_horizon(now: datetime, program: ProgramRules) -> datetime:
    """How far ahead term ends are reminded of."""
    return now + timedelta(days=int(program.setting("club_renewal_reminder_days")))


async def _renewal_reminder(uow: UnitOfWork, member_id: int) -> int:
    """Remind the member once per term of each club term ending within the window."""
    member = await _active(uow, member_id)
    if member is None:
        return 0
    horizon = _renewal_horizon(uow.now, await uow.rules())
    terms = await uow.session.execute(scans.members_ending_terms(member_id, uow.now, horizon))
    sent = 0
    for term in terms.all():
        if await _first_time(uow, OccasionKind.CLUB_RENEWAL, member_id, str(term.id)):
            ends = local_today(term.ends_at, zone(member.time_zone))
            params = {
                "club": localize(term.name, member.locale),
                "club_id": term.club_id,
                "date": ends.isoformat(),
            }
            await notify(uow, member_id=member_id, kind=Kind.CLUB_RENEWAL, params=params)
            sent += 1
    await uow.commit()
    return sent


def _renewal_scan(now: datetime, program: ProgramRules) -> Callable[[int, int], Select[Any]]:
    """Members with a club term ending within the reminder window."""
    horizon = _renewal_horizon(now, program)
    return lambda after, limit: scans.ending(now, horizon, after=after, limit=limit)


# The run

Scan = Callable[[datetime, ProgramRules], Callable[[int, int], Select[Any]]]
Step = Callable[[UnitOfWork, int], Awaitable[int]]


def _always(_row: Row[Any], _now: datetime) -> bool:
    """Every candidate of the scan is worth a unit of work."""
    return True


@dataclass(frozen=True)
class Automation:
    """A scan of candidates, a cheap check of a candidate row, and the per-member step."""

    name: str
    scan: Scan
    step: Step
    ready: Callable[[Row[Any], datetime], bool] = _always


AUTOMATIONS = (
    Automation("birthdays", _birthday_scan, _birthday, _birthday_ready),
    Automation("expiry_warnings", _expiry_scan, _expiry_warning),
    Automation("tier_nudges", _nudge_scan, _tier_nudge),
    Automation("renewal_reminders", _renewal_scan, _renewal_reminder),
)


async def _step(uows: UnitOfWorkFactory, step: Step, member_id: int) -> int:
    """Act on one member; a fault is logged and the member tried again at the next run, so one
    bad row (e.g. a time zone Python no longer knows) does not stop the others."""
    try:
        return await uows.run(lambda uow: step(uow, member_id))
    except Exception:
        log.exception("automation %s failed for member %s", step.__name__, member_id)
        return 0


async def _drain(uows: UnitOfWorkFactory, automation: Automation, batch: int) -> int:
    """Page through one scan's candidates by member id and act on each ready one in its own
    unit of work."""
    done, after = 0, 0
    while True:
        async with uows() as uow:
            now, page = uow.now, automation.scan(uow.now, await uow.rules())
            rows = await scans.page(uow.session, page(after, batch))
        for row in rows:
            if automation.ready(row, now):
                done += await _step(uows, automation.step, int(row[0]))
        if len(rows) < batch:
            return done
        after = int(rows[-1][0])


async def run_automations(uows: UnitOfWorkFactory, *, batch: int = BATCH) -> AutomationReport:
    """Run every automation once over whatever is due now."""
    report = AutomationReport()
    for automation in AUTOMATIONS:
        setattr(report, automation.name, await _drain(uows, automation, batch))
    return report
