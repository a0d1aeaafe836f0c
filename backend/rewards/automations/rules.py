"""Pure automation decisions: whose birthday it is, which tier to nudge towards, what is due."""

from __future__ import annotations

import calendar
import enum
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from backend.rewards.program import TierRule

# Every inhabited offset lies between UTC-12 and UTC+14: the local dates somewhere on Earth now.
EARLIEST_OFFSET, LATEST_OFFSET = timedelta(hours=-12), timedelta(hours=14)


class OccasionKind(enum.StrEnum):
    """What an occasion row stands for; its key says which one."""

    BIRTHDAY = "BIRTHDAY"  # key: the year, e.g. `2026`
    POINTS_EXPIRING = "POINTS_EXPIRING"  # key: the expiry date in the member's zone
    TIER_NUDGE = "TIER_NUDGE"  # key: `2026-11:gold`, the month and the target tier
    CLUB_RENEWAL = "CLUB_RENEWAL"  # key: the club membership term's id


def celebrated_on(birth_date: date, year: int) -> date:
    """The day a birthday is celebrated in `year`: 29 February falls on 28 February off leap years."""
    if (birth_date.month, birth_date.day) == (2, 29) and not calendar.isleap(year):
        return date(year, 2, 28)
    return date(year, birth_date.month, birth_date.day)


def local_today(now: datetime, zone: ZoneInfo) -> date:
    """The calendar date in a time zone at a moment."""
    return now.astimezone(zone).date()


def birthday_year(birth_date: date, zone: ZoneInfo, now: datetime) -> int | None:
    """The year whose birthday it is where the member lives at `now`, else None."""
    today = local_today(now, zone)
    return today.year if today == celebrated_on(birth_date, today.year) else None


def dates_somewhere(now: datetime) -> list[date]:
    """Every calendar date some time zone is on at `now` (two or three)."""
    utc = now.astimezone(UTC)
    first, last = (utc + EARLIEST_OFFSET).date(), (utc + LATEST_OFFSET).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def birth_dates_celebrated_on(day: date, *, max_age: int) -> list[date]:
    """Every birth date (of members up to `max_age` years old) whose birthday falls on `day`."""
    leap_day_moved = (day.month, day.day) == (2, 28) and not calendar.isleap(day.year)
    found = []
    for year in range(day.year - max_age - 1, day.year + 1):
        if calendar.isleap(year) or (day.month, day.day) != (2, 29):
            found.append(date(year, day.month, day.day))
        if leap_day_moved and calendar.isleap(year):
            found.append(date(year, 2, 29))
    return found


def birthdays_somewhere(now: datetime, *, max_age: int) -> list[date]:
    """The birth dates celebrated somewhere on Earth at `now`: what the birthday scan looks up."""
    return sorted(
        {
            born
            for day in dates_somewhere(now)
            for born in birth_dates_celebrated_on(day, max_age=max_age)
        }
    )


def nudge_target(
    ladder: Iterable[TierRule], *, current: TierRule, qualifying: int, percent: int
) -> TierRule | None:
    """The next tier, if the points are at least `percent` % of its threshold and it is above
    the member's tier (kept in grace, a member may hold a tier above their points)."""
    above = [tier for tier in ladder if tier.threshold > qualifying]
    target = min(above, key=lambda tier: tier.threshold, default=None)
    if target is None or target.position <= current.position:
        return None
    return target if qualifying * 100 >= target.threshold * percent else None


def month_key(now: datetime, tier_code: str) -> str:
    """The tier nudge's occasion: once per member, target tier and UTC calendar month."""
    utc = now.astimezone(UTC)
    return f"{utc.year:04d}-{utc.month:02d}:{tier_code}"


def expiring_by_date(lots: Iterable[tuple[datetime, int]], zone: ZoneInfo) -> dict[date, int]:
    """Points expiring per local date of expiry, from (expires_at, points left) pairs."""
    days: dict[date, int] = {}
    for expires_at, points in lots:
        day = local_today(expires_at, zone)
        days[day] = days.get(day, 0) + points
    return days
