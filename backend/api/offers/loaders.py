"""Per-request loaders of offers and vouchers, read through the request's shared read batch."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Row
from strawberry.dataloader import DataLoader

from backend.rewards import queries
from backend.rewards.offers.facts import MemberOffers, OfferFacts
from backend.rewards.offers.personalization import Reason, ReasonCode
from backend.rewards.offers.queries import OfferView, views
from backend.rewards.offers.repository import OFFER, VOUCHER
from backend.rewards.profile.rules import StyleKind, label
from backend.rewards.program import ProgramRules

if TYPE_CHECKING:
    from backend.api.loaders import Loaders
    from backend.api.types import MemberReads

OptionKey = tuple[StyleKind, str]
KINDS = frozenset(kind.value for kind in StyleKind)


class OfferLoaders:
    """Offers and vouchers by id, each member's offer facts and ranked list, batched per request
    (every database read joins the request's shared batch), and the labels reasons name."""

    def __init__(self, loaders: Loaders) -> None:
        self._loaders = loaders
        self.offer = DataLoader(lambda ids: self._by_ids(OFFER, ids))
        self.voucher = DataLoader(lambda ids: self._by_ids(VOUCHER, ids))
        # Keyed by member objects (id, tier and cached balances), cached by id: ranked once.
        self.listing = DataLoader(self._listings, cache_key_fn=lambda member: member.id)
        self._ranked: dict[int, list[OfferView]] = {}  # listings ranked from answers read ahead

    async def default_language(self) -> str:
        """The language offers fall back to (a program setting)."""
        return str((await self._loaders.rules()).setting("default_language"))

    async def ladder(self) -> list[str]:
        """Tier codes, lowest first."""
        return [tier.code for tier in (await self._loaders.rules()).tiers]

    async def _by_ids(self, table: Any, ids: Sequence[int]) -> list[Row[Any] | None]:
        """Rows of a table by id, as one read of the shared batch."""
        return await self._loaders.read(queries.ByIds(table, tuple(ids)))

    async def facts(self, member: Any, offer_id: int | None = None) -> OfferFacts:
        """The member's offer facts with the open offers (or one offer): one read of the batch."""
        now = self._loaders.now
        return await self._loaders.read(MemberOffers(member.id, member.tier_code, now, offer_id))

    def ranked(
        self, member: Any, reads: MemberReads | None
    ) -> list[OfferView] | Awaitable[list[OfferView]]:
        """The member's listing (`listing`), at once when `me` read its facts and balance ahead
        (`reads`, its `MemberReads`): no loader round, task or gather. Ranked once a request."""
        if member.id in self._ranked:
            return self._ranked[member.id]
        if reads is not None:
            found = self._loaders.answered((reads.offers(member), reads.points(member)))
            if found is not None:
                read, points = found
                ranked = self._ranked[member.id] = self._rank(read, points, reads.rules, None)
                return ranked
        return self.listing.load(member)

    async def _views(self, member: Any, offer_id: int | None) -> list[OfferView]:
        """The offers (open ones, or the one asked for) as the member sees them, ranked.

        The balance is read as the `points` field reads it (the warning window changes only
        what expires soon), so on the dashboard one read serves both.
        """
        rules, now = await self._loaders.rules(), self._loaders.now
        days = int(rules.setting("expiry_warning_days"))
        read, points = await asyncio.gather(
            self.facts(member, offer_id),
            self._loaders.read(queries.PointsAsOf.of(member, now=now, warning_days=days)),
        )
        return self._rank(read, points, rules, offer_id)

    def _rank(
        self, read: OfferFacts, points: Any, rules: ProgramRules, offer_id: int | None
    ) -> list[OfferView]:
        """The offers of the member's facts as they see them, best-ranked first."""
        ladder = [tier.code for tier in rules.tiers]
        now = self._loaders.now
        return views(read, balance=points.balance, now=now, ladder=ladder, listing=offer_id is None)

    async def _listings(self, members: Sequence[Any]) -> list[list[OfferView]]:
        """The open offers each member sees, best-ranked first, with why each cannot be redeemed."""
        return list(await asyncio.gather(*(self._views(member, None) for member in members)))

    async def view(self, member: Any, offer_id: int) -> OfferView | None:
        """One offer as a member sees it (open or not), or None when it is not theirs to see."""
        found = await self._views(member, offer_id)
        return found[0] if found else None

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
        labels = (await self._loaders.option_labels()).get((StyleKind(kind), code))
        # Option labels are capitalised for lists; inside a sentence they read in lower case.
        return label(labels, locale, code).lower() if labels is not None else code
