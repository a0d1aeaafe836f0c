"""Leaderboard and prize-draw types, converted explicitly from rows and reads."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any

import strawberry
from strawberry import relay

from backend.api.context import Info
from backend.api.types import connection, decode_cursor, page_size, parse_global_id, parse_pk
from backend.rewards.clubs.rules import FALLBACK, localize
from backend.rewards.errors import NotFound
from backend.rewards.games import draws
from backend.rewards.games.draw_reads import DRAW, MyTickets, TicketsPage
from backend.rewards.games.leaderboard import Period
from backend.rewards.ports import Role
from backend.rewards.program import ProgramRules
from backend.rewards.queries import ByIds, MemberByUid

LeaderboardPeriod = strawberry.enum(
    Period,
    name="LeaderboardPeriod",
    description="Which points a leaderboard ranks: CURRENT_MONTH, points earned in the current "
    "UTC calendar month (reversed and expired points taken off; staff adjustments never count).",
)
DrawStatus = strawberry.enum(
    draws.DrawStatus,
    name="DrawStatus",
    description="OPEN (taking tickets until `closesAt`), CLOSED (waiting for its run), DRAWN "
    "(winners picked, `seed` revealed).",
)


@strawberry.type(description="One member on the leaderboard.")
class LeaderboardEntry:
    rank: int = strawberry.field(
        description="Standard competition rank: tied members share the best rank and the next "
        "rank skips (1, 2, 2, 4)."
    )
    points: int = strawberry.field(description="Points earned in the period.")
    name: str = strawberry.field(
        description="The member's display name if they opted in (`leaderboardOptIn`), otherwise "
        "a stable anonymous name such as `Member #482913`."
    )
    anonymous: bool = strawberry.field(description="True when `name` is the anonymous name.")
    is_me: bool = strawberry.field(description="True on the signed-in member's own row.")


@strawberry.type(description="A leaderboard: the top members of a period and your place on it.")
class Leaderboard:
    period: LeaderboardPeriod = strawberry.field(description="What it ranks.")  # type: ignore[valid-type]
    starts_at: datetime = strawberry.field(description="Start of the period (UTC).")
    ends_at: datetime = strawberry.field(description="End of the period (UTC, exclusive).")
    entries: relay.Connection[LeaderboardEntry] = strawberry.field(
        description="Members with points in the period, most first (ties: newer membership first)."
    )
    my_rank: int | None = strawberry.field(
        description="Your rank in the period; null while you have earned nothing in it (and "
        "for staff)."
    )
    my_points: int = strawberry.field(description="Your points in the period (0 for staff).")


@dataclass(frozen=True)
class DrawViewer:
    """Who reads a draw: a member (id, language, tier) or staff (no member)."""

    member_id: int | None
    locale: str
    tier_position: int | None
    rules: ProgramRules


async def draw_viewer(info: Info) -> DrawViewer:
    """The calling member, or an English-reading staff viewer."""
    loaders = info.context.loaders
    rules = await loaders.rules()
    principal = info.context.principal
    row = None
    if principal is not None and principal.role == Role.MEMBER:
        row = await loaders.read(MemberByUid(principal.uid))
    if row is None:
        return DrawViewer(None, FALLBACK, None, rules)
    return DrawViewer(row.id, row.locale, rules.tier(row.tier_code).position, rules)


def draw_pk(global_id: str) -> int:
    """The row id of a Draw global id, or UNKNOWN_DRAW (no SQL for ids this API never gave out)."""
    parsed = parse_global_id(global_id)
    if parsed is None or parsed[0] != "Draw":
        raise NotFound("UNKNOWN_DRAW", "No draw has that id.", field="drawId")
    return parsed[1]


@strawberry.type(description="One ticket of a draw, as published for anyone to recompute it.")
class DrawTicket:
    number: int = strawberry.field(description="The ticket's number: 1, 2, … in the order taken.")
    holder: int = strawberry.field(
        description="The number of its holder's first ticket in this draw: equal for tickets of "
        "the same member, and no member id."
    )
    mine: bool = strawberry.field(description="True for your own tickets.")


@strawberry.type(
    description="A prize draw: members take tickets until `closesAt`; then the committed seed "
    "picks the winners (one prize per member), reproducibly: see the README's *Prize draws*."
)
class Draw(relay.Node):
    id: relay.NodeID[int]
    prize: str = strawberry.field(
        description="The prize in your language (en, ar, uk, nl), English otherwise."
    )
    closes_at: datetime = strawberry.field(description="Tickets are taken until then.")
    winners: int = strawberry.field(description="How many members win.")
    min_tier: str | None = strawberry.field(
        description="The tier code a member needs at least; null for everyone."
    )
    entry_cost: int = strawberry.field(description="Points a ticket costs (0: free).")
    max_entries_per_member: int = strawberry.field(description="Tickets one member may take.")
    ticket_count: int = strawberry.field(description="Tickets taken so far.")
    status: DrawStatus = strawberry.field(description="Open, closed or drawn, as of now.")  # type: ignore[valid-type]
    seed_commitment: str = strawberry.field(
        description="SHA-256 (hex) of the secret seed, published when the draw was created."
    )
    seed: str | None = strawberry.field(
        description="The seed (hex), revealed once drawn: SHA-256 of its bytes equals "
        "`seedCommitment`; null before."
    )
    drawn_at: datetime | None = strawberry.field(description="When it was drawn; null before.")
    winning_tickets: list[int] = strawberry.field(
        description="The winning ticket numbers in the order drawn; empty before the draw."
    )
    my_tickets: list[int] = strawberry.field(description="Your ticket numbers (empty for staff).")
    won: bool = strawberry.field(description="True when one of your tickets won.")
    eligible: bool = strawberry.field(
        description="Whether your tier lets you enter (true for staff and when open to all)."
    )
    mine: strawberry.Private[int | None]

    @classmethod
    def of(cls, row: Any, reader: DrawViewer, mine: list[int], *, now: datetime) -> Draw:
        """Convert a draw row for a viewer, with the viewer's tickets."""
        drawn = row.drawn_at is not None
        needed = reader.rules.tier(row.min_tier).position if row.min_tier else 0
        return cls(
            id=row.id,
            prize=localize(row.prize, reader.locale),
            closes_at=row.closes_at,
            winners=row.winners,
            min_tier=row.min_tier,
            entry_cost=row.entry_cost,
            max_entries_per_member=row.max_entries,
            ticket_count=row.tickets,
            status=draws.status(row, now),
            seed_commitment=row.seed_commitment,
            seed=row.seed if drawn else None,
            drawn_at=row.drawn_at,
            winning_tickets=list(row.winning_tickets),
            my_tickets=mine,
            won=bool(set(mine) & set(row.winning_tickets)),
            eligible=reader.tier_position is None or reader.tier_position >= needed,
            mine=reader.member_id,
        )

    @strawberry.field(
        description="The tickets in number order with their holders (Relay connection): with "
        "`seed` and `winners`, all anyone needs to recompute `winningTickets`."
    )
    async def tickets(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="Page size, 1 to 100.")] = 100,
        after: Annotated[
            str | None, strawberry.argument(description="Cursor of the last ticket already seen.")
        ] = None,
    ) -> relay.Connection[DrawTicket]:
        """Page through the draw's tickets."""
        start = decode_cursor(after, "ticket") or 0
        rows, more = await info.context.loaders.read(TicketsPage(self.id, page_size(first), start))
        nodes = [
            (r.ticket, DrawTicket(number=r.ticket, holder=r.holder, mine=r.member_id == self.mine))
            for r in rows
        ]
        return connection(nodes, more=more, after=after, kind="ticket")

    @classmethod
    async def resolve_nodes(
        cls, *, info: Info, node_ids: Iterable[str], required: bool = False
    ) -> list[Draw | None]:
        """Draws by id, for members and staff."""
        ids = [parse_pk(i) or 0 for i in node_ids]
        return await draws_of(info, ids)


async def draws_of(info: Info, ids: list[int]) -> list[Draw | None]:
    """Draws by id for the caller, with their tickets, in two batched reads."""
    reader = await draw_viewer(info)
    loaders = info.context.loaders
    rows = await loaders.read(ByIds(DRAW, tuple(ids)))
    return await as_draws(info, reader, rows)


async def as_draws(info: Info, reader: DrawViewer, rows: list[Any]) -> list[Draw | None]:
    """Convert draw rows (None kept) for a viewer, with the viewer's tickets in one read."""
    loaders = info.context.loaders
    found = [r.id for r in rows if r is not None]
    mine: dict[int, list[int]] = {}
    if reader.member_id is not None and found:
        mine = await loaders.read(MyTickets(reader.member_id, tuple(found)))
    return [
        Draw.of(r, reader, mine.get(r.id, []), now=loaders.now) if r is not None else None
        for r in rows
    ]


def month_bounds(month: date) -> tuple[datetime, datetime]:
    """The UTC start and end of a calendar month."""
    start = datetime(month.year, month.month, 1, tzinfo=UTC)
    end = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)
    return start, end
