"""Pure rules of actions that are not purchases: who may report each, what it earns, its caps."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from backend.rewards.errors import DomainError


class ActionKind(enum.StrEnum):
    """An action that is not a purchase."""

    PROFILE_COMPLETED = "profile_completed"
    STYLE_ID_COMPLETED = "style_id_completed"
    REVIEW_WRITTEN = "review_written"
    SURVEY_COMPLETED = "survey_completed"
    SOCIAL_SHARE = "social_share"
    APP_OPENED = "app_opened"
    PRODUCT_VIEWED = "product_viewed"
    RECYCLING_RETURN = "recycling_return"
    FITNESS_STEPS = "fitness_steps"


class Reporter(enum.StrEnum):
    """Who may report an action: the member (`claimAction`) or only an integration."""

    MEMBER = "member"
    INTEGRATION = "integration"


LIFETIME = "lifetime"  # the tally period of all of a member's points from one action
MAX_QUANTITY = 1_000_000  # steps in one report; more is not a human's day
MAX_POINTS = 100_000  # what one award of any action may be worth
MAX_CAP = 1_000_000_000
MAX_STREAK_DAYS = 366


@dataclass(frozen=True)
class EarningRule:
    """What an action earns: `points` per `unit` of quantity, caps in points, who reports it."""

    action: ActionKind
    points: int
    unit: int = 1
    daily_cap: int | None = None
    lifetime_cap: int | None = None
    reporter: Reporter = Reporter.MEMBER
    streak_days: int | None = None
    streak_bonus: int = 0


@dataclass(frozen=True)
class Tally:
    """Points a member already earned from an action today and ever, and the streaks."""

    today: int = 0
    lifetime: int = 0
    yesterday_streak: int = 0
    today_streak: int = 0  # 0: not reported yet today


@dataclass(frozen=True)
class Award:
    """What one report earns: the capped points, the streak it makes and the streak bonus."""

    points: int
    streak: int
    bonus: int


def period(day: date) -> str:
    """The tally period of a local day."""
    return day.isoformat()


def previous(day: date) -> date:
    """The day before."""
    return day - timedelta(days=1)


def check_reporter(rule: EarningRule, reporter: Reporter) -> None:
    """Refuse a member reporting an action only an integration may verify."""
    if rule.reporter == Reporter.INTEGRATION and reporter == Reporter.MEMBER:
        raise DomainError(
            "INTEGRATION_ONLY",
            "Only a verified integration can report this action.",
            field="action",
        )


def check_quantity(quantity: int) -> None:
    """Refuse a quantity outside 1 to 1,000,000."""
    if not 1 <= quantity <= MAX_QUANTITY:
        raise DomainError(
            "INVALID_QUANTITY", f"The quantity must be 1 to {MAX_QUANTITY:,}.", field="quantity"
        )


def award(rule: EarningRule, *, quantity: int, tally: Tally) -> Award:
    """The points a report earns within the caps, or a typed refusal when a cap is reached.

    A report earns `points` for every whole `unit` (1 point per 1,000 steps: 2,500 steps earn 2);
    what a cap leaves is awarded in part, and nothing left is refused so nothing is written.
    """
    units = quantity // rule.unit
    if units == 0:
        raise DomainError(
            "QUANTITY_TOO_SMALL",
            f"At least {rule.unit} are needed to earn points.",
            field="quantity",
        )
    points = rule.points * units
    if rule.points > 0:
        points = _capped(points, rule.daily_cap, tally.today, "DAILY_CAP_REACHED", "today")
        points = _capped(points, rule.lifetime_cap, tally.lifetime, "LIFETIME_CAP_REACHED", "")
    if tally.today_streak:  # a second report today neither lengthens the streak nor pays it
        return Award(points=points, streak=tally.today_streak, bonus=0)
    streak = tally.yesterday_streak + 1
    days = rule.streak_days
    bonus = rule.streak_bonus if days and streak % days == 0 else 0
    return Award(points=points, streak=streak, bonus=bonus)


def _capped(points: int, cap: int | None, earned: int, code: str, when: str) -> int:
    """Points left under a cap; none left is refused."""
    if cap is None:
        return points
    left = cap - earned
    if left <= 0:
        text = f"The most this action earns {when}".strip()
        raise DomainError(code, f"{text} ({cap} points) was already earned.", field="action")
    return min(points, left)


def check_rule(rule: EarningRule, *, member_maximum: int) -> EarningRule:
    """Refuse a rule staff configure that is out of range, or worth too much for members to claim."""
    if not 0 <= rule.points <= MAX_POINTS:
        raise DomainError("INVALID_POINTS", f"Points must be 0 to {MAX_POINTS:,}.", field="points")
    if rule.action == ActionKind.PRODUCT_VIEWED and rule.points != 0:
        raise DomainError(
            "INVALID_POINTS", "Product views earn no points; they rank offers.", field="points"
        )
    if not 1 <= rule.unit <= MAX_QUANTITY:
        raise DomainError("INVALID_UNIT", f"The unit must be 1 to {MAX_QUANTITY:,}.", field="unit")
    for name, cap in (("dailyCap", rule.daily_cap), ("lifetimeCap", rule.lifetime_cap)):
        if cap is not None and not 1 <= cap <= MAX_CAP:
            raise DomainError("INVALID_CAP", f"A cap must be 1 to {MAX_CAP:,} points.", field=name)
    _check_streak(rule)
    worth = max(rule.points, rule.streak_bonus)
    if rule.reporter == Reporter.MEMBER and worth > member_maximum:
        raise DomainError(
            "TOO_VALUABLE_FOR_MEMBERS",
            f"Actions members report may earn at most {member_maximum} points at once; "
            "let an integration verify this one.",
            field="reporter",
        )
    return rule


def _check_streak(rule: EarningRule) -> None:
    """A streak bonus needs a streak length, and the other way round."""
    days = rule.streak_days
    if days is not None and not 2 <= days <= MAX_STREAK_DAYS:
        raise DomainError(
            "INVALID_STREAK", f"A streak is 2 to {MAX_STREAK_DAYS} days.", field="streakDays"
        )
    if not 0 <= rule.streak_bonus <= MAX_POINTS or (rule.streak_bonus > 0) != (days is not None):
        raise DomainError(
            "INVALID_STREAK",
            f"Give a streak length with a bonus of 1 to {MAX_POINTS:,} points, or neither.",
            field="streakBonus",
        )


# What a claim of each kind needs besides the action (a product view names its category).
NEEDS_CATEGORY = frozenset({ActionKind.PRODUCT_VIEWED})


@dataclass(frozen=True)
class ActionClaim:
    """An action as the member reports it."""

    action: ActionKind
    category: str | None = None
    sku: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class ClaimedAction:
    """What a claim did: the points it earned (and a streak's bonus), and for a view the views
    of that category so far."""

    action: ActionKind
    category: str | None
    sku: str | None
    points_awarded: int
    views: int
    claimed_at: datetime
    streak: int = 0
    bonus_points: int = 0

    def as_json(self) -> dict[str, object]:
        """The answer stored with the claim's idempotency key."""
        return {
            "points_awarded": self.points_awarded,
            "views": self.views,
            "claimed_at": self.claimed_at.isoformat(),
            "streak": self.streak,
            "bonus_points": self.bonus_points,
        }
