"""Bonus-event use cases: marketing creates one (audited)."""

from __future__ import annotations

from typing import cast

from backend.db.tables import AuditLog, BonusEvent
from backend.rewards.bonus.rules import BonusEventDraft, check_draft
from backend.rewards.ports import Principal
from backend.rewards.profile.queries import choosable
from backend.rewards.profile.rules import StyleKind
from backend.rewards.program import BonusEventRule
from backend.rewards.uow import UnitOfWork


async def create_bonus_event(
    uow: UnitOfWork, *, draft: BonusEventDraft, staff: Principal
) -> BonusEventRule:
    """Add a bonus event; purchases inside its window earn its multiplier (audited)."""
    program = await uow.rules()
    categories = (await choosable(uow.session))[StyleKind.CATEGORY]
    draft = check_draft(
        draft, now=uow.now, tiers=[t.code for t in program.tiers], categories=categories
    )
    row = BonusEvent(
        name=draft.name,
        multiplier=draft.multiplier,
        starts_at=draft.starts_at,
        ends_at=draft.ends_at,
        categories=list(draft.categories),
        tiers=list(draft.tiers),
        created_by=staff.uid,
        created_at=uow.now,
    )
    await uow.insert(row)
    details = {
        "bonus_event_id": row.id,
        "multiplier": str(draft.multiplier),
        "starts_at": draft.starts_at.isoformat(),
        "ends_at": draft.ends_at.isoformat(),
        "categories": list(draft.categories),
        "tiers": list(draft.tiers),
    }
    uow.session.add(
        AuditLog(
            actor_uid=staff.uid,
            actor_role=staff.role,
            action="create_bonus_event",
            reason="create bonus event",
            details=details,
            created_at=uow.now,
        )
    )
    await uow.commit()
    return BonusEventRule(
        id=cast(int, row.id),
        name=draft.name,
        multiplier=draft.multiplier,
        starts_at=draft.starts_at,
        ends_at=draft.ends_at,
        categories=draft.categories,
        tiers=draft.tiers,
    )
