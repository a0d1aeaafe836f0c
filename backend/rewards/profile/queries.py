"""Read side of StyleID: lean Core selects for loaders, the option lists and personalization."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Row, bindparam, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from backend.db import prepared
from backend.db.tables import StyleOption, StyleProfile
from backend.rewards.profile.rules import Options, StyleKind

PROFILE = StyleProfile.__table__  # type: ignore[attr-defined]
OPTION = StyleOption.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class PublishedOption:
    """An option members may choose now, with its labels by language."""

    kind: StyleKind
    code: str
    labels: dict[str, str]


PROFILES_OF = select(PROFILE).where(PROFILE.c.member_id.in_(bindparam("ids", expanding=True)))


@dataclass(frozen=True)
class ProfilesOf:
    """Stored profiles by member id, in the order asked, None where a member has none yet
    (a read that joins the request's batch, see `backend.rewards.queries.Read`)."""

    member_ids: tuple[int, ...]

    def run(self, conn: Connection) -> list[Row[Any] | None]:
        """One statement for all the members."""
        found = {
            row.member_id: row for row in prepared.rows(conn, PROFILES_OF, {"ids": self.member_ids})
        }
        return [found.get(i) for i in self.member_ids]


async def published_options(conn: AsyncConnection) -> list[PublishedOption]:
    """Every option not retired, list by list, in display order."""
    stmt = (
        select(OPTION.c.kind, OPTION.c.code, OPTION.c.labels)
        .where(OPTION.c.retired.is_(False))
        .order_by(OPTION.c.kind, OPTION.c.position, OPTION.c.code)
    )
    rows = (await conn.execute(stmt)).all()
    return [PublishedOption(StyleKind(r.kind), r.code, dict(r.labels)) for r in rows]


async def choosable(db: AsyncSession | AsyncConnection) -> Options:
    """The codes a member may choose now, per list."""
    stmt = select(OPTION.c.kind, OPTION.c.code).where(OPTION.c.retired.is_(False))
    codes: dict[StyleKind, set[str]] = {kind: set() for kind in StyleKind}
    for kind, code in (await db.execute(stmt)).all():
        codes[StyleKind(kind)].add(code)
    return {kind: frozenset(found) for kind, found in codes.items()}


async def is_choosable(db: AsyncSession | AsyncConnection, kind: StyleKind, code: str) -> bool:
    """Tell whether members may choose this option now (published, not retired)."""
    stmt = select(OPTION.c.code).where(
        OPTION.c.kind == kind.value, OPTION.c.code == code, OPTION.c.retired.is_(False)
    )
    return (await db.execute(stmt)).first() is not None


OptionLabelMap = dict[tuple[StyleKind, str], dict[str, str]]
ALL_OPTION_LABELS = select(OPTION.c.kind, OPTION.c.code, OPTION.c.labels)


async def option_labels(db: AsyncSession | AsyncConnection) -> OptionLabelMap:
    """Labels by language of every StyleID option, retired or not, by (kind, code): the few
    hundred rows of a catalogue that offer reasons name (kept for every request, `SharedValue`)."""
    rows = (await db.execute(ALL_OPTION_LABELS)).all()
    return {(StyleKind(r.kind), r.code): dict(r.labels) for r in rows}
