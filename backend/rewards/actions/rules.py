"""Pure rules of member-claimed actions: what each kind needs and what it earns."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime


class ActionKind(enum.StrEnum):
    """An action a member reports from the app."""

    PRODUCT_VIEWED = "product_viewed"


@dataclass(frozen=True)
class ActionRule:
    """What a kind of action needs and earns."""

    points: int
    needs_category: bool


# Product views earn nothing: they feed personalized offers (SPEC 2.3). Point-earning kinds
# join this table with their points and caps.
RULES: dict[ActionKind, ActionRule] = {
    ActionKind.PRODUCT_VIEWED: ActionRule(points=0, needs_category=True),
}


@dataclass(frozen=True)
class ActionClaim:
    """An action as the member reports it."""

    action: ActionKind
    category: str | None = None
    sku: str | None = None
    idempotency_key: str | None = None


@dataclass(frozen=True)
class ClaimedAction:
    """What a claim did: the points it earned and, for a view, the views of that category so far."""

    action: ActionKind
    category: str | None
    sku: str | None
    points_awarded: int
    views: int
    claimed_at: datetime

    def as_json(self) -> dict[str, object]:
        """The answer stored with the claim's idempotency key."""
        return {
            "points_awarded": self.points_awarded,
            "views": self.views,
            "claimed_at": self.claimed_at.isoformat(),
        }
