"""Hunt use cases: a member starts a hunt (a seeded plan) and finishes it once (points, flag).

Both run under the member's row lock (`uow.lock_member`): two starts cannot both take the last
hunt of the day, and a finish, replayed or concurrent, finds the hunt's stored result once the
first finish committed, so the points are credited once.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, cast

from sqlalchemy import func, select
from sqlmodel import col

from backend.db.tables import MascotHunt
from backend.rewards import idempotency
from backend.rewards.errors import DomainError, NotFound
from backend.rewards.games.mascot.rules import (
    MAX_CATCHES,
    HuntRules,
    current_rules,
    hunts_left,
)
from backend.rewards.ledger import Posting, Source, credit
from backend.rewards.members.rules import local_day
from backend.rewards.text import TextField, clean
from backend.rewards.uow import LockedMember, UnitOfWork
from games.mascot import Catch, Rejection, Spawn, capped, judge, plan
from games.rng import commitment

KEY = TextField("INVALID_IDEMPOTENCY_KEY", "idempotencyKey", "The idempotency key", 128)
START_SCOPE = "start_mascot_hunt"
FINISH_SCOPE = "finish_mascot_hunt"
SEED_BYTES = 32
random_bytes: Callable[[int], bytes] = secrets.token_bytes


@dataclass(frozen=True)
class Hunt:
    """A started hunt as the app animates it: the plan, the deadline and the rules."""

    id: int
    started_at: datetime
    deadline: datetime
    finish_by: datetime
    rules: HuntRules
    spawns: tuple[Spawn, ...]
    seed_commitment: str
    hunts_left: int

    @classmethod
    def of(cls, row: MascotHunt, *, hunts_left: int) -> Hunt:
        """The hunt of a row, its plan recomputed from the stored seed and rules."""
        rules = HuntRules.of(row.config)
        seed = bytes.fromhex(row.seed)
        return cls(
            id=cast(int, row.id),
            started_at=row.started_at,
            deadline=row.deadline,
            finish_by=row.deadline + timedelta(milliseconds=rules.grace_ms),
            rules=rules,
            spawns=plan(seed, rules.play),
            seed_commitment=commitment(seed),
            hunts_left=hunts_left,
        )


@dataclass(frozen=True)
class HuntResult:
    """A finished hunt: what counted, what did not and why, the points awarded and the seed."""

    hunt_id: int
    accepted: tuple[Catch, ...]
    rejected: tuple[tuple[Catch, Rejection], ...]
    points: int
    earned: int
    golden: int
    flagged: bool
    finished_at: datetime
    seed: str

    def as_json(self) -> dict[str, Any]:
        """The result as stored with the hunt (a replay answers it)."""
        return {
            "accepted": [[c.mascot_id, c.caught_at_ms] for c in self.accepted],
            "rejected": [[c.mascot_id, c.caught_at_ms, r.value] for c, r in self.rejected],
            "points": self.points,
            "earned": self.earned,
            "golden": self.golden,
        }

    @classmethod
    def of(cls, row: Any) -> HuntResult:
        """The stored result of a finished hunt row."""
        stored = row.result
        return cls(
            hunt_id=row.id,
            accepted=tuple(Catch(m, t) for m, t in stored["accepted"]),
            rejected=tuple((Catch(m, t), Rejection(r)) for m, t, r in stored["rejected"]),
            points=int(stored["points"]),
            earned=int(stored["earned"]),
            golden=int(stored["golden"]),
            flagged=bool(row.flagged),
            finished_at=row.finished_at,
            seed=row.seed,
        )


async def _locked_member(uow: UnitOfWork, uid: str) -> LockedMember:
    """The signed-in user's membership, locked, or NOT_ENROLLED."""
    member = await uow.lock_member_by("uid", uid)
    if member is None:
        raise NotFound("NOT_ENROLLED", "Enrol before playing.")
    return member


def _check_active(member: LockedMember) -> None:
    """Refuse a suspended or erased membership."""
    if member.status != "active":
        raise DomainError("MEMBER_INACTIVE", "That membership is not active.")


async def _started_on(uow: UnitOfWork, member_id: int, day: date) -> tuple[int, int]:
    """How many hunts the member started on a local day, and the points they awarded."""
    stmt = select(func.count(), func.coalesce(func.sum(col(MascotHunt.points)), 0)).where(
        col(MascotHunt.member_id) == member_id, col(MascotHunt.local_day) == day
    )
    count, points = (await uow.session.execute(stmt)).one()
    return int(count), int(points)


