"""Action use cases: a member claims an action, or an integration reports a verified one, in one
unit of work each (idempotent with a key)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from backend.db.tables import Member, MemberCategory, StyleProfile
from backend.rewards import idempotency
from backend.rewards.actions.earning import earn, load_rule
from backend.rewards.actions.rules import (
    NEEDS_CATEGORY,
    ActionClaim,
    ActionKind,
    ClaimedAction,
    Reporter,
    check_quantity,
    check_reporter,
)
from backend.rewards.errors import DomainError, NotFound
from backend.rewards.members.lookup import lock_member_by_card
from backend.rewards.offers.repository import record_view
from backend.rewards.profile.queries import is_choosable
from backend.rewards.profile.rules import StyleKind
from backend.rewards.text import TextField, clean, width
from backend.rewards.uow import LockedMember, UnitOfWork

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
    rule = await load_rule(uow, claim.action)
    check_reporter(rule, Reporter.MEMBER)
    await _check_category(uow, claim)
    claimed = (
        await idempotency.claim(uow, scope=SCOPE, key=stored_key, payload=payload)
        if stored_key is not None
        else None
    )
    if claim.action == ActionKind.PRODUCT_VIEWED:
        views = await record_view(
            uow.session, member_id=member_id, category=str(claim.category), now=uow.now
        )
        done = ClaimedAction(claim.action, claim.category, claim.sku, 0, views, uow.now)
    else:
        member = await uow.lock_member(member_id)
        await _check_done(uow, member, claim.action)
        won = await earn(uow, member=member, rule=rule, quantity=1, reference=key, actor=uid)
        done = ClaimedAction(
            claim.action, claim.category, claim.sku, won.points, 0, uow.now, won.streak, won.bonus
        )
    if claimed is not None:
        idempotency.remember(claimed, done.as_json())
    await uow.commit()
    return done


async def _check_category(uow: UnitOfWork, claim: ActionClaim) -> None:
    """A product view names a published category; any category sent must be one."""
    if claim.action in NEEDS_CATEGORY and claim.category is None:
        raise DomainError("CATEGORY_REQUIRED", "Name the product's category.", field="category")
    if claim.category is not None and not await is_choosable(
        uow.session, StyleKind.CATEGORY, claim.category
    ):
        raise DomainError(
            "UNKNOWN_CATEGORY", "Use a category code from `styleOptions`.", field="category"
        )


async def _check_done(uow: UnitOfWork, member: LockedMember, action: ActionKind) -> None:
    """The server checks what it can: a completed profile has a display name, a completed
    StyleID has its completion time."""
    if action == ActionKind.PROFILE_COMPLETED and not member.display_name:
        raise DomainError(
            "PROFILE_INCOMPLETE", "Set a display name to complete your profile.", field="action"
        )
    if action == ActionKind.STYLE_ID_COMPLETED:
        style = await uow.session.get(StyleProfile, member.id)
        if style is None or style.completed_at is None:
            raise DomainError("STYLE_ID_INCOMPLETE", "Complete your StyleID first.", field="action")


def _answer(claim: ActionClaim, stored: dict[str, object]) -> ClaimedAction:
    """The first answer of a replayed claim."""
    return ClaimedAction(
        claim.action,
        claim.category,
        claim.sku,
        int(str(stored["points_awarded"])),
        int(str(stored["views"])),
        datetime.fromisoformat(str(stored["claimed_at"])),
        int(str(stored.get("streak", 0))),
        int(str(stored.get("bonus_points", 0))),
    )


REFERENCE = TextField("INVALID_REFERENCE", "reference", "The reference", 128)
VERIFIED_SCOPE = "verified_action"


@dataclass(frozen=True)
class VerifiedReport:
    """An action an integration verified (a review published, a garment returned, steps walked)."""

    member_reference: str
    action: ActionKind
    reference: str
    idempotency_key: str
    quantity: int = 1


@dataclass(frozen=True)
class VerifiedAction:
    """What a verified report earned: the answer stored under its idempotency key."""

    action: ActionKind
    member_reference: str
    quantity: int
    reference: str
    points_awarded: int
    bonus_points: int
    streak: int
    recorded_at: datetime

    def as_json(self) -> dict[str, object]:
        """The answer stored with the report's idempotency key."""
        return {**asdict(self), "recorded_at": self.recorded_at.isoformat()}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> VerifiedAction:
        """Read a stored answer."""
        return cls(
            **{
                **data,
                "action": ActionKind(data["action"]),
                "recorded_at": datetime.fromisoformat(data["recorded_at"]),
            }
        )


async def record_verified_action(
    uow: UnitOfWork, *, report: VerifiedReport, actor: str
) -> VerifiedAction:
    """Award an action an integration verified, within its caps; a replay awards nothing more."""
    report = replace(
        report,
        reference=clean(report.reference, REFERENCE),
        idempotency_key=clean(report.idempotency_key, KEY),
    )
    key = idempotency.pair_key(actor, report.idempotency_key)
    payload = {k: str(v) for k, v in asdict(report).items() if k != "idempotency_key"}
    earlier = await idempotency.replay(
        uow, scope=VERIFIED_SCOPE, key=key, payload=payload, field="idempotencyKey"
    )
    if earlier is not None:
        return VerifiedAction.from_json(earlier)
    check_quantity(report.quantity)
    if report.action in NEEDS_CATEGORY:
        raise DomainError(
            "NOT_VERIFIABLE", "Members report product views themselves.", field="action"
        )
    rule = await load_rule(uow, report.action)
    member = await lock_member_by_card(uow, report.member_reference)
    if member.status != "active":
        raise DomainError(
            "MEMBER_INACTIVE", "That membership is not active.", field="memberReference"
        )
    claimed = await idempotency.claim(uow, scope=VERIFIED_SCOPE, key=key, payload=payload)
    won = await earn(
        uow,
        member=member,
        rule=rule,
        quantity=report.quantity,
        reference=report.reference,
        actor=actor,
    )
    done = VerifiedAction(
        report.action,
        member.card_number,
        report.quantity,
        report.reference,
        won.points,
        won.bonus,
        won.streak,
        uow.now,
    )
    idempotency.remember(claimed, done.as_json())
    await uow.commit()
    return done
