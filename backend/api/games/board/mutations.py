"""Prize-draw mutations: marketing creates and runs draws; members enter. One unit of work each."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import strawberry

from backend.api.clubs.mutations import LocalizedTextInput
from backend.api.context import Info
from backend.api.errors import payload_error
from backend.api.games.board.types import Draw, DrawTicket, draw_pk, draws_of
from backend.api.permissions import EnterDrawRateLimit, IsMember, IsStaff, StaffRateLimit
from backend.api.units import perform
from backend.rewards.games.draws import DrawDraft, create_draw, enter_draw, run_draw
from backend.rewards.ports import Principal
from backend.rewards.uow import UnitOfWork

CreateDrawError = payload_error(
    "CreateDraw",
    [
        "INVALID_PRIZE",
        "UNKNOWN_TIER",
        "INVALID_CLOSE_TIME",
        "INVALID_WINNERS",
        "INVALID_ENTRY_COST",
        "INVALID_MAX_ENTRIES",
    ],
    "the draw",
)
EnterDrawError = payload_error(
    "EnterDraw",
    [
        "NOT_ENROLLED",
        "MEMBER_INACTIVE",
        "UNKNOWN_DRAW",
        "DRAW_CLOSED",
        "NOT_ELIGIBLE",
        "ENTRY_LIMIT_REACHED",
        "NOT_ENOUGH_POINTS",
        "INVALID_IDEMPOTENCY_KEY",
        "IDEMPOTENCY_CONFLICT",
    ],
    "the entry",
)
RunDrawError = payload_error("RunDraw", ["UNKNOWN_DRAW", "DRAW_NOT_CLOSED"], "running the draw")


@strawberry.input(
    description="A new prize draw. The prize text is up to 200 characters per language."
)
class CreateDrawInput:
    prize: LocalizedTextInput = strawberry.field(description="What the winners get.")
    closes_at: datetime = strawberry.field(
        description="Tickets are taken until then (within the next 366 days); the draw job runs "
        "the draw soon after, or marketing with `runDraw`."
    )
    winners: int = strawberry.field(default=1, description="How many members win (1 to 1000).")
    min_tier: str | None = strawberry.field(
        default=None, description="Tier code a member needs at least (e.g. `gold`); null: all."
    )
    entry_cost: int = strawberry.field(
        default=0, description="Points a ticket costs, spent through the ledger (0 to 1,000,000)."
    )
    max_entries_per_member: int = strawberry.field(
        default=1, description="Tickets one member may take (1 to 100)."
    )

    def draft(self) -> DrawDraft:
        """The domain's draft."""
        return DrawDraft(
            prize=self.prize.texts(),
            closes_at=self.closes_at,
            winners=self.winners,
            min_tier=self.min_tier,
            entry_cost=self.entry_cost,
            max_entries=self.max_entries_per_member,
        )


@strawberry.type(description="Result of `createDraw`.")
class CreateDrawPayload:
    draw: Draw | None = strawberry.field(
        description="The new draw with its `seedCommitment` (texts in English)."
    )
    errors: list[CreateDrawError] = strawberry.field(  # type: ignore[valid-type]
        description="Why it was refused; empty on success."
    )


@strawberry.type(description="Result of `enterDraw`.")
class EnterDrawPayload:
    ticket: DrawTicket | None = strawberry.field(
        description="The ticket taken; a replay gets this same first ticket."
    )
    draw: Draw | None = strawberry.field(description="The draw with your tickets as they are now.")
    errors: list[EnterDrawError] = strawberry.field(  # type: ignore[valid-type]
        description="Why it was refused (nothing spent); empty on success."
    )


@strawberry.type(description="Result of `runDraw`.")
class RunDrawPayload:
    draw: Draw | None = strawberry.field(
        description="The drawn draw: its revealed `seed` and `winningTickets` (the same on "
        "every run)."
    )
    errors: list[RunDrawError] = strawberry.field(  # type: ignore[valid-type]
        description="Why it was refused; empty on success."
    )


async def _draw(info: Info, draw_id: int | None) -> Draw | None:
    """A draw afresh for a payload, after the commit."""
    return (await draws_of(info, [draw_id]))[0] if draw_id is not None else None


@strawberry.type(description="Prize-draw mutations.")
class BoardMutation:
    @strawberry.mutation(
        description="Marketing: open a prize draw (audited); its seed commitment is published now.",
        permission_classes=[IsStaff, StaffRateLimit],
    )
    async def create_draw(
        self,
        info: Info,
        input: Annotated[CreateDrawInput, strawberry.argument(description="The draw.")],
    ) -> CreateDrawPayload:
        """Create a draw."""
        draft = input.draft()
        row, errors = await perform(
            info, lambda uow, staff: create_draw(uow, draft=draft, staff=staff), CreateDrawError
        )
        return CreateDrawPayload(draw=await _draw(info, row.id if row else None), errors=errors)

    @strawberry.mutation(
        description="Take one ticket in an open draw, paying its entry cost in points.",
        permission_classes=[IsMember, EnterDrawRateLimit],
    )
    async def enter_draw(
        self,
        info: Info,
        draw_id: Annotated[strawberry.ID, strawberry.argument(description="The draw.")],
        idempotency_key: Annotated[
            str,
            strawberry.argument(
                description="Your key for this ticket (up to 128 characters): a retry with the "
                "same key answers the first ticket and spends nothing more."
            ),
        ],
    ) -> EnterDrawPayload:
        """Enter a draw as the signed-in member."""

        async def use_case(uow: UnitOfWork, member: Principal) -> Any:
            """Parse the id inside the attempt, so a bad one is a typed error too."""
            pk = draw_pk(str(draw_id))
            return await enter_draw(
                uow, uid=member.uid, draw_id=pk, idempotency_key=idempotency_key
            )

        row, errors = await perform(info, use_case, EnterDrawError)
        if row is None:
            return EnterDrawPayload(ticket=None, draw=None, errors=errors)
        ticket = DrawTicket(number=row.ticket, holder=row.holder, mine=True)
        return EnterDrawPayload(ticket=ticket, draw=await _draw(info, row.draw_id), errors=[])

    @strawberry.mutation(
        description="Marketing: draw a closed draw now (the draw job does it too): reveals the "
        "seed, picks the winners and notifies them. Running it again answers the same result.",
        permission_classes=[IsStaff, StaffRateLimit],
    )
    async def run_draw(
        self,
        info: Info,
        draw_id: Annotated[strawberry.ID, strawberry.argument(description="The draw.")],
    ) -> RunDrawPayload:
        """Run a draw."""

        async def use_case(uow: UnitOfWork, staff: Principal) -> Any:
            """Parse the id inside the attempt, so a bad one is a typed error too."""
            return await run_draw(uow, draw_id=draw_pk(str(draw_id)), actor=staff)

        row, errors = await perform(info, use_case, RunDrawError)
        return RunDrawPayload(draw=await _draw(info, row.id if row else None), errors=errors)