async def start_hunt(uow: UnitOfWork, *, uid: str, idempotency_key: str | None) -> Hunt:
    """Open a hunt with a fresh seed, if the member has a hunt left on their local day.

    With a key, a replay answers the hunt the first request opened (the same plan).
    """
    key = None if idempotency_key is None else clean(idempotency_key, KEY)
    member = await _locked_member(uow, uid)
    member_id = cast(int, member.id)
    scoped = None if key is None else idempotency.pair_key(str(member_id), key)
    if scoped is not None:
        earlier = await idempotency.replay(
            uow, scope=START_SCOPE, key=scoped, payload={}, field="idempotencyKey"
        )
        if earlier is not None:
            row = await uow.session.get_one(MascotHunt, int(earlier["hunt_id"]))
            return Hunt.of(row, hunts_left=int(earlier["hunts_left"]))
    _check_active(member)
    program = await uow.rules()
    rules = current_rules(program)
    day = local_day(uow.now, member.time_zone)
    started, _ = await _started_on(uow, member_id, day)
    if started >= rules.daily_hunts:
        raise DomainError(
            "NO_HUNTS_LEFT",
            f"All {rules.daily_hunts} hunts of today are played; come back tomorrow.",
        )
    claimed = None
    if scoped is not None:
        claimed = await idempotency.claim(uow, scope=START_SCOPE, key=scoped, payload={})
    row = MascotHunt(
        member_id=member_id,
        seed=random_bytes(SEED_BYTES).hex(),
        config=dict(program.setting("mascot_hunt")),
        local_day=day,
        started_at=uow.now,
        deadline=uow.now + timedelta(milliseconds=rules.play.duration_ms),
    )
    await uow.insert(row)
    left = hunts_left(rules.daily_hunts, started + 1)
    if claimed is not None:
        idempotency.remember(claimed, {"hunt_id": row.id, "hunts_left": left})
    await uow.commit()
    return Hunt.of(row, hunts_left=left)


def _check_catches(catches: list[Catch]) -> None:
    """Refuse an oversized report before anything is read."""
    if len(catches) > MAX_CATCHES:
        raise DomainError(
            "TOO_MANY_CATCHES", f"Report at most {MAX_CATCHES} catches.", field="catches"
        )


async def _own_hunt(uow: UnitOfWork, hunt_id: int, member_id: int) -> MascotHunt:
    """The member's hunt, locked and read afresh, or UNKNOWN_HUNT (others' hunts too)."""
    stmt = select(MascotHunt).where(col(MascotHunt.id) == hunt_id).with_for_update()
    stmt = stmt.execution_options(populate_existing=True)
    hunt = (await uow.session.execute(stmt)).scalar()
    if hunt is None or hunt.member_id != member_id:
        raise NotFound("UNKNOWN_HUNT", "No such hunt.", field="sessionId")
    return hunt


async def finish_hunt(
    uow: UnitOfWork, *, uid: str, hunt_id: int, catches: list[Catch]
) -> HuntResult:
    """Judge the reported catches once and credit their points (within the daily cap).

    A finished hunt answers its stored result to every later finish, whatever it reports.
    """
    _check_catches(catches)
    member = await _locked_member(uow, uid)
    hunt = await _own_hunt(uow, hunt_id, cast(int, member.id))
    if hunt.result is not None:
        return HuntResult.of(hunt)
    _check_active(member)
    rules = HuntRules.of(hunt.config)
    if uow.now > hunt.deadline + timedelta(milliseconds=rules.grace_ms):
        raise DomainError("HUNT_EXPIRED", "This hunt ended too long ago to be finished.")
    verdict = judge(plan(bytes.fromhex(hunt.seed), rules.play), catches, rules.play)
    _, earned_today = await _started_on(uow, hunt.member_id, hunt.local_day)
    points = capped(verdict.points, earned_today=earned_today, daily_cap=rules.daily_points_cap)
    # A second guard beside the lock: a twin finish collides on this key and runs again.
    await idempotency.claim(uow, scope=FINISH_SCOPE, key=str(hunt.id), payload={"hunt": hunt.id})
    if points:
        posting = Posting("Catch the mascot", Source.GAME, f"mascot-hunt:{hunt.id}", member.uid)
        lifetime = int((await uow.rules()).setting("lot_lifetime_months"))
        await credit(uow, member=member, points=points, posting=posting, lifetime_months=lifetime)
    result = HuntResult(
        hunt_id=cast(int, hunt.id),
        accepted=verdict.accepted,
        rejected=verdict.rejected,
        points=points,
        earned=verdict.points,
        golden=verdict.golden,
        flagged=verdict.suspicious,
        finished_at=uow.now,
        seed=hunt.seed,
    )
    hunt.finished_at, hunt.points, hunt.flagged = uow.now, points, verdict.suspicious
    hunt.result = result.as_json()
    await uow.commit()
    return result
