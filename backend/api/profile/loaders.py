"""Per-request StyleID loaders, kept beside the request's shared `Loaders` and dropped with it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Row
from strawberry.dataloader import DataLoader

from backend.api.context import Info
from backend.api.loaders import Loaders
from backend.rewards.profile import queries


class ProfileLoaders:
    """The StyleID loaders of one request."""

    def __init__(self, loaders: Loaders) -> None:
        self._loaders = loaders
        self.style_profile = DataLoader(self._profiles)

    async def _profiles(self, member_ids: Sequence[int]) -> list[Row[Any] | None]:
        """Stored profiles by member id (None where a member has not started one), as one read
        of the request's shared batch (`me` runs it ahead, with the member)."""
        return await self._loaders.read(queries.ProfilesOf(tuple(member_ids)))


# Keyed by the request's `Loaders`: an entry lives exactly as long as its request.
_BY_REQUEST: WeakKeyDictionary[Loaders, ProfileLoaders] = WeakKeyDictionary()


def profile_loaders(info: Info) -> ProfileLoaders:
    """This request's StyleID loaders, made on first use."""
    loaders = info.context.loaders
    found = _BY_REQUEST.get(loaders)
    if found is None:
        found = _BY_REQUEST[loaders] = ProfileLoaders(loaders)
    return found
