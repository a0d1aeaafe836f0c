"""StyleID use cases: a member updates their profile; completing it earns points once."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import col

from backend.db.tables import AuditLog, StyleOption, StyleProfile
from backend.rewards import idempotency
from backend.rewards.actions.earning import earn, load_rule
from backend.rewards.actions.rules import ActionKind
from backend.rewards.errors import DomainError
from backend.rewards.marketing.services import REASON
from backend.rewards.members import rules as member_rules
from backend.rewards.members.services import member_by_uid
from backend.rewards.ports import Principal
from backend.rewards.profile.queries import choosable
from backend.rewards.profile.rules import (
    DEFAULT_LOCALE,
    StyleAnswers,
    StyleChanges,
    StyleKind,
    answers_of,
    apply_changes,
    check_code,
    clean_labels,
    earns_award,
)
from backend.rewards.text import clean, is_clean
from backend.rewards.uow import LockedMember, UnitOfWork

AWARD_SCOPE = "style_completed"


@dataclass(frozen=True)
class SavedProfile:
    """A profile as an update left it, and the points that update earned (0 but the first time)."""

    member_id: int
    answers: StyleAnswers
    completed_at: datetime | None
    points_awarded: int


async def update_style_profile(uow: UnitOfWork, *, uid: str, changes: StyleChanges) -> SavedProfile:
    """Apply a partial update to the caller's profile; the first completion earns the award."""
    found = await member_by_uid(uow, uid) if is_clean(uid, member_rules.UID) else None
    if found is None:
        raise DomainError("NOT_ENROLLED", "Enrol before filling in your StyleID.")
    if found.status != "active":
        raise DomainError("MEMBER_INACTIVE", "This membership is not active.")
    options = await choosable(uow.session)
    # Every writer of this member's profile and balance queues here: partial updates of one
    # profile never interleave, and only the first completion sees `completed_at` still empty.
    member_id = found.id or 0
    member = await uow.lock_member(member_id)
    row = await uow.session.get(StyleProfile, member_id, populate_existing=True)
    if row is None:
        row = StyleProfile(member_id=member_id, updated_at=uow.now)
        uow.session.add(row)
    answers = apply_changes(answers_of(row), changes, options)
    _store(row, answers, now=uow.now)
    awarded = 0
    if earns_award(answers, completed_at=row.completed_at):
        row.completed_at = uow.now
        awarded = await _award_completion(uow, member)
    await uow.commit()
    return SavedProfile(member_id, answers, row.completed_at, awarded)


def _store(row: StyleProfile, answers: StyleAnswers, *, now: datetime) -> None:
    """Copy the answers onto the stored profile (lists as new JSON arrays)."""
    for f in fields(StyleAnswers):
        value = getattr(answers, f.name)
        setattr(row, f.name, list(value) if isinstance(value, tuple) else value)
    row.updated_at = now


async def _award_completion(uow: UnitOfWork, member: LockedMember) -> int:
    """Credit the StyleID earning rule's points under a key per member, so no path credits them twice."""
    key, payload = str(member.id), {"member": member.id}
    # The payload never differs for a key, so `field` is never reported.
    earlier = await idempotency.replay(
        uow, scope=AWARD_SCOPE, key=key, payload=payload, field="member"
    )
    if earlier is not None:
        return 0
    claimed = await idempotency.claim(uow, scope=AWARD_SCOPE, key=key, payload=payload)
    rule = await load_rule(uow, ActionKind.STYLE_ID_COMPLETED)
    try:
        won = await earn(
            uow, member=member, rule=rule, quantity=1, reference="style-id", actor=None
        )
        points = won.points
    except DomainError:  # its cap is reached (a claim earned it already): the save goes on
        points = 0
    idempotency.remember(claimed, {"points": points})
    return points


@dataclass(frozen=True)
class OptionChange:
    """Marketing adds an option, relabels it (the languages named) or retires / restores it."""

    kind: StyleKind
    code: str
    labels: Sequence[tuple[str, str]] | None
    retired: bool
    reason: str


async def set_style_option(
    uow: UnitOfWork, *, change: OptionChange, staff: Principal
) -> StyleOption:
    """Add or change one option of a published list, written to the audit trail."""
    code = check_code(change.code)
    labels = None if change.labels is None else clean_labels(change.labels)
    reason = clean(change.reason, REASON)
    row = await uow.session.get(StyleOption, (change.kind.value, code), populate_existing=True)
    if row is None:
        if labels is None or DEFAULT_LOCALE not in labels:
            raise DomainError(
                "LABEL_REQUIRED", "A new option needs an English (`en`) label.", field="labels"
            )
        row = StyleOption(
            kind=change.kind.value,
            code=code,
            position=await _next_position(uow, change.kind),
            labels=labels,
            retired=change.retired,
        )
        uow.session.add(row)
    else:
        row.labels = {**row.labels, **(labels or {})}
        row.retired = change.retired
    uow.session.add(
        AuditLog(
            actor_uid=staff.uid,
            actor_role=staff.role,
            action="set_style_option",
            reason=reason,
            details={
                "kind": change.kind.value,
                "code": code,
                "labels": labels,
                "retired": change.retired,
            },
            created_at=uow.now,
        )
    )
    await uow.commit()
    return row


async def _next_position(uow: UnitOfWork, kind: StyleKind) -> int:
    """The position after the last option of a list: new options are shown last."""
    stmt = select(func.coalesce(func.max(col(StyleOption.position)), -1)).where(
        col(StyleOption.kind) == kind.value
    )
    return int((await uow.session.execute(stmt)).scalar_one()) + 1
