"""The `wheel` query: segments, exact odds as of now and, for a member, their spins."""

from __future__ import annotations

import strawberry

from backend.api.context import Info
from backend.api.games.wheel.types import WheelOfPoints
from backend.api.permissions import IsMemberOrStaff
from backend.rewards.games.wheel.players import commit_seed
from backend.rewards.games.wheel.queries import WheelNow, WheelState
from backend.rewards.ports import Role
from backend.rewards.queries import MemberByUid


async def _read(info: Info, read: WheelNow, *, fresh: bool) -> WheelState:
    """The wheel read through the request's batch, or (`fresh`, after a write) read again."""
    if not fresh:
        return await info.context.loaders.read(read)
    async with info.context.loaders.connection() as conn:
        return await conn.run_sync(read.run)


async def wheel_state(info: Info, *, fresh: bool = False) -> WheelState | None:
    """The signed-in member's wheel now (None for staff and before enrolment).

    A member without a committed seed gets one first (a short unit of work of its own), so the
    commitment is shown before their first spin.
    """
    principal = info.context.principal
    if principal is None or principal.role != Role.MEMBER:
        return None
    loaders = info.context.loaders
    member = await loaders.read(MemberByUid(principal.uid))
    if member is None:
        return None
    read = WheelNow(member.id, member.time_zone, loaders.now)
    state = await _read(info, read, fresh=fresh)
    if state.config is not None and state.commitment is None:
        await info.context.uows.run(lambda uow: commit_seed(uow, member_id=member.id))
        state = await _read(info, read, fresh=True)
    return state


async def wheel_now(info: Info, *, fresh: bool = False) -> WheelOfPoints | None:
    """The wheel as the caller sees it now (`fresh`: read again, after a write); null until
    marketing configures it."""
    state = await wheel_state(info, fresh=fresh)
    if state is None:  # staff: the same wheel, without a member's spins
        state = await _read(info, WheelNow(None, "UTC", info.context.loaders.now), fresh=fresh)
        if state.config is None:
            return None
        return WheelOfPoints.of(state.config, None, state.points_left)
    if state.config is None:
        return None
    return WheelOfPoints.of(state.config, state, state.points_left)


@strawberry.type(description="Wheel of points queries.")
class WheelQuery:
    @strawberry.field(
        description="The wheel of points: segments with exact odds as of now (today's points "
        "budget applied) and, for a member, spins left, the next free spin and the commitment "
        "of the next spin's server seed. Null until marketing configures it.",
        permission_classes=[IsMemberOrStaff],
    )
    async def wheel(self, info: Info) -> WheelOfPoints | None:
        """Read the wheel."""
        return await wheel_now(info)
