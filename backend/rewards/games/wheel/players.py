"""A member's wheel state: their committed server seed and banked extra spins (`grant_spins`).

Kept apart from the spin so that other capabilities (offers' EXTRA_SPIN vouchers, surprises)
can grant spins without importing the spin's use case.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any, cast

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from backend.db.tables import WheelGrant, WheelPlayer
from backend.rewards.errors import DomainError
from backend.rewards.text import clip
from backend.rewards.uow import LockedMember, UnitOfWork
from games.rng import commitment

# The source of server seeds (a CSPRNG); tests may swap it.
random_bytes: Callable[[int], bytes] = secrets.token_bytes
PLAYER = WheelPlayer.__table__  # type: ignore[attr-defined]
MAX_GRANT = 100


def dialect(session: AsyncSession) -> Any:
    """The dialect module whose INSERT knows ON CONFLICT."""
    return postgresql if session.get_bind().dialect.name == "postgresql" else sqlite


def new_seed() -> tuple[str, str]:
    """A fresh secret server seed (32 bytes, hex) and its commitment (SHA-256, hex)."""
    seed = random_bytes(32)
    return seed.hex(), commitment(seed)


async def ensure_player(session: AsyncSession, member_id: int) -> WheelPlayer:
    """The member's wheel state, committing their first seed if they have none (race-safe)."""
    player = await session.get(WheelPlayer, member_id)  # this transaction's copy, if it has one
    if player is not None:
        return player
    seed, committed = new_seed()
    stmt = (
        dialect(session)
        .insert(PLAYER)
        .values(
            member_id=member_id,
            seed=seed,
            commitment=committed,
            nonce=0,
            extra_spins=0,
            free_used=0,
        )
    )
    await session.execute(stmt.on_conflict_do_nothing(index_elements=[PLAYER.c.member_id]))
    return await session.get_one(WheelPlayer, member_id, populate_existing=True)


async def commit_seed(uow: UnitOfWork, *, member_id: int) -> None:
    """Commit a member's first server seed, so its commitment can be shown before any spin."""
    await ensure_player(uow.session, member_id)
    await uow.commit()


async def grant_spins(
    uow: UnitOfWork, *, member: LockedMember, count: int, reason: str, source_ref: str
) -> bool:
    """Give a member `count` extra spins once per `source_ref`; False if given before.

    For surprises, EXTRA_SPIN vouchers and the like; banked spins never expire.
    """
    uow.check_locked(member)
    if not 1 <= count <= MAX_GRANT:
        raise DomainError("INVALID_SPINS", f"Grant 1 to {MAX_GRANT} spins.", field="spins")
    member_id = cast(int, member.id)
    given = select(col(WheelGrant.id)).where(
        col(WheelGrant.member_id) == member_id, col(WheelGrant.source_ref) == source_ref
    )
    if (await uow.session.execute(given)).first() is not None:
        return False
    grant = WheelGrant(
        member_id=member_id,
        spins=count,
        reason=clip(reason, 200),
        source_ref=source_ref[:64],
        created_at=uow.now,
    )
    await uow.insert(grant)
    player = await ensure_player(uow.session, member_id)
    player.extra_spins += count
    return True
