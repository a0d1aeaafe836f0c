"""What offer decisions know about members, read in a fixed number of statements for many members.

The one place member facts are gathered: clubs, the StyleID profile and viewed categories add
their parts here, and every decision (lists, counts, redemption) sees them at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from backend.rewards.offers.repository import Db, categories_bought
from backend.rewards.offers.rules import MemberFacts


async def facts_of(db: Db, members: Sequence[Any]) -> list[MemberFacts]:
    """The facts of each member (rows or objects with `id` and `tier_code`), in the order given."""
    bought = await categories_bought(db, [m.id for m in members])
    return [MemberFacts(tier_code=m.tier_code, categories_bought=bought[m.id]) for m in members]
