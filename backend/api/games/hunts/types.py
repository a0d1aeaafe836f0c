"""Hunt types, converted explicitly from the domain's hunts and results."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import strawberry
from strawberry import relay

from backend.api.types import parse_global_id
from backend.rewards.errors import NotFound
from backend.rewards.games.mascot.services import Hunt, HuntResult
from games.mascot import Catch, Rejection, Spawn

MascotCatchRejection = strawberry.enum(
    Rejection,
    name="MascotCatchRejection",
    description="Why a reported catch did not count: UNKNOWN_MASCOT (not in the hunt's plan), "
    "ALREADY_CAUGHT (that mascot was reported before), TOO_FAST (before it appeared, or sooner "
    "after appearing than `reactionMs`), OUT_OF_WINDOW (after it disappeared, beyond "
    "`toleranceMs`).",
)
KIND = "MascotHunt"


def hunt_id(pk: int) -> strawberry.ID:
    """The global id of a hunt."""
    return strawberry.ID(relay.to_base64(KIND, pk))


def hunt_pk(global_id: str) -> int:
    """The row id of a hunt's global id, or UNKNOWN_HUNT (no SQL for ids never given out)."""
    parsed = parse_global_id(global_id)
    if parsed is None or parsed[0] != KIND:
        raise NotFound("UNKNOWN_HUNT", "No such hunt.", field="sessionId")
    return parsed[1]


@strawberry.type(description="One mascot of a hunt's plan; times count from the hunt's start.")
class MascotSpawn:
    mascot_id: int = strawberry.field(description="The mascot's number in the hunt (1, 2, …).")
    appear_at_ms: int = strawberry.field(description="When it appears, in ms after `startedAt`.")
    visible_ms: int = strawberry.field(description="How long it stays visible, in ms.")
    disappear_at_ms: int = strawberry.field(description="When it is gone, in ms after `startedAt`.")
    x: float = strawberry.field(description="Horizontal position, 0 (left) to 1 (right).")
    y: float = strawberry.field(description="Vertical position, 0 (top) to 1 (bottom).")
    golden: bool = strawberry.field(description="A rare golden mascot, worth `goldenBonus` more.")

    @classmethod
    def of(cls, spawn: Spawn) -> MascotSpawn:
        """Convert a spawn of the plan."""
        return cls(
            mascot_id=spawn.mascot_id,
            appear_at_ms=spawn.appear_ms,
            visible_ms=spawn.visible_ms,
            disappear_at_ms=spawn.disappear_ms,
            x=spawn.x,
            y=spawn.y,
            golden=spawn.golden,
        )


@strawberry.type(
    description="A hunt the server opened: the plan the app animates and the rules it is judged by."
)
class MascotHunt:
    id: strawberry.ID = strawberry.field(
        description="The hunt's id, for `finishMascotHunt(sessionId:)`."
    )
    started_at: datetime = strawberry.field(description="When the hunt started (time 0 ms).")
    duration_ms: int = strawberry.field(description="How long the hunt lasts, in ms.")
    deadline: datetime = strawberry.field(
        description="When the hunt ends: `startedAt + durationMs`."
    )
    finish_by: datetime = strawberry.field(
        description="`finishMascotHunt` is accepted until then (the deadline plus a grace for "
        "slow networks); later it is refused with HUNT_EXPIRED."
    )
    spawns: list[MascotSpawn] = strawberry.field(
        description="The plan, in order of appearance; at most 50 mascots."
    )
    reaction_ms: int = strawberry.field(
        description="A catch sooner than this after the mascot appeared does not count."
    )
    tolerance_ms: int = strawberry.field(
        description="A catch up to this long after the mascot disappeared still counts (latency)."
    )
    points_per_catch: int = strawberry.field(description="Points for each mascot caught.")
    golden_bonus: int = strawberry.field(description="Extra points for a golden mascot.")
    seed_commitment: str = strawberry.field(
        description="SHA-256 (hex) of the server seed the plan was drawn from; the seed is "
        "revealed in the result."
    )
    hunts_left_today: int = strawberry.field(
        description="Hunts the member may still start on their local day, after this one."
    )

    @classmethod
    def of(cls, hunt: Hunt) -> MascotHunt:
        """Convert a started hunt."""
        play = hunt.rules.play
        return cls(
            id=hunt_id(hunt.id),
            started_at=hunt.started_at,
            duration_ms=play.duration_ms,
            deadline=hunt.deadline,
            finish_by=hunt.finish_by,
            spawns=[MascotSpawn.of(s) for s in hunt.spawns],
            reaction_ms=play.reaction_ms,
            tolerance_ms=play.tolerance_ms,
            points_per_catch=play.points_per_catch,
            golden_bonus=play.golden_bonus,
            seed_commitment=hunt.seed_commitment,
            hunts_left_today=hunt.hunts_left,
        )


