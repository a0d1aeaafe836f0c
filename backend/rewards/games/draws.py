"""Prize draws: marketing creates one, members take tickets, the seed picks the winners.

The seed is 32 random bytes made at creation; its commitment (SHA-256, `games.rng.commitment`)
is public from then on, the seed itself only once drawn. Tickets are numbered 1, 2, … in the
order taken: each entry increments the draw's counter under the draw row's lock, so numbers
have no gaps and no entry lands after the draw. The winners are
`games.draw.winning_tickets(seed, holders, winners)` over the tickets in number order, each
ticket's holder being its member's first ticket number in the draw. Running a draw locks its
row: a second run (concurrent or later) finds it drawn and answers the same result.
"""

from __future__ import annotations

import enum
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlmodel import col

from backend.db.tables import AuditLog, DrawTicket, IdempotencyKey, PrizeDraw
from backend.db.tables import Member as MemberRow
from backend.rewards import idempotency
from backend.rewards.clubs.rules import FALLBACK, Localized, clean_localized
from backend.rewards.errors import DomainError, InsufficientPoints, NotFound
from backend.rewards.ledger import Posting, Source, debit
from backend.rewards.notifications.rules import Kind
from backend.rewards.notifications.services import notify
from backend.rewards.ports import Principal
from backend.rewards.text import JOINERS, TextField, clean, clip, width
from backend.rewards.uow import LockedMember, UnitOfWork, UnitOfWorkFactory
from games.draw import winning_tickets
from games.rng import commitment

PRIZE = TextField("INVALID_PRIZE", "prize", "The prize", 200, prose=True, allow=JOINERS)
KEY = TextField("INVALID_IDEMPOTENCY_KEY", "idempotencyKey", "The idempotency key", 128)
assert KEY.width + 12 <= width(IdempotencyKey, "key")  # stored with the member id in front
ENTER_SCOPE = "enter_draw"
MAX_COST = 1_000_000
MAX_ENTRIES = 100
MAX_WINNERS = 1000
MAX_OPEN_DAYS = 366


class DrawStatus(enum.StrEnum):
    """Where a draw is: taking tickets, closed and waiting for its run, or drawn."""

    OPEN = "OPEN"
    CLOSED = "CLOSED"
    DRAWN = "DRAWN"


def status(draw: Any, now: datetime) -> DrawStatus:
    """A draw's status as of `now` (closing needs no job: it is the time)."""
    if draw.drawn_at is not None:
        return DrawStatus.DRAWN
    return DrawStatus.OPEN if now < draw.closes_at else DrawStatus.CLOSED


@dataclass(frozen=True)
class DrawDraft:
    """A draw as marketing describes it."""

    prize: Localized
    closes_at: datetime
    winners: int = 1
    min_tier: str | None = None
    entry_cost: int = 0
    max_entries: int = 1


def _in_range(value: int, low: int, high: int, code: str, field: str, what: str) -> int:
    """Refuse a number outside its range."""
    if not low <= value <= high:
        raise DomainError(code, f"{what} must be between {low} and {high}.", field=field)
    return value


async def _check_draft(uow: UnitOfWork, draft: DrawDraft) -> DrawDraft:
    """The draft in its stored form, or the first typed error of its fields."""
    tiers = [t.code for t in (await uow.rules()).tiers]
    if draft.min_tier is not None and draft.min_tier not in tiers:
        raise DomainError("UNKNOWN_TIER", f"Tiers are {', '.join(tiers)}.", field="minTier")
    latest = uow.now + timedelta(days=MAX_OPEN_DAYS)
    if not uow.now < draft.closes_at <= latest:
        raise DomainError(
            "INVALID_CLOSE_TIME",
            f"The close time must be in the next {MAX_OPEN_DAYS} days.",
            field="closesAt",
        )
    return DrawDraft(
        prize=clean_localized(draft.prize, PRIZE, field="prize"),
        closes_at=draft.closes_at,
        winners=_in_range(draft.winners, 1, MAX_WINNERS, "INVALID_WINNERS", "winners", "Winners"),
        min_tier=draft.min_tier,
        entry_cost=_in_range(
            draft.entry_cost, 0, MAX_COST, "INVALID_ENTRY_COST", "entryCost", "The entry cost"
        ),
        max_entries=_in_range(
            draft.max_entries, 1, MAX_ENTRIES, "INVALID_MAX_ENTRIES", "maxEntries", "Entries"
        ),
    )


