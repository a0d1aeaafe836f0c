"""Idempotency keys (the Stripe model): a replay returns the first answer; another payload is refused.

A use case looks its key up first, before any check that depends on rules or state, so a replay
answers the same whatever changed since. A new key is claimed (inserted) before the write, so two
concurrent first requests collide on the key's unique constraint: the unit of work runs the loser
again, and its lookup then finds the winner's answer. The answer is stored in the key's row.

A write that inserts a unique row of its own under the same key (a purchase's order id) may
instead `store` the key with its answer at the end, in one statement: a concurrent twin then
collides on that row, which the unit of work retries the same way (`uow.RETRIED_UNIQUE`).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from sqlalchemy import Row, and_, bindparam, select
from sqlmodel import col

from backend.db.tables import IdempotencyKey, RulesVersion
from backend.rewards.errors import IdempotencyConflict
from backend.rewards.uow import UnitOfWork

KEY_WIDTH = 300  # the width of idempotency_key.key


def fingerprint(payload: Any) -> str:
    """Hash a JSON-able payload canonically (sorted keys, decimals as strings)."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def pair_key(first: str, second: str) -> str:
    """One key made of two ids, unambiguous whatever characters they hold."""
    return f"{len(first)}:{first}:{second}"


# Built once with bind parameters: SQLAlchemy finds its compiled form without a new cache key.
_THE_KEY = (
    col(IdempotencyKey.scope) == bindparam("scope"),
    col(IdempotencyKey.key) == bindparam("key"),
)
STORED = select(col(IdempotencyKey.fingerprint), col(IdempotencyKey.result)).where(*_THE_KEY)
# The same lookup beside the one row of `rules_version`: one row whatever is stored, its key
# columns NULL when the key is new.
STORED_AND_RULES_VERSION = (
    select(col(RulesVersion.version), col(IdempotencyKey.fingerprint), col(IdempotencyKey.result))
    .select_from(RulesVersion)
    .outerjoin(IdempotencyKey, and_(*_THE_KEY))
)


def _storable(key: str) -> bool:
    """Tell whether a key could have been stored: a key that could not be was never used."""
    if not 0 < len(key) <= KEY_WIDTH or "\x00" in key:
        return False
    try:
        key.encode()
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


async def replay(
    uow: UnitOfWork, *, scope: str, key: str, payload: Any, field: str, rules: bool = False
) -> dict[str, Any] | None:
    """Return the stored answer of an earlier identical write, None if the key is new.

    A stored key with a different payload is refused, naming `field`, the input that holds the key.
    With `rules`, the same statement reads the program rules' version for the `uow.rules()` that
    follows (one statement less for a use case that reads both).
    """
    if not _storable(key):
        return None
    row = await _stored(uow, {"scope": scope, "key": key}, rules=rules)
    if row is None:
        return None
    if row.fingerprint != fingerprint(payload):
        raise IdempotencyConflict(field=field)
    return dict(row.result)


async def _stored(uow: UnitOfWork, params: dict[str, str], *, rules: bool) -> Row[Any] | None:
    """The stored key's fingerprint and answer, None if the key is new (see `replay`)."""
    if not rules:
        return (await uow.session.execute(STORED, params)).first()
    row = (await uow.session.execute(STORED_AND_RULES_VERSION, params)).one()
    uow.read_rules_version(row.version)
    return row if row.fingerprint is not None else None  # a stored key always has one


async def claim(uow: UnitOfWork, *, scope: str, key: str, payload: Any) -> IdempotencyKey:
    """Insert a new key before the write it guards, so a concurrent twin collides here first."""
    row = IdempotencyKey(
        scope=scope, key=key, fingerprint=fingerprint(payload), result={}, created_at=uow.now
    )
    return await uow.insert(row, track=True)  # tracked: `remember` changes it


async def store(
    uow: UnitOfWork, *, scope: str, key: str, payload: Any, answer: dict[str, Any]
) -> None:
    """Insert a new key with the answer of the write it guards (see the module's note)."""
    row = {
        "scope": scope,
        "key": key,
        "fingerprint": fingerprint(payload),
        "result": answer,
        "created_at": uow.now,
    }
    await uow.insert_values(IdempotencyKey, row)


def remember(claimed: IdempotencyKey, answer: dict[str, Any]) -> None:
    """Store the answer of the write in its key's row, in the same transaction as the write."""
    claimed.result = answer
