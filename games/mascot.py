"""Catch the mascot: the spawn plan a seed decides, and the judgement of the catches an app reports.

The server draws a seed, derives the plan with `plan(seed, config)` and sends it to the app, which
only animates it. At the end the app reports catches (mascot id, milliseconds since the hunt
started); `judge` recomputes nothing but compares them with the plan: a catch counts only for a
real mascot, once, no sooner than a human can react after it appeared (`reaction_ms`) and no
later than it disappeared plus a small latency tolerance (`tolerance_ms`).

The plan is drawn from `SeededRng(seed, "mascot-plan")`, per spawn in order: visible time
(`between(visible_min_ms, visible_max_ms)`, two thirds of it for a golden one), golden
(`below(1000) < golden_per_mille`), appear time (`between(0, duration_ms - visible)`), x and y
(`unit()` rounded to 4 decimals). Spawns are then ordered by appear time (draw order on ties)
and numbered 1, 2, … in that order.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from games.rng import SeededRng

PLAN_MESSAGE = "mascot-plan"


@dataclass(frozen=True)
class HuntConfig:
    """How a hunt plays: its length, its spawns, the timing rules and the points."""

    duration_ms: int = 30_000
    spawns: int = 12
    visible_min_ms: int = 900
    visible_max_ms: int = 1_800
    golden_per_mille: int = 80
    reaction_ms: int = 150
    tolerance_ms: int = 250
    points_per_catch: int = 5
    golden_bonus: int = 25
    suspicious_rejections: int = 3

    def __post_init__(self) -> None:
        """Refuse a configuration no plan can follow."""
        if not 1_000 <= self.duration_ms <= 300_000 or not 1 <= self.spawns <= 50:
            raise ValueError("a hunt lasts 1 to 300 s with 1 to 50 spawns")
        if not 100 <= self.visible_min_ms <= self.visible_max_ms <= self.duration_ms:
            raise ValueError("visibility must be at least 100 ms and fit in the hunt")
        if not 0 <= self.golden_per_mille <= 1000:
            raise ValueError("golden_per_mille must be between 0 and 1000")
        if min(self.reaction_ms, self.tolerance_ms, self.points_per_catch, self.golden_bonus) < 0:
            raise ValueError("times and points cannot be negative")
        if self.suspicious_rejections < 1:
            raise ValueError("suspicious_rejections must be at least 1")


@dataclass(frozen=True)
class Spawn:
    """One mascot of the plan: when it appears, for how long, where, and whether it is golden."""

    mascot_id: int
    appear_ms: int
    visible_ms: int
    x: float
    y: float
    golden: bool

    @property
    def disappear_ms(self) -> int:
        """When the mascot is gone (ms since the hunt started)."""
        return self.appear_ms + self.visible_ms


@dataclass(frozen=True)
class Catch:
    """A catch as the app reports it."""

    mascot_id: int
    caught_at_ms: int


class Rejection(enum.StrEnum):
    """Why a reported catch does not count."""

    UNKNOWN_MASCOT = "unknown_mascot"  # no such mascot in the plan (forged)
    ALREADY_CAUGHT = "already_caught"  # reported before, at an earlier or equal time
    TOO_FAST = "too_fast"  # before it appeared, or quicker than a human reacts
    OUT_OF_WINDOW = "out_of_window"  # after it disappeared (beyond the tolerance)


@dataclass(frozen=True)
class Verdict:
    """What a hunt's catches are worth: the accepted ones, the refused ones with why, the points."""

    accepted: tuple[Catch, ...]
    rejected: tuple[tuple[Catch, Rejection], ...]
    points: int
    golden: int
    suspicious: bool


def plan(seed: bytes, config: HuntConfig) -> tuple[Spawn, ...]:
    """The spawn plan of a seed: the same seed and config always give the same plan."""
    rng = SeededRng(seed, PLAN_MESSAGE)
    drawn = []
    for _ in range(config.spawns):
        visible = rng.between(config.visible_min_ms, config.visible_max_ms)
        golden = rng.below(1000) < config.golden_per_mille
        if golden:  # golden ones are fleeting
            visible = max(100, visible * 2 // 3)
        appear = rng.between(0, config.duration_ms - visible)
        x, y = round(rng.unit(), 4), round(rng.unit(), 4)
        drawn.append((appear, visible, x, y, golden))
    drawn.sort(key=lambda spawn: spawn[0])  # stable: draw order on ties
    return tuple(Spawn(i, *spawn) for i, spawn in enumerate(drawn, start=1))


def rejection(spawn: Spawn | None, catch: Catch, config: HuntConfig) -> Rejection | None:
    """Why one first report of a mascot does not count, or None when it does."""
    if spawn is None:
        return Rejection.UNKNOWN_MASCOT
    if catch.caught_at_ms < spawn.appear_ms + config.reaction_ms:
        return Rejection.TOO_FAST
    if catch.caught_at_ms > spawn.disappear_ms + config.tolerance_ms:
        return Rejection.OUT_OF_WINDOW
    return None


def judge(spawns: tuple[Spawn, ...], catches: list[Catch], config: HuntConfig) -> Verdict:
    """Judge reported catches against the plan, in time order; each mascot counts at most once.

    A hunt is suspicious when at least `suspicious_rejections` catches were forged or too fast.
    """
    by_id = {spawn.mascot_id: spawn for spawn in spawns}
    seen: set[int] = set()
    accepted: list[Catch] = []
    rejected: list[tuple[Catch, Rejection]] = []
    points = golden = 0
    for catch in sorted(catches, key=lambda c: c.caught_at_ms):
        spawn = by_id.get(catch.mascot_id)
        reason = Rejection.ALREADY_CAUGHT if catch.mascot_id in seen else None
        reason = reason or rejection(spawn, catch, config)
        seen.add(catch.mascot_id)
        if reason is not None:
            rejected.append((catch, reason))
            continue
        assert spawn is not None
        accepted.append(catch)
        points += config.points_per_catch + (config.golden_bonus if spawn.golden else 0)
        golden += spawn.golden
    cheats = sum(r in (Rejection.UNKNOWN_MASCOT, Rejection.TOO_FAST) for _, r in rejected)
    return Verdict(
        tuple(accepted), tuple(rejected), points, golden, cheats >= config.suspicious_rejections
    )


def capped(points: int, *, earned_today: int, daily_cap: int) -> int:
    """The points a hunt may still award today under the daily cap on game points."""
    return max(0, min(points, daily_cap - earned_today))