@strawberry.type(description="A catch that counted.")
class MascotCatch:
    mascot_id: int = strawberry.field(description="The mascot caught.")
    caught_at_ms: int = strawberry.field(description="When, in ms after the hunt's start.")

    @classmethod
    def of(cls, catch: Catch) -> MascotCatch:
        """Convert a catch."""
        return cls(mascot_id=catch.mascot_id, caught_at_ms=catch.caught_at_ms)


@strawberry.type(description="A reported catch that did not count, and why.")
class RejectedMascotCatch:
    mascot_id: int = strawberry.field(description="The mascot id as reported.")
    caught_at_ms: int = strawberry.field(description="The time as reported, in ms.")
    reason: MascotCatchRejection = strawberry.field(description="Why it did not count.")  # type: ignore[valid-type]


@strawberry.type(description="What a finished hunt earned; every later finish answers the same.")
class MascotHuntResult:
    hunt_id: strawberry.ID = strawberry.field(description="The hunt.")
    caught: list[MascotCatch] = strawberry.field(description="Catches that counted, in time order.")
    rejected: list[RejectedMascotCatch] = strawberry.field(
        description="Catches that did not count, in time order, each with its reason."
    )
    golden_caught: int = strawberry.field(description="Golden mascots among `caught`.")
    points_earned: int = strawberry.field(description="What the catches were worth.")
    points_awarded: int = strawberry.field(
        description="Points credited: `pointsEarned`, less what is over the daily cap on hunt points."
    )
    finished_at: datetime = strawberry.field(description="When the hunt was finished.")
    seed: str = strawberry.field(
        description="The server seed (hex), revealed: its SHA-256 is the hunt's `seedCommitment`."
    )

    @classmethod
    def of(cls, result: HuntResult) -> MascotHuntResult:
        """Convert a hunt's result."""
        return cls(
            hunt_id=hunt_id(result.hunt_id),
            caught=[MascotCatch.of(c) for c in result.accepted],
            rejected=[
                RejectedMascotCatch(mascot_id=c.mascot_id, caught_at_ms=c.caught_at_ms, reason=r)
                for c, r in result.rejected
            ],
            golden_caught=result.golden,
            points_earned=result.earned,
            points_awarded=result.points,
            finished_at=result.finished_at,
            seed=result.seed,
        )


@strawberry.type(
    description="Staff: a hunt flagged as suspicious (many forged or too-fast catches)."
)
class FlaggedMascotHunt:
    id: strawberry.ID = strawberry.field(description="The hunt's id.")
    member_reference: str = strawberry.field(description="Card number of the member who played.")
    started_at: datetime = strawberry.field(description="When the hunt started.")
    result: MascotHuntResult = strawberry.field(description="What the finish reported and earned.")

    @classmethod
    def of(cls, row: Any) -> FlaggedMascotHunt:
        """Convert a flagged hunt row joined with its member's card number."""
        return cls(
            id=hunt_id(row.id),
            member_reference=row.card_number,
            started_at=row.started_at,
            result=MascotHuntResult.of(HuntResult.of(row)),
        )
