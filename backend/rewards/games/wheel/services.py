"""Wheel use cases: marketing configures the wheel; members spin (granted spins: `players`).

A spin is server-authoritative and provably fair: each member has a committed server seed (its
SHA-256 is shown before the spin); the spin draws with `games.wheel.land(seed, nonce, weights)`,
stores the seed and nonce it used (revealed in its answer), and commits a fresh seed for the next
spin. Everything a spin does (the spin used or bought, the award through the ledger or the offers
capability, the next seed) happens under the member's row lock in one unit of work.
"""

from __future__ import annotations

from datetime import date
from typing import Any, cast

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from backend.db.tables import (
    AuditLog,
    LedgerEntry,
    Member,
    Offer,
    WheelBudget,
    WheelConfig,
    WheelPlayer,
    WheelSpin,
)
from backend.rewards import idempotency
from backend.rewards.errors import DomainError, InsufficientPoints, NotFound
from backend.rewards.games.wheel.players import dialect, ensure_player, new_seed
from backend.rewards.games.wheel.rules import Config, budget_day, free_used_on
from backend.rewards.ledger import EntryKind, Posting, Source, credit, debit
from backend.rewards.members.rules import local_day
from backend.rewards.offers.rules import VoucherOrigin
from backend.rewards.offers.services import issue_gift
from backend.rewards.ports import Principal
from backend.rewards.text import TextField, clean
from backend.rewards.uow import LockedMember, UnitOfWork
from games.wheel import (
    Outcome,
    Payment,
    SegmentKind,
    Void,
    Wheel,
    WheelRuleError,
    allowance,
    check_wheel,
    land,
    payment,
)

KEY = TextField("INVALID_IDEMPOTENCY_KEY", "idempotencyKey", "The idempotency key", 128)
SCOPE = "spin_wheel"
BUDGET = WheelBudget.__table__  # type: ignore[attr-defined]


def _refused(error: WheelRuleError) -> DomainError:
    """A wheel rule's refusal as a domain error."""
    return DomainError(error.code, error.message, field=error.field)


async def configure_wheel(uow: UnitOfWork, *, wheel: Wheel, staff: Principal) -> WheelConfig:
    """Publish a new version of the wheel (audited); offers named must exist."""
    try:
        check_wheel(wheel)
    except WheelRuleError as error:
        raise _refused(error) from None
    for index, segment in enumerate(wheel.segments):
        if segment.offer_id is not None and await uow.session.get(Offer, segment.offer_id) is None:
            raise NotFound(
                "UNKNOWN_OFFER", "No offer has that id.", field=f"segments.{index}.offerId"
            )
    row = WheelConfig(
        segments=[s.as_json() for s in wheel.segments],
        free_spins_per_day=wheel.free_spins_per_day,
        extra_spin_price=wheel.extra_spin_price,
        daily_points_budget=wheel.daily_points_budget,
        created_by=staff.uid,
        created_at=uow.now,
    )
    await uow.insert(row)
    uow.session.add(
        AuditLog(
            actor_uid=staff.uid,
            actor_role=staff.role,
            action="configure_wheel",
            reason="configure wheel",
            details={"wheel_config_id": row.id},
            created_at=uow.now,
        )
    )
    await uow.commit()
    return row


async def _member_id(uow: UnitOfWork, uid: str) -> int:
    """The id of a signed-in user's membership, or NOT_ENROLLED."""
    stmt = select(col(Member.id)).where(col(Member.uid) == uid)
    member_id = (await uow.session.execute(stmt)).scalar()
    if member_id is None:
        raise NotFound("NOT_ENROLLED", "Enrol before spinning the wheel.")
    return member_id


async def latest_config(session: AsyncSession) -> Config | None:
    """The wheel as configured now, if ever."""
    stmt = select(WheelConfig).order_by(col(WheelConfig.id).desc()).limit(1)
    row = (await session.execute(stmt)).scalar()
    return Config.of(row) if row is not None else None


def _use_spin(player: WheelPlayer, wheel: Wheel, today: date, *, buy: bool) -> Payment:
    """Take the spin from today's free allowance or the banked extra spins; say if it is bought."""
    used = free_used_on(today, free_day=player.free_day, free_used=player.free_used)
    left = allowance(wheel, free_used=used, extra=player.extra_spins)
    try:
        paid_with = payment(wheel, left, buy=buy)
    except WheelRuleError as error:
        raise _refused(error) from None
    if paid_with == Payment.FREE:
        player.free_day = max(today, player.free_day or today)
        player.free_used = used + 1
    elif paid_with == Payment.EXTRA:
        player.extra_spins -= 1
    return paid_with


async def _buy(uow: UnitOfWork, member: LockedMember, price: int) -> LedgerEntry:
    """Debit the price of an extra spin through the ledger."""
    posting = Posting("Wheel: extra spin", Source.GAME, "wheel")
    try:
        return await debit(uow, member=member, points=price, posting=posting, kind=EntryKind.REDEEM)
    except InsufficientPoints as error:
        raise DomainError(
            "NOT_ENOUGH_POINTS", f"An extra spin: {error.message}", field="buyExtra"
        ) from None


