"""Offer and voucher queries: thin resolvers over the per-request loaders."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from strawberry import relay

from backend.api.context import Info
from backend.api.offers.types import (
    Offer,
    Voucher,
    VoucherStatusGql,
)
from backend.api.permissions import IsMember, IsMemberOrStaff
from backend.api.types import (
    connection,
    decode_cursor,
    decode_rank_cursor,
    encode_rank_cursor,
    page,
    page_size,
    parse_global_id,
)
from backend.rewards.offers.personalization import after as ranks_after
from backend.rewards.offers.repository import vouchers_page
from backend.rewards.offers.rules import VoucherStatus
from backend.rewards.queries import MemberByUid

FIRST = strawberry.argument(description="Page size, 1 to 100.")


async def _me(info: Info) -> Any:
    """The signed-in member's row, None before they enrol."""
    principal = info.context.principal
    assert principal is not None  # the field's permission class lets only signed-in callers in
    return await info.context.loaders.read(MemberByUid(principal.uid))


@strawberry.type(description="Offers and vouchers.")
class OffersQuery:
    @strawberry.field(
        description="The open offers the signed-in member may see (their tier, style and "
        "purchases; early-access offers of their clubs before everyone else; nothing in a "
        "category they dislike), ranked for them: by how well each fits what they bought and "
        "viewed, their StyleID and their tier, then newest first. Each says why it is shown "
        "and whether it is redeemable now (Relay connection; a cursor holds the offer's rank, "
        "so a page continues below it).",
        permission_classes=[IsMember],
    )
    async def offers(
        self,
        info: Info,
        first: Annotated[int, FIRST] = 20,
        after: Annotated[
            str | None, strawberry.argument(description="Cursor of the last offer already seen.")
        ] = None,
    ) -> relay.Connection[Offer]:
        """Page through the member's list, computed once per request."""
        first = page_size(first)
        below = decode_rank_cursor(after, "offer")
        member = await _me(info)
        loaders = info.context.loaders.offers
        listing = await loaders.listing.load(member) if member is not None else []
        rest = [view for view in listing if ranks_after(view.rank, below)]
        language = await loaders.default_language()
        edges = [
            relay.Edge(
                cursor=encode_rank_cursor(view.fit.score, view.row.id, "offer"),
                node=Offer.of(view.row, locale=member.locale, default_language=language, view=view),
            )
            for view in rest[:first]
        ]
        return page(edges, len(rest) > first, after)

    @strawberry.field(
        description="One offer by global id: for a member, when it is listed and in their "
        "audience (open or not, with why it is not redeemable); for marketing and admin, any "
        "offer. Null otherwise.",
        permission_classes=[IsMemberOrStaff],
    )
    async def offer(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The offer's global id.")],
    ) -> Offer | None:
        """Show an offer to its audience, or any offer to staff."""
        parsed = parse_global_id(id)
        if parsed is None or parsed[0] != "Offer":
            return None
        loaders = info.context.loaders.offers
        language = await loaders.default_language()
        principal = info.context.principal
        if principal is not None and principal.role.is_staff:
            row = await loaders.offer.load(parsed[1])
            return Offer.of(row, locale=language, default_language=language) if row else None
        member = await _me(info)
        view = await loaders.view(member, parsed[1]) if member is not None else None
        if view is None:
            return None
        return Offer.of(view.row, locale=member.locale, default_language=language, view=view)

    @strawberry.field(
        description="The signed-in member's vouchers, newest first (Relay connection).",
        permission_classes=[IsMember],
    )
    async def vouchers(
        self,
        info: Info,
        first: Annotated[int, FIRST] = 20,
        after: Annotated[
            str | None, strawberry.argument(description="Cursor of the last voucher already seen.")
        ] = None,
        status: Annotated[
            VoucherStatusGql | None,  # type: ignore[valid-type]
            strawberry.argument(description="Only vouchers with this status now; null for all."),
        ] = None,
    ) -> relay.Connection[Voucher]:
        """Keyset-paginate the member's vouchers."""
        first = page_size(first)
        before = decode_cursor(after, "voucher")
        member = await _me(info)
        if member is None:
            return connection([], more=False, after=after, kind="voucher")
        now = info.context.loaders.now
        async with info.context.loaders.connection() as conn:
            rows, more = await vouchers_page(
                conn,
                member_id=member.id,
                first=first,
                before_id=before,
                status=VoucherStatus(status) if status is not None else None,
                now=now,
            )
        nodes = [(row.id, Voucher.of(row, now=now, locale=member.locale)) for row in rows]
        return connection(nodes, more=more, after=after, kind="voucher")