async def create_draw(uow: UnitOfWork, *, draft: DrawDraft, staff: Principal) -> PrizeDraw:
    """Open a draw (audited) with a fresh secret seed and its public commitment."""
    draft = await _check_draft(uow, draft)
    seed = secrets.token_bytes(32)
    draw = PrizeDraw(
        prize=dict(draft.prize),
        min_tier=draft.min_tier,
        entry_cost=draft.entry_cost,
        max_entries=draft.max_entries,
        winners=draft.winners,
        closes_at=draft.closes_at,
        seed=seed.hex(),
        seed_commitment=commitment(seed),
        created_by=staff.uid,
        created_at=uow.now,
    )
    uow.session.add(draw)
    await uow.session.flush()
    _audit(uow, staff.uid, staff.role, "create_draw", draw_id=draw.id)
    await uow.commit()
    return draw


def _audit(uow: UnitOfWork, actor: str, role: str, action: str, **details: Any) -> None:
    """Add the audit row of a change to a draw."""
    reason = action.replace("_", " ")
    uow.session.add(
        AuditLog(
            actor_uid=actor,
            actor_role=role,
            action=action,
            reason=reason,
            details=details,
            created_at=uow.now,
        )
    )


async def _member_id(uow: UnitOfWork, uid: str) -> int:
    """The id of a signed-in user's membership, or NOT_ENROLLED."""
    stmt = select(col(MemberRow.id)).where(col(MemberRow.uid) == uid)
    member_id = (await uow.session.execute(stmt)).scalar()
    if member_id is None:
        raise NotFound("NOT_ENROLLED", "Enrol before entering a draw.")
    return member_id


async def _draw(uow: UnitOfWork, draw_id: int, *, lock: bool = False) -> PrizeDraw:
    """Load a draw (locked for a run) or refuse with UNKNOWN_DRAW."""
    draw = await uow.session.get(PrizeDraw, draw_id, with_for_update=lock)
    if draw is None:
        raise NotFound("UNKNOWN_DRAW", "No draw has that id.", field="drawId")
    return draw


async def enter_draw(
    uow: UnitOfWork, *, uid: str, draw_id: int, idempotency_key: str
) -> DrawTicket:
    """Take one ticket in a draw, paying its entry cost through the ledger.

    Refusals, in order: DRAW_CLOSED, NOT_ELIGIBLE (tier), ENTRY_LIMIT_REACHED, NOT_ENOUGH_POINTS.
    A replay of the key (per member) answers with the first ticket, whatever changed since.
    """
    key = clean(idempotency_key, KEY)
    member_id = await _member_id(uow, uid)
    scoped, payload = idempotency.pair_key(str(member_id), key), {"draw": draw_id}
    earlier = await idempotency.replay(
        uow, scope=ENTER_SCOPE, key=scoped, payload=payload, field="idempotencyKey"
    )
    if earlier is not None:
        return await uow.session.get_one(DrawTicket, int(earlier["ticket_id"]))
    member = await uow.lock_member(member_id)  # one member's entries are taken one at a time
    if member.status != "active":
        raise DomainError("MEMBER_INACTIVE", "That membership is not active.")
    draw = await _draw(uow, draw_id)
    taken, holder = await _check_entry(uow, member, draw)
    claimed = await idempotency.claim(uow, scope=ENTER_SCOPE, key=scoped, payload=payload)
    entry_id = await _pay(uow, member, draw)
    number = await _next_ticket(uow, draw)
    ticket = DrawTicket(
        draw_id=draw_id,
        ticket=number,
        holder=holder if taken else number,
        member_id=member_id,
        entry_id=entry_id,
        created_at=uow.now,
    )
    await uow.insert(ticket)
    idempotency.remember(claimed, {"ticket_id": ticket.id})
    await uow.commit()
    return ticket


