"""GraphQL types of referrals, and the `me.referrals` resolver (a read of the `me` batch)."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import strawberry

from backend.api.context import Info
from backend.rewards.referrals.queries import ReferralCounts


@strawberry.type(
    description="Your referral code and what came of it. A friend who enrols with the code and "
    "keeps their first purchase through its return window earns you both a bonus (500 and 250 "
    "points by default), up to 20 rewarded referrals in 12 months."
)
class Referrals:
    code: str = strawberry.field(description="The code a friend enters when enrolling.")
    share_link: str = strawberry.field(description="A link to share that carries the code.")
    invited: int = strawberry.field(description="Friends who enrolled with your code.")
    joined: int = strawberry.field(
        description="Of them, friends who made a purchase (rewarded once its return window ends)."
    )
    rewarded: int = strawberry.field(
        description="Referrals that earned the bonuses (a refunded qualifying purchase takes "
        "them back and leaves this count)."
    )


async def member_referrals(root: Any, info: Info) -> Referrals:
    """The member's referral counts (`me` reads them ahead with the member)."""
    invited, joined, rewarded = await info.context.loaders.read(ReferralCounts(root.id))
    base = info.context.services.referral_link_base
    return Referrals(
        code=root.referral_code,
        share_link=base + quote(root.referral_code),
        invited=invited,
        joined=joined,
        rewarded=rewarded,
    )
