"""The featured offer's rotation: each visit's pick remembered in memory at once, stored in batches.

The dashboard features the next of a member's best offers after the one featured last, so the
pick must outlive the visit. Storing it in a unit of work of its own made every dashboard a
write transaction (on SQLite, a turn at the single write lock, queued with the purchases); the
picks wait here instead and are stored together, one unit of work about once a second, and a
visit asks here before it believes what was stored. What a stop loses is at most the last
second's picks, and a member's next visit within that second to another worker process may
feature the same offer again: a rotation, not a balance.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from backend.rewards.offers.services import store_featured
from backend.rewards.uow import UnitOfWorkFactory

STORE_EVERY_SECONDS = 1.0


@dataclass(frozen=True)
class Pick:
    """The offer a member was featured, and when."""

    member_id: int
    offer_id: int
    shown_at: datetime


class FeaturedPicks:
    """The picks of this process not yet stored, and those of the last batch stored."""

    def __init__(self) -> None:
        self._new: dict[int, Pick] = {}
        # Kept for one more batch: a visit whose read began before they were committed sees them.
        self._stored: dict[int, Pick] = {}

    def last(self, member_id: int, *, stored: int | None) -> int | None:
        """The offer featured last to a member: this process's latest pick, else the stored one."""
        pick = self._new.get(member_id) or self._stored.get(member_id)
        return pick.offer_id if pick else stored

    def remember(self, pick: Pick) -> None:
        """Remember a visit's pick (the member's latest wins)."""
        self._new[pick.member_id] = pick

    async def store(self, uows: UnitOfWorkFactory) -> int:
        """Store the picks made since the last call in one unit of work; return how many."""
        self._stored, self._new = self._new, {}
        picks = list(self._stored.values())
        if picks:
            rows = [(p.member_id, p.offer_id, p.shown_at) for p in picks]
            await uows.run(lambda uow: store_featured(uow, picks=rows))
        return len(picks)
