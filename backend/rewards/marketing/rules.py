"""Pure surprise rules: reward kinds, the holdout draw, send times and what the member is told."""

from __future__ import annotations

import enum
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

from backend.rewards.errors import DomainError

MAX_HOLDOUT_PERCENT = 50
MAX_SURPRISE_POINTS = 100_000
SEND_AT_GRACE = timedelta(minutes=5)  # a "now" computed on a client a little behind is still now
MAX_SCHEDULE = timedelta(days=365)
HOLDOUT_SCALE = 10_000  # the draw's resolution: a hundredth of a percent


class RewardKind(enum.StrEnum):
    """What a surprise gives: points through the ledger, a voucher of a gift offer, extra spins.

    Extra spins are a voucher of an offer of kind EXTRA_SPIN, which banks a wheel spin at once.
    """

    POINTS = "POINTS"
    OFFER = "OFFER"
    EXTRA_SPINS = "EXTRA_SPINS"


class CampaignStatus(enum.StrEnum):
    """Where a campaign stands: waiting for its time, being sent, or done."""

    SCHEDULED = "SCHEDULED"
    SENDING = "SENDING"
    DONE = "DONE"


class Outcome(enum.StrEnum):
    """What a campaign did for one member."""

    REWARDED = "REWARDED"
    HELD_OUT = "HELD_OUT"
    UNAVAILABLE = "UNAVAILABLE"  # the offer closed or ran out of stock before this member


@dataclass(frozen=True)
class Reward:
    """A surprise's reward: points, or the offer whose voucher members get."""

    kind: RewardKind
    points: int | None = None
    offer_id: int | None = None

    def as_json(self) -> dict[str, object]:
        """The canonical form, for the idempotency fingerprint."""
        return {"kind": self.kind.value, "points": self.points, "offer_id": self.offer_id}


def check_reward(reward: Reward) -> Reward:
    """Points need `points` (1 to MAX_SURPRISE_POINTS) and no offer; the others an offer only."""
    if reward.kind is RewardKind.POINTS:
        if reward.offer_id is not None or reward.points is None:
            raise DomainError(
                "INVALID_REWARD", "A points reward names `points` and no offer.", field="reward"
            )
        if not 0 < reward.points <= MAX_SURPRISE_POINTS:
            raise DomainError(
                "INVALID_POINTS",
                f"A surprise gives 1 to {MAX_SURPRISE_POINTS} points.",
                field="reward.points",
            )
    elif reward.offer_id is None or reward.points is not None:
        raise DomainError(
            "INVALID_REWARD",
            f"A reward of kind {reward.kind.value} names `offerId` and no points.",
            field="reward",
        )
    return reward


def check_holdout(percent: int) -> int:
    """A holdout share from 0 to MAX_HOLDOUT_PERCENT percent."""
    if not 0 <= percent <= MAX_HOLDOUT_PERCENT:
        raise DomainError(
            "INVALID_HOLDOUT",
            f"The holdout is 0 to {MAX_HOLDOUT_PERCENT} percent of the segment.",
            field="holdoutPercent",
        )
    return percent


def check_send_at(send_at: datetime | None, now: datetime) -> datetime:
    """When to send: now when not given; not in the past, at most a year ahead."""
    if send_at is None:
        return now
    if send_at.utcoffset() is None:
        raise DomainError("INVALID_SEND_AT", "`sendAt` needs a time zone offset.", field="sendAt")
    if send_at < now - SEND_AT_GRACE:
        raise DomainError("SEND_AT_IN_PAST", "`sendAt` lies in the past.", field="sendAt")
    if send_at > now + MAX_SCHEDULE:
        raise DomainError("INVALID_SEND_AT", "`sendAt` is at most a year from now.", field="sendAt")
    return max(send_at, now)


def held_out(seed: str, member_id: int, percent: int) -> bool:
    """Whether a member is in a campaign's holdout: a keyed hash of the member below the share.

    Reproducible from the campaign's seed (anyone with it can recompute who was held out), not
    guessable without it, and independent of the order or batch in which members are processed.
    """
    if percent <= 0:
        return False
    digest = hmac.new(seed.encode(), str(member_id).encode(), hashlib.sha256).digest()
    draw = int.from_bytes(digest[:8], "big") % HOLDOUT_SCALE
    return draw < percent * HOLDOUT_SCALE // 100


POINTS_WORDS = {"en": "{n} points", "nl": "{n} punten", "uk": "{n} балів", "ar": "{n} نقطة"}


def points_reward(points: int) -> dict[str, str]:
    """What a points surprise gave, by language, for the inbox and the push."""
    return {language: text.format(n=points) for language, text in POINTS_WORDS.items()}
