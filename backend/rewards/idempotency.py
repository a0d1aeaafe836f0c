"""Idempotency keys: a retried write returns its first result; another payload is refused."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from backend.db.tables import IdempotencyKey
from backend.rewards.errors import IdempotencyConflict
from backend.rewards.uow import UnitOfWork


def fingerprint(payload: Any) -> str:
    """Hash a JSON-able payload canonically (sorted keys, decimals as strings)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


async def replayed(uow: UnitOfWork, *, scope: str, key: str, payload: Any) -> dict[str, Any] | None:
    """Return the stored result of an earlier identical write, None if the key is new.

    Call it after taking the lock that serialises writers of the same key.
    """
    stmt = select(IdempotencyKey).where(
        col(IdempotencyKey.scope) == scope, col(IdempotencyKey.key) == key
    )
    row = (await uow.session.execute(stmt)).scalar()
    if row is None:
        return None
    if row.fingerprint != fingerprint(payload):
        raise IdempotencyConflict(key)
    return dict(row.result)


def remember(
    uow: UnitOfWork, *, scope: str, key: str, payload: Any, result: dict[str, Any]
) -> None:
    """Store the result of a write under its key, in the same transaction as the write."""
    uow.session.add(
        IdempotencyKey(
            scope=scope,
            key=key,
            fingerprint=fingerprint(payload),
            result=result,
            created_at=uow.now,
        )
    )
