"""The GraphQL schema: queries, mutations, the subscription and the limits every request is held to."""

from __future__ import annotations

import asyncio
from typing import Annotated

import strawberry
from strawberry import relay
from strawberry.schema.config import StrawberryConfig

from backend.api.actions.queries import ActionsQuery
from backend.api.admission import execution_gate
from backend.api.bonus.queries import BonusQuery
from backend.api.clubs.queries import ClubsQuery
from backend.api.clubs.types import Club
from backend.api.context import Info
from backend.api.documents import CheckedDocuments, DocumentCache, validation_rules
from backend.api.errors import CodedCoercionExecutor, PublicError
from backend.api.execution import CheckedSchema
from backend.api.games.board.queries import BoardQuery
from backend.api.games.board.types import Draw
from backend.api.games.hunts.queries import HuntsQuery
from backend.api.games.wheel.queries import WheelQuery
from backend.api.lean import lean_enum_outputs, lean_resolvers
from backend.api.live.subscriptions import Subscription
from backend.api.marketing.queries import MarketingQuery
from backend.api.marketing.types import Campaign, Segment
from backend.api.mutations import Mutation
from backend.api.notifications.queries import NotificationsQuery
from backend.api.notifications.types import Notification
from backend.api.offers.queries import OffersQuery
from backend.api.offers.types import Offer, Voucher
from backend.api.permissions import (
    IsMember,
    IsMemberReader,
    IsSignedIn,
    IsSignedInStaffRechecked,
    StaffRateLimit,
)
from backend.api.profile.queries import ProfileQuery
from backend.api.types import (
    LedgerEntry,
    Member,
    MemberReads,
    Purchase,
    Tier,
    parse_global_id,
    selected,
)
from backend.rewards.errors import DomainError
from backend.rewards.members.lookup import Lookup, LookupBy, find_member, record_read_by_id
from backend.rewards.queries import MemberByUid, MemberWith

REASON = strawberry.argument(
    description="Why you need to see this member, e.g. a support ticket (3 to 500 characters); "
    "kept in the audit trail."
)


async def _look_up(info: Info, lookup: Lookup) -> Member | None:
    """Run an audited staff lookup in its own unit of work; a missing reason is a bad argument."""
    staff = info.context.principal
    assert staff is not None  # the field's permission class lets only staff in
    try:
        row = await info.context.uows.run(lambda uow: find_member(uow, lookup=lookup, staff=staff))
    except DomainError as error:
        raise PublicError("BAD_USER_INPUT", error.message, field=error.field) from None
    return Member.of(row) if row else None


