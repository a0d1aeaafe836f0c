"""The GraphQL schema: queries, mutations and the limits every request is held to."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay
from strawberry.schema.config import StrawberryConfig

from backend.api.context import Info
from backend.api.documents import CheckedDocuments, DocumentCache, validation_rules
from backend.api.errors import CodedCoercionExecutor, CodedErrorsSchema
from backend.api.mutations import Mutation
from backend.api.permissions import IsMember, IsSignedIn
from backend.api.types import LedgerEntry, Member, Purchase, Tier


@strawberry.type(description="Everything that can be read.")
class Query:
    @strawberry.field(
        description="The signed-in member; null until they `enroll`.", permission_classes=[IsMember]
    )
    async def me(self, info: Info) -> Member | None:
        """Load the caller's membership."""
        principal = info.context.principal
        assert principal is not None
        row = await info.context.loaders.member_by_uid.load(principal.uid)
        return Member.of(row) if row else None

    @strawberry.field(
        description="The VIP ladder, lowest tier first.", permission_classes=[IsSignedIn]
    )
    async def tiers(self, info: Info) -> list[Tier]:
        """List the tiers."""
        return [Tier.of(t) for t in (await info.context.loaders.rules()).tiers]

    @strawberry.field(
        description="Fetch an object by global id; objects that are not yours resolve to null.",
        permission_classes=[IsSignedIn],
    )
    async def node(
        self,
        info: Info,
        id: Annotated[relay.GlobalID, strawberry.argument(description="A global id.")],
    ) -> relay.Node | None:
        """Resolve a global id through its type's `resolve_nodes` (which checks ownership)."""
        node_type = id.resolve_type(info) if id.type_name in NODE_TYPES else None
        if node_type is None:
            return None
        (found,) = await node_type.resolve_nodes(info=info, node_ids=[id.node_id], required=False)
        return found


NODE_TYPES = {"Member", "LedgerEntry", "Purchase"}


def build_schema(
    *,
    local_mode: bool,
    max_depth: int = 12,
    max_aliases: int = 30,
    max_tokens: int = 2000,
    document_cache_bytes: int = 32 * 1024 * 1024,
) -> strawberry.Schema:
    """Assemble the schema with its limits; suggestions and anonymous introspection only locally."""
    # Made once: the rule classes and the cache are shared by every request.
    rules = validation_rules(max_depth=max_depth, max_aliases=max_aliases)
    cache = DocumentCache(document_cache_bytes)
    return CodedErrorsSchema(
        query=Query,
        mutation=Mutation,
        types=[LedgerEntry, Member, Purchase],
        config=StrawberryConfig(disable_field_suggestions=not local_mode),
        execution_context_class=CodedCoercionExecutor,
        extensions=[
            lambda: CheckedDocuments(
                cache, rules, max_tokens=max_tokens, anonymous_introspection=local_mode
            ),
        ],
    )
