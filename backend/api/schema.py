"""The GraphQL schema: queries, mutations and the limits every request is held to."""

from __future__ import annotations

from typing import Annotated

import strawberry
from strawberry import relay
from strawberry.extensions import (
    AddValidationRules,
    MaskErrors,
    MaxAliasesLimiter,
    MaxTokensLimiter,
    ParserCache,
    QueryDepthLimiter,
    ValidationCache,
)
from strawberry.schema.config import StrawberryConfig

from backend.api.admission import execution_gate
from backend.api.context import Info
from backend.api.errors import should_mask
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
    max_concurrent_operations: int = 20,
) -> strawberry.Schema:
    """Assemble the schema with its limits; suggestions only in local mode."""
    # Rule classes made once: new ones per request would defeat the validation cache.
    limits = [
        *QueryDepthLimiter(max_depth=max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules,
    ]
    return strawberry.Schema(
        query=Query,
        mutation=Mutation,
        types=[LedgerEntry, Member, Purchase],
        config=StrawberryConfig(disable_field_suggestions=not local_mode),
        extensions=[
            lambda: MaskErrors(should_mask_error=should_mask),
            lambda: AddValidationRules(limits),
            lambda: MaxTokensLimiter(max_token_count=max_tokens),
            ParserCache,
            ValidationCache,
            execution_gate(max_concurrent_operations),
        ],
    )