async def _take_budget(uow: UnitOfWork, budget: int | None, points: int) -> bool:
    """Count points against today's (UTC) budget if they fit; False when they do not."""
    if budget is None:
        return True
    day = budget_day(uow.now)
    insert = dialect(uow.session).insert(BUDGET).values(day=day, points=0)
    await uow.session.execute(insert.on_conflict_do_nothing(index_elements=[BUDGET.c.day]))
    # One conditional update: concurrent spins of other members queue on the day's row and
    # each sees the points the earlier ones took, so the budget is never overspent.
    taken = await uow.session.execute(
        update(BUDGET)
        .where(BUDGET.c.day == day, BUDGET.c.points + points <= budget)
        .values(points=BUDGET.c.points + points)
    )
    return bool(taken.rowcount)  # type: ignore[attr-defined]


async def _award(
    uow: UnitOfWork, member: LockedMember, player: WheelPlayer, outcome: Outcome, wheel: Wheel
) -> tuple[Outcome, dict[str, Any]]:
    """Pay what the spin landed on; a payout that cannot be made voids it (TRY_AGAIN)."""
    segment, ref = outcome.segment, f"wheel:{player.nonce}"
    if segment.kind == SegmentKind.POINTS:
        if not await _take_budget(uow, wheel.daily_points_budget, segment.points):
            return Outcome(outcome.index, segment, Void.BUDGET_SPENT), {}
        posting = Posting("Wheel of points", Source.GAME, ref)
        entry = await credit(uow, member=member, points=segment.points, posting=posting)
        return outcome, {"entry_id": entry.id, "points": segment.points}
    if segment.kind == SegmentKind.OFFER:
        voucher = await issue_gift(
            uow,
            member_id=cast(int, member.id),
            offer_id=cast(int, segment.offer_id),
            origin=VoucherOrigin.WHEEL,
            grant_key=ref,
        )
        if voucher is None:
            return Outcome(outcome.index, segment, Void.OFFER_UNAVAILABLE), {}
        return outcome, {"voucher_id": voucher.id}
    if segment.kind == SegmentKind.EXTRA_SPIN:
        player.extra_spins += 1
    return outcome, {}


async def spin_wheel(
    uow: UnitOfWork, *, uid: str, idempotency_key: str, buy_extra: bool = False
) -> WheelSpin:
    """Spin once: use a free, banked or (with `buy_extra`) bought spin, land, pay, reseed.

    A replay of the key (per member) answers with the first spin, whatever changed since.
    """
    key = clean(idempotency_key, KEY)
    member_id = await _member_id(uow, uid)
    stored_key, payload = idempotency.pair_key(str(member_id), key), {"buy_extra": buy_extra}
    earlier = await idempotency.replay(
        uow, scope=SCOPE, key=stored_key, payload=payload, field="idempotencyKey"
    )
    if earlier is not None:
        return await uow.session.get_one(WheelSpin, int(earlier["spin_id"]))
    config = await latest_config(uow.session)
    if config is None:
        raise DomainError("WHEEL_CLOSED", "The wheel is not open yet.")
    member = await uow.lock_member(member_id)
    if member.status != "active":
        raise DomainError("MEMBER_INACTIVE", "That membership is not active.")
    player = await ensure_player(uow.session, member_id)
    today = local_day(uow.now, member.time_zone)
    paid_with = _use_spin(player, config.wheel, today, buy=buy_extra)
    claimed = await idempotency.claim(uow, scope=SCOPE, key=stored_key, payload=payload)
    price = config.wheel.extra_spin_price if paid_with == Payment.BOUGHT else None
    if price:
        await _buy(uow, member, price)
    seed = bytes.fromhex(player.seed)
    index = land(seed, player.nonce, [s.weight for s in config.wheel.segments])
    outcome, paid = await _award(
        uow, member, player, Outcome(index, config.wheel.segments[index]), config.wheel
    )
    spin = WheelSpin(
        member_id=member_id,
        config_id=config.id,
        nonce=player.nonce,
        seed=player.seed,
        commitment=player.commitment,
        segment_index=index,
        kind=outcome.kind.value,
        void=outcome.void.value if outcome.void else None,
        paid_with=paid_with.value,
        points_spent=price or 0,
        local_day=today,
        created_at=uow.now,
        **paid,
    )
    await uow.insert(spin)
    _reseed(player)
    idempotency.remember(claimed, {"spin_id": spin.id})
    await uow.commit()
    return spin


def _reseed(player: WheelPlayer) -> None:
    """Commit a fresh seed for the member's next spin (the used one is now revealed)."""
    player.seed, player.commitment = new_seed()
    player.nonce += 1
