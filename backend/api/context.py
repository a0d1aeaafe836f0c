"""The typed per-request context: who is calling, the units of work and the loaders."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeAlias

import strawberry

from backend.api.loaders import Loaders
from backend.db.engine import Database
from backend.rewards.offers.featured import FeaturedPicks
from backend.rewards.ports import Clock, LiveEvents, Principal, RateLimiter, TokenVerifier
from backend.rewards.profile.queries import OptionLabelMap
from backend.rewards.program import RulesCache
from backend.rewards.shared import SharedValue
from backend.rewards.uow import UnitOfWorkFactory


@dataclass
class Services:
    """What the app wires once at start-up and every request shares."""

    database: Database
    uows: UnitOfWorkFactory
    verifier: TokenVerifier
    clock: Clock
    local_mode: bool
    rules: RulesCache
    limiter: RateLimiter
    events: LiveEvents
    option_labels: SharedValue[OptionLabelMap]  # what offer reasons name, shared like the rules
    referral_link_base: str = "https://rewards.example.com/join?code="
    featured: FeaturedPicks = field(default_factory=FeaturedPicks)


@dataclass
class Context:
    """One request's view: the verified principal (None if anonymous), its token and loaders."""

    services: Services
    principal: Principal | None
    token: str | None
    loaders: Loaders
    request: Any = None
    request_id: str | None = None
    client_ip: str | None = None
    active_checked: bool = field(default=False)

    @property
    def uows(self) -> UnitOfWorkFactory:
        """Shortcut to the unit-of-work factory."""
        return self.services.uows


Info: TypeAlias = strawberry.Info[Context, None]
