"""Hunt mutations: a member starts a hunt and finishes it once."""

from __future__ import annotations

from typing import Annotated, Any

import strawberry

from backend.api.context import Info
from backend.api.errors import payload_error
from backend.api.games.hunts.types import MascotHunt, MascotHuntResult, hunt_pk
from backend.api.permissions import IsMember, MascotHuntRateLimit
from backend.api.units import perform
from backend.rewards.games.mascot.rules import MAX_CATCHES
from backend.rewards.games.mascot.services import finish_hunt, start_hunt
from backend.rewards.ports import Principal
from backend.rewards.uow import UnitOfWork
from games.mascot import Catch

StartMascotHuntError = payload_error(
    "StartMascotHunt",
    [
        "NOT_ENROLLED",
        "MEMBER_INACTIVE",
        "NO_HUNTS_LEFT",
        "INVALID_IDEMPOTENCY_KEY",
    ],
    "the hunt",
)
FinishMascotHuntError = payload_error(
    "FinishMascotHunt",
    ["NOT_ENROLLED", "MEMBER_INACTIVE", "UNKNOWN_HUNT", "HUNT_EXPIRED", "TOO_MANY_CATCHES"],
    "the finish",
)


@strawberry.input(description="A mascot the player caught, as the app saw it.")
class MascotCatchInput:
    mascot_id: int = strawberry.field(description="The mascot's `mascotId` in the plan.")
    caught_at_ms: int = strawberry.field(
        description="When it was tapped, in ms after the hunt's start (as the app animated it)."
    )


@strawberry.type(description="Result of `startMascotHunt`.")
class StartMascotHuntPayload:
    hunt: MascotHunt | None = strawberry.field(
        description="The hunt to animate; a replay of the key gets this same hunt."
    )
    errors: list[StartMascotHuntError] = strawberry.field(  # type: ignore[valid-type]
        description="Why no hunt was started; empty on success."
    )


@strawberry.type(description="Result of `finishMascotHunt`.")
class FinishMascotHuntPayload:
    result: MascotHuntResult | None = strawberry.field(
        description="What the hunt earned; every later finish of the hunt answers this same result."
    )
    errors: list[FinishMascotHuntError] = strawberry.field(  # type: ignore[valid-type]
        description="Why the finish was refused (nothing changed); empty on success."
    )


@strawberry.type(description="Hunt mutations.")
class HuntsMutation:
    @strawberry.mutation(
        description="Start a hunt of catch the mascot: the server draws the plan the app "
        "animates. Counts against the member's hunts of their local day.",
        permission_classes=[IsMember, MascotHuntRateLimit],
    )
    async def start_mascot_hunt(
        self,
        info: Info,
        idempotency_key: Annotated[
            str | None,
            strawberry.argument(
                description="Your key for this start (up to 128 characters): a retry with the "
                "same key answers the same hunt and uses no other."
            ),
        ] = None,
    ) -> StartMascotHuntPayload:
        """Open a hunt for the signed-in member."""
        hunt, errors = await perform(
            info,
            lambda uow, p: start_hunt(uow, uid=p.uid, idempotency_key=idempotency_key),
            StartMascotHuntError,
        )
        return StartMascotHuntPayload(hunt=MascotHunt.of(hunt) if hunt else None, errors=errors)

    @strawberry.mutation(
        description="Finish a hunt with the catches the player made: the server judges them "
        "against the hunt's plan and credits their points once. A hunt is finished once; a "
        "repeated or concurrent finish changes nothing and answers the first result.",
        permission_classes=[IsMember],
    )
    async def finish_mascot_hunt(
        self,
        info: Info,
        session_id: Annotated[
            strawberry.ID,
            strawberry.argument(description="The hunt's `id` from `startMascotHunt`."),
        ],
        catches: Annotated[
            list[MascotCatchInput],
            strawberry.argument(description=f"The mascots caught, at most {MAX_CATCHES}."),
        ],
    ) -> FinishMascotHuntPayload:
        """Judge and credit the signed-in member's hunt."""
        reported = [Catch(c.mascot_id, c.caught_at_ms) for c in catches]

        async def use_case(uow: UnitOfWork, member: Principal) -> Any:
            """Parse the id inside the attempt, so a bad one is a typed error too."""
            pk = hunt_pk(str(session_id))
            return await finish_hunt(uow, uid=member.uid, hunt_id=pk, catches=reported)

        result, errors = await perform(info, use_case, FinishMascotHuntError)
        answer = MascotHuntResult.of(result) if result else None
        return FinishMascotHuntPayload(result=answer, errors=errors)
