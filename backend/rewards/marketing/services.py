"""Audited staff actions: point adjustments and saved segments."""

from __future__ import annotations

from dataclasses import dataclass, replace

from backend.db.tables import AuditLog, IdempotencyKey, LedgerEntry, Segment
from backend.rewards import idempotency
from backend.rewards.errors import DomainError, NotFound
from backend.rewards.ledger import EntryKind, Posting, Source, credit, debit
from backend.rewards.marketing.segments import SegmentFilter, check_filter
from backend.rewards.ports import Principal
from backend.rewards.text import JOINERS, TextField, clean, width
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


# The reason goes to the entry (200) and the audit log (500); the key is also the entry's source_ref.
REASON = TextField(
    "REASON_REQUIRED",
    "reason",
    "The reason",
    min(width(LedgerEntry, "reason"), width(AuditLog, "reason")),
    minimum=3,
    prose=True,
    allow=JOINERS,
)
KEY = TextField(
    "INVALID_IDEMPOTENCY_KEY",
    "idempotencyKey",
    "The idempotency key",
    min(width(IdempotencyKey, "key"), width(LedgerEntry, "source_ref")),
)


def _clean(data: Adjustment) -> Adjustment:
    """The adjustment in its stored form; refused without a real reason or a usable key."""
    reason = clean(data.reason, REASON)
    return replace(data, reason=reason, idempotency_key=clean(data.idempotency_key, KEY))


def _check_points(data: Adjustment, maximum: int) -> None:
    """Refuse zero or absurd adjustments."""
    if data.points == 0 or abs(data.points) > maximum:
        raise DomainError(
            "INVALID_POINTS", f"Adjust by 1 to {maximum} points, up or down.", field="points"
        )


async def adjust_points(uow: UnitOfWork, *, data: Adjustment, staff: Principal) -> LedgerEntry:
    """Credit or debit a member's points by hand, written to the audit trail.

    A replay answers with the entry the first request wrote (entries never change).
    """
    data = _clean(data)
    scope, key, payload = "adjust", data.idempotency_key, data.payload()
    earlier = await idempotency.replay(
        uow, scope=scope, key=key, payload=payload, field="idempotencyKey"
    )
    if earlier is not None:
        return await uow.session.get_one(LedgerEntry, int(earlier["entry_id"]))
    program = await uow.rules()
    _check_points(data, int(program.setting("max_adjustment_points")))
    member = await uow.lock_member(data.member_id)
    claimed = await idempotency.claim(uow, scope=scope, key=key, payload=payload)
    posting = Posting(data.reason, Source.STAFF, data.idempotency_key, staff.uid)
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
            reason=data.reason,
            details={"points": data.points},
            created_at=uow.now,
        )
    )
    idempotency.remember(claimed, {"entry_id": entry.id})
    await uow.commit()
    return entry


SEGMENT_NAME = TextField(
    "INVALID_NAME", "name", "The name", width(Segment, "name"), minimum=3, prose=True
)


async def save_segment(
    uow: UnitOfWork, *, segment_id: int | None, name: str, spec: SegmentFilter, staff: Principal
) -> Segment:
    """Create a segment, or replace the name and filter of one (audited)."""
    name, spec = clean(name, SEGMENT_NAME), check_filter(spec)
    if segment_id is None:
        segment = Segment(
            name=name,
            created_by=staff.uid,
            created_at=uow.now,
            updated_by=staff.uid,
            updated_at=uow.now,
        )
        uow.session.add(segment)
    else:
        found = await uow.session.get(Segment, segment_id, with_for_update=True)
        if found is None:
            raise NotFound("UNKNOWN_SEGMENT", "No segment has that id.", field="segmentId")
        segment = found
    segment.name, segment.filter = name, spec.as_json()
    segment.updated_by, segment.updated_at = staff.uid, uow.now
    await uow.session.flush()
    uow.session.add(
        AuditLog(
            actor_uid=staff.uid,
            actor_role=staff.role,
            action="save_segment",
            reason=f"segment: {name}",
            details={"segment_id": segment.id, "name": name, "filter": segment.filter},
            created_at=uow.now,
        )
    )
    await uow.commit()
    return segment
