"""Action reads: the earning rules of actions."""

from __future__ import annotations

import strawberry

from backend.api.actions.types import EarningRuleGql
from backend.api.context import Info
from backend.api.permissions import IsSignedIn
from backend.rewards.actions.rules import ActionKind


@strawberry.type(description="Action queries.")
class ActionsQuery:
    @strawberry.field(
        description="What each action that is not a purchase earns now, its caps and who may "
        "report it (one rule per action kind, so a plain list).",
        permission_classes=[IsSignedIn],
    )
    async def earning_rules(self, info: Info) -> list[EarningRuleGql]:
        """The rules from the cached program rules."""
        rules = (await info.context.loaders.rules()).earning
        return [EarningRuleGql.of(rules[kind]) for kind in ActionKind if kind in rules]
