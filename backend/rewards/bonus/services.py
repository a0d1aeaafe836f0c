"""Bonus-event use cases: marketing creates one (audited); is a buyer in an event's segment."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import cast

from sqlalchemy import select

from backend.db.tables import AuditLog, BonusEvent
from backend.rewards.bonus.rules import BonusEventDraft, check_draft
from backend.rewards.errors import NotFound
from backend.rewards.marketing.segments import (
    MEMBER,
    SegmentFilter,
    member_condition,
    saved_filter,
)
from backend.rewards.ports import Principal
from backend.rewards.profile.queries import choosable
from backend.rewards.profile.rules import StyleKind
from backend.rewards.program import BonusEventRule
from backend.rewards.uow import UnitOfWork


async def create_bonus_event(
    uow: UnitOfWork, *, draft: BonusEventDraft, segment_id: int | None, staff: Principal
) -> BonusEventRule:
    """Add a bonus event; purchases inside its window earn its multiplier (audited)."""
    if segment_id is not None:  # its filter is copied: later edits of the segment change nothing
        segment = await saved_filter(uow.session, segment_id)
        if segment is None:
            raise NotFound("UNKNOWN_SEGMENT", "No segment has that id.", field="segmentId")
        draft = replace(draft, segment=segment)
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
        segment_filter=None if draft.segment is None else draft.segment.as_json(),
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
        "segment_id": segment_id,
        "segment_filter": row.segment_filter,
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
        segment=draft.segment,
    )


async def in_segments(
    uow: UnitOfWork, events: Sequence[BonusEventRule], *, member_id: int, at: datetime
) -> frozenset[int]:
    """The ids of the segment-limited events whose segment holds the member as of `at` (one
    statement in the purchase's unit of work, one column per event)."""
    dialect = uow.session.get_bind().dialect.name
    columns = [
        member_condition(cast(SegmentFilter, e.segment), now=at, dialect=dialect) for e in events
    ]
    stmt = select(*columns).select_from(MEMBER).where(MEMBER.c.id == member_id)
    row = (await uow.session.execute(stmt)).one()
    return frozenset(e.id for e, hit in zip(events, row, strict=True) if hit)
