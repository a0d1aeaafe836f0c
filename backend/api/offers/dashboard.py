"""The member's offer figures on the dashboard (`me`), all from one read of the shared batch."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Annotated, Any

import strawberry

from backend.api.context import Info
from backend.rewards.offers.featured import Pick
from backend.rewards.offers.personalization import featured
from backend.rewards.offers.queries import OfferView

if TYPE_CHECKING:
    from backend.api.offers.types import Offer


def active_voucher_count(root: Any, info: Info) -> int:
    """The member's usable vouchers (dashboard), from the member's offer facts."""
    return root.answer(
        info, lambda reads: reads.offers(root), lambda facts, _: facts.active_vouchers
    )  # type: ignore[no-any-return]


def redeemable_offer_count(root: Any, info: Info) -> int:
    """Offers in the member's list they can redeem now (dashboard); at once under `me`."""
    listing = info.context.loaders.offers.ranked(root, root.reads)
    if isinstance(listing, list):
        return _redeemable(listing)
    return _later(listing)  # type: ignore[return-value]


def _redeemable(listing: list[OfferView]) -> int:
    """How many offers of a listing the member can redeem now."""
    return sum(1 for view in listing if view.reason is None)


async def _later(listing: Awaitable[list[OfferView]]) -> int:
    """`_redeemable` of a listing still to come."""
    return _redeemable(await listing)


async def featured_offer(
    root: Any, info: Info
) -> Annotated[Offer, strawberry.lazy("backend.api.offers.types")] | None:
    """The offer to feature on this visit: another than the last visit's while there is another.

    Chosen from the member's redeemable offers, best-ranked first; the choice is remembered in
    this process at once and stored with other visits' picks (`featured.FeaturedPicks`).
    """
    from backend.api.offers.types import Offer  # the Member type imports this module

    loaders = info.context.loaders.offers
    ranked = loaders.ranked(root, root.reads)
    listing = ranked if isinstance(ranked, list) else await ranked
    picks = info.context.services.featured
    last = picks.last(root.id, stored=(await loaders.facts(root)).last_featured)
    chosen = featured([view.row.id for view in listing if view.reason is None], last=last)
    if chosen is None:
        return None
    if chosen != last:
        picks.remember(Pick(root.id, chosen, info.context.loaders.now))
    view = next(view for view in listing if view.row.id == chosen)
    language = await loaders.default_language()
    return Offer.of(view.row, locale=root.locale, default_language=language, view=view)
