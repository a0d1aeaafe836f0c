"""Per-request loaders of offers and vouchers; each batch borrows a read connection briefly."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row
from strawberry.dataloader import DataLoader

from backend.rewards import queries
from backend.rewards.offers.personalization import Reason, ReasonCode
from backend.rewards.offers.queries import OfferView, views
from backend.rewards.offers.repository import (
    OFFER,
    VOUCHER,
    active_voucher_counts,
    last_featured,
    open_offers,
)
from backend.rewards.profile.queries import option_labels
from backend.rewards.profile.rules import StyleKind, label

if TYPE_CHECKING:
    from backend.api.loaders import Loaders

OptionKey = tuple[StyleKind, str]
KINDS = frozenset(kind.value for kind in StyleKind)


class OfferLoaders:
    """Offers and vouchers by id, each member's ranked offer list, active voucher count and last
    featured offer, and option labels for reasons, batched per request."""

    def __init__(self, loaders: Loaders) -> None:
        self._loaders = loaders
        self.offer = DataLoader(self._offers)
        self.voucher = DataLoader(self._vouchers)
        # Keyed by member objects (id, tier and cached balances), cached by id.
        self.listing = DataLoader(self._listings, cache_key_fn=lambda member: member.id)
        self.active_vouchers = DataLoader(self._active_vouchers)
        self.last_featured = DataLoader(self._last_featured)
        self.option_labels = DataLoader(self._option_labels)

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

    async def _vouchers(self, ids: Sequence[int]) -> list[Row[Any] | None]:
        """Voucher rows by id."""
        async with self._loaders.connection() as conn:
            return await queries.by_ids(conn, VOUCHER, ids)

    async def _listings(self, members: Sequence[Any]) -> list[list[OfferView]]:
        """The open offers each member sees, best-ranked first, with why each cannot be redeemed."""
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

    async def _last_featured(self, member_ids: Sequence[int]) -> list[int | None]:
        """The offer each member was featured last, None if never."""
        async with self._loaders.connection() as conn:
            found = await last_featured(conn, member_ids)
        return [found.get(member_id) for member_id in member_ids]

    async def _option_labels(self, keys: Sequence[OptionKey]) -> list[dict[str, str] | None]:
        """StyleID option labels by (kind, code), None for codes that are no option."""
        async with self._loaders.connection() as conn:
            found = await option_labels(conn, keys)
        return [found.get(key) for key in keys]

    async def reason_label(self, reason: Reason, locale: str) -> str:
        """What a reason is about, named in the reader's language (the code where none is known)."""
        subject = reason.subject
        if subject is None:
            return ""
        if reason.code == ReasonCode.TIER:
            return (await self._loaders.rules()).tier(subject).name
        if reason.code == ReasonCode.EARLY_ACCESS:
            club = await self._loaders.clubs.club.load(int(subject))
            return label(club.name, locale, subject) if club is not None else subject
        kind, code = StyleKind.CATEGORY.value, subject
        if reason.code == ReasonCode.STYLE_MATCH:
            kind, _, code = subject.partition(":")
        if kind not in KINDS:
            return subject
        labels = await self.option_labels.load((StyleKind(kind), code))
        # Option labels are capitalised for lists; inside a sentence they read in lower case.
        return label(labels, locale, code).lower() if labels is not None else code
