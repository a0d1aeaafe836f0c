"""Reads folded into the member's statement answer exactly what they answer on their own."""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial
from typing import Any

from sqlalchemy import Connection

from backend.rewards.games.leaderboard import Period, RankFold, RankOf, period_month
from backend.rewards.games.mascot.queries import HuntsFold, HuntsStarted
from backend.rewards.games.wheel.queries import WheelFold, WheelNow
from backend.rewards.notifications.queries import UnreadCount, UnreadFold
from backend.rewards.offers.facts import MEMBER_FACTS, FactsFold, FactsOf
from backend.rewards.queries import MemberByUid, MemberWith, run_batch
from tests.api.test_mascot_hunts import enrol, start
from tests.api.test_personal_offers import tea_drinker
from tests.api.test_wheel_api import P10, configure, spin
from tests.helpers import give

FACTS = [column.key for column in MEMBER_FACTS.selected_columns]


def reads_of(row: Any, now: datetime) -> list[Any]:
    """The reads the folds answer, for a member row as of `now`."""
    return [
        FactsOf(row.id, now),
        UnreadCount(row.id),
        HuntsStarted.today(row, now=now),
        RankOf(row.id, period_month(Period.CURRENT_MONTH, now)),
        WheelNow(row.id, row.time_zone, now),
    ]


def folds_of(now: datetime) -> tuple[Any, ...]:
    """Every fold, as `me` asks for them on the README dashboard."""
    month = period_month(Period.CURRENT_MONTH, now)
    return (FactsFold(now), UnreadFold(), HuntsFold(now), RankFold(month), WheelFold(now))


def comparable(answers: list[Any]) -> list[Any]:
    """The answers, the facts' row as its own columns (the member's row has more)."""
    facts, *rest = answers
    return [{key: facts._mapping[key] for key in FACTS}, *rest]


def alone_and_folded(conn: Connection, uid: str, now: datetime) -> tuple[list[Any], list[Any]]:
    """Each read run on its own, and the same reads answered by the member's statement."""
    row = run_batch(conn, [MemberByUid(uid)])[0]
    [(found, answered)] = run_batch(
        conn, [MemberWith(uid, partial(reads_of, now=now), folds_of(now))]
    )
    if row is None:  # no member: no row and no reads either way
        return [None], [found, *answered]
    alone = run_batch(conn, reads_of(row, now))
    return comparable(alone), comparable([answer for _, answer in answered])


async def test_each_folded_read_answers_as_it_does_alone(api, uows, database, clock):
    # Given a wheel with a budget, and members far west and east of UTC and on it
    await configure(api, [P10, P10], dailyPointsBudget=50, freeSpinsPerDay=2)
    await enrol(api, "west", "Pacific/Pago_Pago")
    await enrol(api, "east", "Pacific/Kiritimati")
    await tea_drinker(api, uows, "styled")  # StyleID, categories, points, notifications
    rich = await enrol(api, "rich", "Europe/Amsterdam")
    await give(uows, rich, 40)  # on this month's board
    for uid in ("east", "west", "rich"):
        await start(api, uid)  # a hunt on their local day
    assert (await spin(api, "rich", "k-1"))["errors"] == []  # their wheel state, paid today
    # When each reads their dashboard's member reads around the day's turn in every zone
    for hours in (-13, -1, 0, 11, 12, 13, 23, 37):
        now = clock.now() + timedelta(hours=hours)
        for uid in ("west", "east", "styled", "rich", "nobody"):
            alone, folded = await database.read(partial(alone_and_folded, uid=uid, now=now))
            # Then the member's statement answers every read as the read itself does
            assert folded == alone, (uid, hours)
