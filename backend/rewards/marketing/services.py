"""Audited staff actions on balances."""

from __future__ import annotations

from dataclasses import dataclass

from backend.db.tables import AuditLog, LedgerEntry
from backend.rewards import idempotency
from backend.rewards.errors import DomainError
from backend.rewards.ledger import EntryKind, Posting, Source, credit, debit
from backend.rewards.ports import Principal
from backend.rewards.program import load_rules
from backend.rewards.uow import UnitOfWork


@dataclass(frozen=True)
class Adjustment:
    """A staff correction: signed points, a mandatory reason and a key that makes retries safe."""

    member_id: int
    points: int
    reason: str
    idempotency_key: str

    def payload(self) -> dict[str, object]:
        """The canonical payload for the idempotency fingerprint."""
        return {"member": self.member_id, "points": self.points, "reason": self.reason}


def _check(data: Adjustment, maximum: int) -> None:
    """Refuse an adjustment without a real reason or with zero or absurd points."""
    if len(data.reason.strip()) < 3 or len(data.reason) > 500:
        raise DomainError("REASON_REQUIRED", "Say why, in 3 to 500 characters.", field="reason")
    if data.points == 0 or abs(data.points) > maximum:
        raise DomainError(
            "INVALID_POINTS", f"Adjust by 1 to {maximum} points, up or down.", field="points"
        )
    if not data.idempotency_key.strip() or len(data.idempotency_key) > 200:
        raise DomainError(
            "INVALID_IDEMPOTENCY_KEY", "Give a key of 1 to 200 characters.", field="idempotencyKey"
        )


async def adjust_points(uow: UnitOfWork, *, data: Adjustment, staff: Principal) -> LedgerEntry:
    """Credit or debit a member's points by hand, written to the audit trail.

    A replay answers with the entry the first request wrote (entries never change).
    """
    scope, key, payload = "adjust", data.idempotency_key, data.payload()
    earlier = await idempotency.replay(
        uow, scope=scope, key=key, payload=payload, field="idempotencyKey"
    )
    if earlier is not None:
        return await uow.session.get_one(LedgerEntry, int(earlier["entry_id"]))
    program = await load_rules(uow.session)
    _check(data, int(program.setting("max_adjustment_points")))
    member = await uow.lock_member(data.member_id)
    claimed = await idempotency.claim(uow, scope=scope, key=key, payload=payload)
    posting = Posting(data.reason.strip(), Source.STAFF, data.idempotency_key, staff.uid)
    if data.points > 0:
        entry = await credit(
            uow,
            member=member,
            points=data.points,
            posting=posting,
            kind=EntryKind.ADJUST,
            lifetime_months=int(program.setting("lot_lifetime_months")),
        )
    else:
        entry = await debit(
            uow, member=member, points=-data.points, posting=posting, kind=EntryKind.ADJUST
        )
    uow.session.add(
        AuditLog(
            actor_uid=staff.uid,
            actor_role=staff.role,
            action="adjust_points",
            member_id=member.id,
            entry_id=entry.id,
            reason=data.reason.strip(),
            details={"points": data.points},
            created_at=uow.now,
        )
    )
    idempotency.remember(claimed, {"entry_id": entry.id})
    await uow.commit()
    return entry
