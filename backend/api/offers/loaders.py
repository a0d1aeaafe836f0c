"""Per-request loaders of offers and vouchers, read through the request's shared read batch."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from datetime import datetime
from functools import cached_property, partial
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
    from backend.api.clubs.loaders import ClubLoaders
    from backend.api.loaders import RequestReads
    from backend.api.types import MemberReads
    from backend.rewards.profile.queries import OptionLabelMap
    from backend.rewards.program import RulesCache
    from backend.rewards.shared import SharedValue

OptionKey = tuple[StyleKind, str]
KINDS = frozenset(kind.value for kind in StyleKind)


class OfferLoaders:
    """Offers and vouchers by id, each member's offer facts and ranked list, batched per request
    (every database read joins the request's shared batch), and the labels reasons name.

    Like every loader of the request it holds what it reads through, not the request's `Loaders`
    (which keeps it), and its loaders load through module functions, not through `self`: none of
    them is in a reference cycle.
    """

    def __init__(
        self,
        reads: RequestReads,
        rules: RulesCache,
        labels: SharedValue[OptionLabelMap],
        now: datetime,
        clubs: ClubLoaders,
    ) -> None:
        self._reads = reads
        self._rules = rules
        self._labels = labels
        self._clubs = clubs
        self.now = now
        self._ranked: dict[int, list[OfferView]] = {}  # listings ranked from answers read ahead

    # Each loader is made on first use: the dashboard ranks from answers read ahead, and needs none.
    @cached_property
    def offer(self) -> DataLoader[int, Row[Any] | None]:
        """Offers by id."""
        return DataLoader(partial(_by_ids, self._reads, OFFER))

    @cached_property
    def voucher(self) -> DataLoader[int, Row[Any] | None]:
        """Vouchers by id."""
        return DataLoader(partial(_by_ids, self._reads, VOUCHER))

    @cached_property
    def listing(self) -> DataLoader[Any, list[OfferView]]:
        """Each member's open offers, ranked. Keyed by member objects (id, tier and cached
        balances), cached by id: ranked once."""
        return DataLoader(
            partial(_listings, self._reads, self._rules, self.now), cache_key_fn=_member_id
        )

    async def default_language(self) -> str:
        """The language offers fall back to (a program setting)."""
        return str((await self._rules.get()).setting("default_language"))

    async def ladder(self) -> list[str]:
        """Tier codes, lowest first."""
        return [tier.code for tier in (await self._rules.get()).tiers]

    async def facts(self, member: Any, offer_id: int | None = None) -> OfferFacts:
        """The member's offer facts with the open offers (or one offer): one read of the batch."""
        return await _facts(self._reads, self.now, member, offer_id)

    def ranked(
        self, member: Any, reads: MemberReads | None
    ) -> list[OfferView] | Awaitable[list[OfferView]]:
        """The member's listing (`listing`), at once when `me` read its facts and balance ahead
        (`reads`, its `MemberReads`): no loader round, task or gather. Ranked once a request."""
        if member.id in self._ranked:
            return self._ranked[member.id]
        if reads is not None:
            found = self._reads.answered((reads.offers(member), reads.points(member)))
            if found is not None:
                read, points = found
                ranked = _rank(read, points, reads.rules, self.now, None)
                self._ranked[member.id] = ranked
                return ranked
        return self.listing.load(member)

    async def view(self, member: Any, offer_id: int) -> OfferView | None:
        """One offer as a member sees it (open or not), or None when it is not theirs to see."""
        found = await _views(self._reads, self._rules, self.now, member, offer_id)
        return found[0] if found else None

    async def reason_label(self, reason: Reason, locale: str) -> str:
        """What a reason is about, named in the reader's language (the code where none is known)."""
        subject = reason.subject
        if subject is None:
            return ""
        if reason.code == ReasonCode.TIER:
            return (await self._rules.get()).tier(subject).name
        if reason.code == ReasonCode.EARLY_ACCESS:
            club = await self._clubs.club.load(int(subject))
            return label(club.name, locale, subject) if club is not None else subject
        kind, code = StyleKind.CATEGORY.value, subject
        if reason.code == ReasonCode.STYLE_MATCH:
            kind, _, code = subject.partition(":")
        if kind not in KINDS:
            return subject
        labels = (await self._labels.get()).get((StyleKind(kind), code))
        # Option labels are capitalised for lists; inside a sentence they read in lower case.
        return label(labels, locale, code).lower() if labels is not None else code


def _member_id(member: Any) -> int:
    """What the listing loader caches a member's listing by."""
    member_id: int = member.id
    return member_id


async def _by_ids(reads: RequestReads, table: Any, ids: Sequence[int]) -> list[Row[Any] | None]:
    """Rows of a table by id, as one read of the shared batch."""
    return await reads.read(queries.ByIds(table, tuple(ids)))


async def _facts(
    reads: RequestReads, now: datetime, member: Any, offer_id: int | None
) -> OfferFacts:
    """The member's offer facts with the open offers (or one offer): one read of the batch."""
    return await reads.read(MemberOffers(member.id, member.tier_code, now, offer_id))


async def _listings(
    reads: RequestReads, rules: RulesCache, now: datetime, members: Sequence[Any]
) -> list[list[OfferView]]:
    """The open offers each member sees, best-ranked first, with why each cannot be redeemed."""
    listed = (_views(reads, rules, now, member, None) for member in members)
    return list(await asyncio.gather(*listed))


async def _views(
    reads: RequestReads, rules_cache: RulesCache, now: datetime, member: Any, offer_id: int | None
) -> list[OfferView]:
    """The offers (open ones, or the one asked for) as the member sees them, ranked.

    The balance is read as the `points` field reads it (the warning window changes only
    what expires soon), so on the dashboard one read serves both.
    """
    rules = await rules_cache.get()
    days = int(rules.setting("expiry_warning_days"))
    read, points = await asyncio.gather(
        _facts(reads, now, member, offer_id),
        reads.read(queries.PointsAsOf.of(member, now=now, warning_days=days)),
    )
    return _rank(read, points, rules, now, offer_id)


def _rank(
    read: OfferFacts, points: Any, rules: ProgramRules, now: datetime, offer_id: int | None
) -> list[OfferView]:
    """The offers of the member's facts as they see them, best-ranked first."""
    ladder = [tier.code for tier in rules.tiers]
    return views(read, balance=points.balance, now=now, ladder=ladder, listing=offer_id is None)
