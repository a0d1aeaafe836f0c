"""Earning by actions: the rules marketing configures, and awards within their caps.

Every award is a ledger credit under the member's lock, and the tallies the caps are checked
against are written in the same transaction, so concurrent reports of one member queue at the
lock and the caps hold whatever the pool size.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any, cast

from sqlalchemy import select
from sqlmodel import col

from backend.db.tables import ActionTally, AuditLog
from backend.db.tables import EarningRule as EarningRuleRow
from backend.rewards.actions.rules import (
    LIFETIME,
    ActionKind,
    Award,
    EarningRule,
    Tally,
    award,
    check_rule,
    period,
    previous,
)
from backend.rewards.errors import DomainError
from backend.rewards.ledger import Posting, Source, credit
from backend.rewards.members.rules import local_day
from backend.rewards.ports import Principal
from backend.rewards.uow import LockedMember, UnitOfWork

LABELS = {
    ActionKind.PROFILE_COMPLETED: "Profile completed",
    ActionKind.STYLE_ID_COMPLETED: "StyleID completed",
    ActionKind.REVIEW_WRITTEN: "Review written",
    ActionKind.SURVEY_COMPLETED: "Survey completed",
    ActionKind.SOCIAL_SHARE: "Social share",
    ActionKind.APP_OPENED: "Daily app open",
    ActionKind.PRODUCT_VIEWED: "Product viewed",
    ActionKind.RECYCLING_RETURN: "Recycling return",
    ActionKind.FITNESS_STEPS: "Fitness steps",
}


async def load_rule(uow: UnitOfWork, action: ActionKind) -> EarningRule:
    """The rule of one action, from the program rules (current in this unit of work)."""
    rule = (await uow.rules()).earning.get(action)
    if rule is None:  # the migration seeds every kind; a deleted row means the action is off
        raise DomainError("ACTION_DISABLED", "This action earns nothing now.", field="action")
    return rule


async def _tallies(
    uow: UnitOfWork, member_id: int, action: ActionKind, periods: list[str]
) -> dict[str, ActionTally]:
    """The member's tally rows of an action for some periods."""
    stmt = select(ActionTally).where(
        col(ActionTally.member_id) == member_id,
        col(ActionTally.action) == action.value,
        col(ActionTally.period).in_(periods),
    )
    rows = (await uow.session.execute(stmt.execution_options(populate_existing=True))).scalars()
    return {row.period: row for row in rows}


async def earn(
    uow: UnitOfWork,
    *,
    member: LockedMember,
    rule: EarningRule,
    quantity: int,
    reference: str | None,
    actor: str | None,
) -> Award:
    """Award an action within its caps (counted in the member's local day) and its streak bonus."""
    uow.check_locked(member)
    day = local_day(uow.now, member.time_zone)
    today, yesterday = period(day), period(previous(day))
    rows = await _tallies(uow, cast(int, member.id), rule.action, [today, yesterday, LIFETIME])
    tally = Tally(
        today=rows[today].points if today in rows else 0,
        lifetime=rows[LIFETIME].points if LIFETIME in rows else 0,
        yesterday_streak=rows[yesterday].streak if yesterday in rows else 0,
        today_streak=rows[today].streak if today in rows else 0,
    )
    won = award(rule, quantity=quantity, tally=tally)
    label = LABELS[rule.action]
    await _credit(uow, member, won.points, Posting(label, Source.ACTION, reference, actor))
    if won.bonus:
        streak = f"{label}: {won.streak}-day streak"
        await _credit(uow, member, won.bonus, Posting(streak, Source.ACTION, reference, actor))
    _count(uow, rows.get(today), member, rule.action, today, won.points, won.streak)
    _count(uow, rows.get(LIFETIME), member, rule.action, LIFETIME, won.points, 0)
    return won


async def _credit(uow: UnitOfWork, member: LockedMember, points: int, posting: Posting) -> None:
    """Credit spendable points (nothing for a 0-point action)."""
    if points > 0:
        program = await uow.rules()
        months = int(program.setting("lot_lifetime_months"))
        await credit(uow, member=member, points=points, posting=posting, lifetime_months=months)


def _count(
    uow: UnitOfWork,
    row: ActionTally | None,
    member: LockedMember,
    action: ActionKind,
    period_: str,
    points: int,
    streak: int,
) -> None:
    """Add an award to a tally row (a new one for the first of its period)."""
    if row is None:
        member_id = cast(int, member.id)
        row = ActionTally(member_id=member_id, action=action.value, period=period_, streak=streak)
        uow.session.add(row)
    row.points = (row.points or 0) + points
    row.claims = (row.claims or 0) + 1


async def configure_rule(uow: UnitOfWork, *, rule: EarningRule, staff: Principal) -> EarningRule:
    """Replace one action's rule (audited with what it was before)."""
    program = await uow.rules()
    rule = check_rule(rule, member_maximum=int(program.setting("member_claim_max_points")))
    row = await uow.session.get(EarningRuleRow, rule.action.value, with_for_update=True)
    old = program.earning.get(rule.action)
    before = _as_json(old) if row is not None and old is not None else None
    if row is None:
        row = EarningRuleRow(action=rule.action.value, points=0, reporter=rule.reporter)
        uow.session.add(row)
    for name, value in asdict(rule).items():
        if name != "action":
            setattr(row, name, value)
    row.updated_by, row.updated_at = staff.uid, uow.now
    uow.session.add(
        AuditLog(
            actor_uid=staff.uid,
            actor_role=staff.role,
            action="configure_earning_rule",
            reason="configure earning rule",
            details={"action": rule.action.value, "before": before, "after": _as_json(rule)},
            created_at=uow.now,
        )
    )
    await uow.commit()
    return rule


def _as_json(rule: EarningRule) -> dict[str, Any]:
    """A rule for the audit trail."""
    return {k: str(v) if isinstance(v, str) else v for k, v in asdict(rule).items()}
