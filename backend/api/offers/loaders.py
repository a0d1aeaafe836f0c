"""Per-request loaders of offers and vouchers; each batch borrows a read connection briefly."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row
from strawberry.dataloader import DataLoader

from backend.rewards import queries
from backend.rewards.offers.queries import OfferView, views
from backend.rewards.offers.repository import OFFER, active_voucher_counts, open_offers

if TYPE_CHECKING:
    from backend.api.loaders import Loaders


class OfferLoaders:
    """Offers by id, each member's offer list and active voucher count, batched per request."""

    def __init__(self, loaders: Loaders) -> None:
        self._loaders = loaders
        self.offer = DataLoader(self._offers)
        # Keyed by member objects (id, tier and cached balances), cached by id.
        self.listing = DataLoader(self._listings, cache_key_fn=lambda member: member.id)
        self.active_vouchers = DataLoader(self._active_vouchers)

    async def default_language(self) -> str:
        """The language offers fall back to (a program setting)."""
        return str((await self._loaders.rules()).setting("default_language"))

    async def ladder(self) -> list[str]:
        """Tier codes, lowest first."""
        return [tier.code for tier in (await self._loaders.rules()).tiers]

    async def _offers(self, ids: Sequence[int]) -> list[Row[Any] | None]:
        """Offer rows by id."""
        async with self._loaders.connection() as conn:
            return await queries.by_ids(conn, OFFER, ids)

    async def _listings(self, members: Sequence[Any]) -> list[list[OfferView]]:
        """The open offers each member sees, newest first, with why each cannot be redeemed."""
        ladder, now = await self.ladder(), self._loaders.now
        async with self._loaders.connection() as conn:
            offers = await open_offers(conn, now=now)
            return [
                await views(conn, member, offers, now=now, ladder=ladder, listing=True)
                for member in members
            ]

    async def view(self, member: Any, offer_id: int) -> OfferView | None:
        """One offer as a member sees it (open or not), or None when it is not theirs to see."""
        ladder = await self.ladder()
        row = await self.offer.load(offer_id)
        if row is None:
            return None
        async with self._loaders.connection() as conn:
            found = await views(
                conn, member, [row], now=self._loaders.now, ladder=ladder, listing=False
            )
        return found[0] if found else None

    async def _active_vouchers(self, member_ids: Sequence[int]) -> list[int]:
        """Unused, unexpired vouchers per member."""
        async with self._loaders.connection() as conn:
            counts = await active_voucher_counts(conn, member_ids, now=self._loaders.now)
        return [counts.get(member_id, 0) for member_id in member_ids]
