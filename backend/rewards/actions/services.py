"""Action use cases: a member claims an action in one unit of work (idempotent with a key)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy import select
from sqlmodel import col

from backend.db.tables import Member, MemberCategory
from backend.rewards import idempotency
from backend.rewards.actions.rules import RULES, ActionClaim, ClaimedAction
from backend.rewards.errors import DomainError, NotFound
from backend.rewards.offers.repository import record_view
from backend.rewards.profile.queries import is_choosable
from backend.rewards.profile.rules import StyleKind
from backend.rewards.text import TextField, clean, width
from backend.rewards.uow import UnitOfWork

KEY = TextField("INVALID_IDEMPOTENCY_KEY", "idempotencyKey", "The idempotency key", 128)
CATEGORY = TextField(
    "INVALID_CATEGORY", "category", "The category", width(MemberCategory, "category")
)
SKU = TextField("INVALID_SKU", "sku", "The SKU", 64)
SCOPE = "action"


def _cleaned(claim: ActionClaim) -> ActionClaim:
    """The claim with every text through the text policy, or the first field's typed error."""
    return replace(
        claim,
        category=None if claim.category is None else clean(claim.category, CATEGORY),
        sku=None if claim.sku is None else clean(claim.sku, SKU),
        idempotency_key=None
        if claim.idempotency_key is None
        else clean(claim.idempotency_key, KEY),
    )


async def _member(uow: UnitOfWork, uid: str) -> tuple[int, str]:
    """The id and status of a signed-in user's membership, or NOT_ENROLLED."""
    stmt = select(col(Member.id), col(Member.status)).where(col(Member.uid) == uid)
    found = (await uow.session.execute(stmt)).first()
    if found is None:
        raise NotFound("NOT_ENROLLED", "Enrol before claiming actions.")
    return int(found.id), str(found.status)


async def claim_action(uow: UnitOfWork, *, uid: str, claim: ActionClaim) -> ClaimedAction:
    """Record an action the member reports; a replay of its key answers as the first time did.

    A product view counts one more view of a published category (one row per member and
    category, however many views), so what members send cannot grow the tables without bound.
    """
    claim = _cleaned(claim)
    member_id, status = await _member(uow, uid)
    payload = {"action": claim.action.value, "category": claim.category, "sku": claim.sku}
    key = claim.idempotency_key
    stored_key = idempotency.pair_key(str(member_id), key) if key is not None else None
    if stored_key is not None:
        earlier = await idempotency.replay(
            uow, scope=SCOPE, key=stored_key, payload=payload, field="idempotencyKey"
        )
        if earlier is not None:
            return _answer(claim, earlier)
    if status != "active":
        raise DomainError("MEMBER_INACTIVE", "That membership is not active.")
    rule = RULES[claim.action]
    if rule.needs_category and claim.category is None:
        raise DomainError("CATEGORY_REQUIRED", "Name the product's category.", field="category")
    if claim.category is not None and not await is_choosable(
        uow.session, StyleKind.CATEGORY, claim.category
    ):
        raise DomainError(
            "UNKNOWN_CATEGORY", "Use a category code from `styleOptions`.", field="category"
        )
    claimed = (
        await idempotency.claim(uow, scope=SCOPE, key=stored_key, payload=payload)
        if stored_key is not None
        else None
    )
    views = await record_view(
        uow.session, member_id=member_id, category=str(claim.category), now=uow.now
    )
    done = ClaimedAction(claim.action, claim.category, claim.sku, rule.points, views, uow.now)
    if claimed is not None:
        idempotency.remember(claimed, done.as_json())
    await uow.commit()
    return done


def _answer(claim: ActionClaim, stored: dict[str, object]) -> ClaimedAction:
    """The first answer of a replayed claim."""
    return ClaimedAction(
        claim.action,
        claim.category,
        claim.sku,
        int(str(stored["points_awarded"])),
        int(str(stored["views"])),
        datetime.fromisoformat(str(stored["claimed_at"])),
    )
