"""The member's offer figures on the dashboard (`me`), each through a batched loader."""

from __future__ import annotations

from typing import Any

from backend.api.context import Info


async def active_voucher_count(root: Any, info: Info) -> int:
    """The member's usable vouchers (dashboard), batched by the request's loader."""
    return int(await info.context.loaders.offers.active_vouchers.load(root.id))


async def redeemable_offer_count(root: Any, info: Info) -> int:
    """Offers in the member's list they can redeem now (dashboard)."""
    listing = await info.context.loaders.offers.listing.load(root)
    return sum(1 for view in listing if view.reason is None)
