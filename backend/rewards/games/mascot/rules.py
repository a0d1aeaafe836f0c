"""The hunt rules as the program stores them, and the member's local day hunts count on."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from backend.rewards.program import ProgramRules
from games.mascot import HuntConfig

SETTING = "mascot_hunt"  # the program setting holding the rules of new hunts
MAX_CATCHES = 100  # a finish reports at most this many catches (a plan has at most 50 spawns)
_PLAY = {f.name for f in fields(HuntConfig)}


@dataclass(frozen=True)
class HuntRules:
    """The rules of play, the grace after the deadline and the daily caps of one member."""

    play: HuntConfig
    grace_ms: int
    daily_hunts: int
    daily_points_cap: int

    @classmethod
    def of(cls, stored: dict[str, Any]) -> HuntRules:
        """Read the rules stored with a hunt, or in the program setting."""
        return cls(
            play=HuntConfig(**{k: int(v) for k, v in stored.items() if k in _PLAY}),
            grace_ms=int(stored["grace_ms"]),
            daily_hunts=int(stored["daily_hunts"]),
            daily_points_cap=int(stored["daily_points_cap"]),
        )


def current_rules(program: ProgramRules) -> HuntRules:
    """The rules a hunt started now plays by."""
    return HuntRules.of(dict(program.setting(SETTING)))


def daily_hunts(program: ProgramRules) -> int:
    """Hunts a member may start a day under the current rules (the dashboard's one figure)."""
    return int(program.setting(SETTING)["daily_hunts"])


def hunts_left(daily: int, started_today: int) -> int:
    """Hunts the member may still start today, of `daily`."""
    return max(0, daily - started_today)
