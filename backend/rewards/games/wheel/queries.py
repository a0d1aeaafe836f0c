"""Read side of the wheel: one read of the request's batch for the wheel, a member's spins and the budget."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from types import SimpleNamespace
from typing import Any, ClassVar

from sqlalchemy import Connection, Row, bindparam, select, true

from backend.db import prepared
from backend.db.tables import WheelBudget, WheelConfig, WheelPlayer
from backend.rewards.games.wheel.rules import (
    Config,
    budget_day,
    free_used_on,
    next_local_midnight,
)
from backend.rewards.members.rules import local_day
from backend.rewards.queries import MEMBER, Carried, learn
from games.wheel import Allowance, allowance

CONFIG = WheelConfig.__table__  # type: ignore[attr-defined]
PLAYER = WheelPlayer.__table__  # type: ignore[attr-defined]
BUDGET = WheelBudget.__table__  # type: ignore[attr-defined]
_LATEST = select(CONFIG).order_by(CONFIG.c.id.desc()).limit(1).subquery()
# The newest wheel with the member's state and today's payouts beside it: one statement, no row
# while there is no wheel.
WHEEL_NOW = select(
    _LATEST,
    PLAYER.c.member_id.label("player"),
    PLAYER.c.commitment,
    PLAYER.c.nonce,
    PLAYER.c.extra_spins,
    PLAYER.c.free_day,
    PLAYER.c.free_used,
    BUDGET.c.points.label("paid"),
).select_from(
    _LATEST.outerjoin(PLAYER, PLAYER.c.member_id == bindparam("member_id")).outerjoin(
        BUDGET, BUDGET.c.day == bindparam("day")
    )
)


@dataclass(frozen=True)
class WheelState:
    """The wheel as a member sees it now: config, spins left, refill time, commitment, budget."""

    config: Config | None
    left: Allowance
    next_free_spin_at: datetime
    commitment: str | None  # None until the member's first seed is committed
    nonce: int
    points_left: int | None  # of today's budget; None: no budget


def points_left(config: Config | None, paid_today: int) -> int | None:
    """What is left of today's points budget (None: no budget)."""
    if config is None or config.wheel.daily_points_budget is None:
        return None
    return max(config.wheel.daily_points_budget - paid_today, 0)


@dataclass(frozen=True)
class WheelNow:
    """The wheel for one member (None: the wheel alone, for staff) as of `now` (a read of the
    request's batch, see `queries.Read`)."""

    member_id: int | None
    time_zone: str
    now: datetime

    def run(self, conn: Connection) -> WheelState:
        """One statement: the wheel, the member's state and today's payouts."""
        params = {"member_id": self.member_id, "day": budget_day(self.now)}
        row = prepared.first(conn, WHEEL_NOW, params)
        if row is None:
            return self.state(None, None, 0)
        return self.state(Config.of(row), row if row.player is not None else None, row.paid)

    def state(self, config: Config | None, player: Any, paid: int | None) -> WheelState:
        """The wheel state from the wheel, the member's row of `wheel_player` (or None) and
        today's payouts."""
        today = local_day(self.now, self.time_zone)
        used = free_used_on(
            today,
            free_day=player.free_day if player else None,
            free_used=player.free_used if player else 0,
        )
        return WheelState(
            config=config,
            left=allowance(
                config.wheel if config else None,
                free_used=used,
                extra=player.extra_spins if player else 0,
            ),
            next_free_spin_at=next_local_midnight(self.now, self.time_zone),
            commitment=player.commitment if player else None,
            nonce=player.nonce if player else 0,
            points_left=points_left(config, int(paid or 0)),
        )


# `WHEEL_NOW` as columns of the member's statement (`WheelFold`): the wheel's named apart from
# the member's, the member's state joined on their id.
_WHEEL = "wheel_"
_PLAYER_COLUMNS = ("commitment", "nonce", "extra_spins", "free_day", "free_used")


def _with_wheel(source: Any) -> Any:
    """`source` (the member's joins) with the newest wheel, the member's state and today's
    payouts: at most one row each."""
    return (
        source.outerjoin(_LATEST, true())
        .outerjoin(PLAYER, PLAYER.c.member_id == MEMBER.c.id)
        .outerjoin(BUDGET, BUDGET.c.day == bindparam("wheel_day"))
    )


@dataclass(frozen=True)
class WheelFold:
    """`WheelNow` of a member as columns of their statement (`queries.Fold`)."""

    now: datetime
    carried: ClassVar[Carried] = Carried(
        (
            *(column.label(_WHEEL + column.name) for column in _LATEST.c),
            PLAYER.c.member_id.label("player"),
            *(PLAYER.c[name] for name in _PLAYER_COLUMNS),
            BUDGET.c.points.label("paid"),
        ),
        _with_wheel,
    )

    def params(self) -> dict[str, Any]:
        """The budget's day."""
        return {"wheel_day": budget_day(self.now)}

    def learn(self, conn: Connection, row: Row[Any]) -> None:
        """Keep the member's wheel state; without a wheel, as `WHEEL_NOW`'s missing row."""
        read = WheelNow(row.id, row.time_zone, self.now)
        fields = row._mapping
        if fields[_WHEEL + "id"] is None:
            learn(conn, read, read.state(None, None, 0))
            return
        config = Config.of(SimpleNamespace(**{c.name: fields[_WHEEL + c.name] for c in _LATEST.c}))
        learn(conn, read, read.state(config, row if row.player is not None else None, row.paid))