@strawberry.type(description="Everything that can be read.")
class Query(
    ProfileQuery,
    ClubsQuery,
    OffersQuery,
    NotificationsQuery,
    WheelQuery,
    HuntsQuery,
    BoardQuery,
    MarketingQuery,
    ActionsQuery,
    BonusQuery,
):
    @strawberry.field(
        description="The signed-in member; null until they `enroll`.", permission_classes=[IsMember]
    )
    async def me(self, info: Info) -> Member | None:
        """Load the caller's membership, and what its selected fields read, in one batch."""
        principal = info.context.principal
        assert principal is not None
        loaders = info.context.loaders
        reads = MemberReads(loaders.now, await loaders.rules())
        plan, folds = reads.ahead(selected(info))
        row, answers = await loaders.read(MemberWith(principal.uid, plan, folds))
        loaders.prime(MemberByUid(principal.uid), row)
        for read, answer in answers:
            loaders.prime(read, answer)
        return Member.of(row, reads) if row else None

    @strawberry.field(
        description="The VIP ladder, lowest tier first.", permission_classes=[IsSignedIn]
    )
    async def tiers(self, info: Info) -> list[Tier]:
        """List the tiers."""
        return [Tier.of(t) for t in (await info.context.loaders.rules()).tiers]

    @strawberry.field(
        description="Fetch an object by global id; objects that are not yours resolve to null. "
        "Staff reading a member, or a member's voucher or purchase, this way are audited like a "
        "lookup.",
        permission_classes=[IsSignedInStaffRechecked],
    )
    async def node(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="A global id.")],
    ) -> relay.Node | None:
        """Resolve a global id through its type's `resolve_nodes` (which checks ownership)."""
        parsed = parse_global_id(id)  # ids this API never gave out resolve to null, before any SQL
        if parsed is None or parsed[0] not in NODE_TYPES:
            return None
        node_type = NODE_TYPES[parsed[0]]
        (found,) = await node_type.resolve_nodes(
            info=info, node_ids=[str(parsed[1])], required=False
        )
        staff = info.context.principal
        owner = found.id if isinstance(found, Member) else getattr(found, "member_id", None)
        if owner is not None and staff is not None and staff.role.reads_members:
            await info.context.uows.run(
                lambda uow: record_read_by_id(uow, staff=staff, member_id=owner)
            )
        return found

    @strawberry.field(
        description="Staff (marketing, admin, support): the member with this card number, or null "
        "if none has it. Every lookup is written to the audit trail.",
        permission_classes=[IsMemberReader, StaffRateLimit],
    )
    async def member(
        self,
        info: Info,
        card_number: Annotated[
            str,
            strawberry.argument(
                description="The card number as printed or scanned; spaces and dashes are ignored."
            ),
        ],
        reason: Annotated[str, REASON],
    ) -> Member | None:
        """Find a member by card number (audited)."""
        return await _look_up(info, Lookup(LookupBy.CARD_NUMBER, card_number, reason))

    @strawberry.field(
        description="Staff (marketing, admin, support): the member signed in with this e-mail "
        "address (case-insensitive; the oldest membership if several share it), or null. "
        "Every lookup is written to the audit trail.",
        permission_classes=[IsMemberReader, StaffRateLimit],
    )
    async def member_by_email(
        self,
        info: Info,
        email: Annotated[str, strawberry.argument(description="The member's e-mail address.")],
        reason: Annotated[str, REASON],
    ) -> Member | None:
        """Find a member by e-mail address (audited)."""
        return await _look_up(info, Lookup(LookupBy.EMAIL, email, reason))


NODE_TYPES: dict[
    str,
    type[
        Member
        | LedgerEntry
        | Purchase
        | Club
        | Offer
        | Voucher
        | Notification
        | Draw
        | Segment
        | Campaign
    ],
] = {
    "Member": Member,
    "LedgerEntry": LedgerEntry,
    "Purchase": Purchase,
    "Club": Club,
    "Offer": Offer,
    "Voucher": Voucher,
    "Notification": Notification,
    "Draw": Draw,
    "Segment": Segment,
    "Campaign": Campaign,
}


def build_schema(
    *,
    local_mode: bool,
    max_depth: int = 12,
    max_aliases: int = 30,
    max_tokens: int = 2000,
    document_cache_bytes: int = 32 * 1024 * 1024,
    max_concurrent_operations: int = 20,
) -> strawberry.Schema:
    """Assemble the schema with its limits; suggestions and anonymous introspection only locally."""
    # Made once: the rule classes and the cache are shared by every request.
    rules = validation_rules(max_depth=max_depth, max_aliases=max_aliases)
    cache = DocumentCache(document_cache_bytes)
    gate = asyncio.Semaphore(max_concurrent_operations)
    schema = CheckedSchema(
        query=Query,
        mutation=Mutation,
        subscription=Subscription,
        types=[
            LedgerEntry,
            Member,
            Purchase,
            Club,
            Offer,
            Voucher,
            Notification,
            Draw,
            Segment,
            Campaign,
        ],
        config=StrawberryConfig(disable_field_suggestions=not local_mode),
        execution_context_class=CodedCoercionExecutor,
        extensions=[
            lambda: CheckedDocuments(
                cache, rules, max_tokens=max_tokens, anonymous_introspection=local_mode
            ),
            execution_gate(gate),
        ],
        documents=cache,
        gate=gate,
    )
    lean_resolvers(schema)
    lean_enum_outputs(schema)
    return schema