async def _check_entry(uow: UnitOfWork, member: LockedMember, draw: PrizeDraw) -> tuple[int, int]:
    """Refuse an entry the draw does not take; the member's tickets so far and their first."""
    if status(draw, uow.now) is not DrawStatus.OPEN:
        raise DomainError("DRAW_CLOSED", "This draw takes no more entries.", field="drawId")
    if draw.min_tier is not None:
        program = await uow.rules()
        if program.tier(member.tier_code).position < program.tier(draw.min_tier).position:
            tier = program.tier(draw.min_tier).name
            raise DomainError("NOT_ELIGIBLE", f"This draw is for {tier} and up.", field="drawId")
    mine = select(func.count(), func.min(col(DrawTicket.ticket))).where(
        col(DrawTicket.member_id) == member.id, col(DrawTicket.draw_id) == draw.id
    )
    taken, first = (await uow.session.execute(mine)).one()
    if taken >= draw.max_entries:
        raise DomainError(
            "ENTRY_LIMIT_REACHED",
            f"You already have the most tickets allowed ({draw.max_entries}).",
            field="drawId",
        )
    return int(taken), int(first or 0)


async def _pay(uow: UnitOfWork, member: LockedMember, draw: PrizeDraw) -> int | None:
    """Debit the entry cost (REDEEM, source game); None for a free draw."""
    if not draw.entry_cost:
        return None
    reason = clip(f"Prize draw ticket: {draw.prize[FALLBACK]}", 200)
    posting = Posting(reason, Source.GAME, f"draw:{draw.id}", member.uid)
    try:
        entry = await debit(uow, member=member, points=draw.entry_cost, posting=posting)
    except InsufficientPoints as error:
        raise DomainError(
            "NOT_ENOUGH_POINTS", f"Entering: {error.message}", field="drawId"
        ) from None
    return entry.id


async def _next_ticket(uow: UnitOfWork, draw: PrizeDraw) -> int:
    """Take the next ticket number; the draw's row stays locked until the commit, so no run
    draws while an entry is unfinished and no entry lands after a run."""
    table = PrizeDraw.__table__  # type: ignore[attr-defined]
    stmt = (
        update(table)
        .where(table.c.id == draw.id, table.c.drawn_at.is_(None), table.c.closes_at > uow.now)
        .values(tickets=table.c.tickets + 1)
        .returning(table.c.tickets)
    )
    number = (await uow.session.execute(stmt)).scalar()
    if number is None:  # drawn (or closed) while this entry was checked
        raise DomainError("DRAW_CLOSED", "This draw takes no more entries.", field="drawId")
    return int(number)


async def run_draw(uow: UnitOfWork, *, draw_id: int, actor: Principal | None) -> PrizeDraw:
    """Draw a closed draw's winners, reveal its seed and notify the winners; once.

    A draw already drawn answers its result unchanged. `actor` is the staff member who ran it,
    None for the job.
    """
    draw = await _draw(uow, draw_id, lock=True)
    if draw.drawn_at is not None:
        return draw
    if uow.now < draw.closes_at:
        raise DomainError("DRAW_NOT_CLOSED", "This draw is still taking entries.", field="drawId")
    stmt = select(col(DrawTicket.holder), col(DrawTicket.member_id)).where(
        col(DrawTicket.draw_id) == draw_id
    )
    tickets = (await uow.session.execute(stmt.order_by(col(DrawTicket.ticket)))).all()
    won = winning_tickets(bytes.fromhex(draw.seed), [t.holder for t in tickets], draw.winners)
    draw.winning_tickets = [i + 1 for i in won]
    draw.drawn_at = uow.now
    for index in won:
        await notify(
            uow,
            member_id=tickets[index].member_id,
            kind=Kind.DRAW_WON,
            params={"draw_id": draw_id},
            reward=draw.prize,
        )
    who = (actor.uid, actor.role) if actor else ("draw-job", "system")
    _audit(uow, *who, "run_draw", draw_id=draw_id, winning_tickets=draw.winning_tickets)
    await uow.commit()
    return draw


async def run_due_draws(uows: UnitOfWorkFactory, *, batch: int = 100) -> int:
    """The job: run every draw past its close time that is not drawn yet; how many it ran."""
    async with uows() as uow:
        due = select(col(PrizeDraw.id)).where(
            col(PrizeDraw.drawn_at).is_(None), col(PrizeDraw.closes_at) <= uow.now
        )
        ids = list((await uow.session.execute(due.limit(batch))).scalars())
    for draw_id in ids:
        await uows.run(lambda uow, d=draw_id: run_draw(uow, draw_id=d, actor=None))  # type: ignore[misc]
    return len(ids)
