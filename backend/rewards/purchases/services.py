"""Purchase use cases: record an order (idempotent on its id) and refund it (idempotent on the refund id).

Both answer with a `PurchaseSnapshot`, the purchase as that write left it; a replay answers with
the snapshot stored under its key, whatever happened to the purchase or the member since.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

from sqlalchemy import insert, select
from sqlmodel import col

from backend.db.tables import Member, Purchase
from backend.rewards import idempotency
from backend.rewards.bonus.rules import bonus_multiplier, segment_limited
from backend.rewards.bonus.services import in_segments
from backend.rewards.errors import DomainError, NotFound
from backend.rewards.ledger import Posting, Source, credit, reverse_credit
from backend.rewards.members.lookup import lock_member_by_card
from backend.rewards.notifications.rules import Kind
from backend.rewards.notifications.services import notify
from backend.rewards.offers.repository import BOUGHT_BESIDES
from backend.rewards.offers.services import purchase_recorded
from backend.rewards.purchases.rules import (
    PurchaseInput,
    RefundInput,
    check_amount,
    check_purchase,
    clean_purchase,
    clean_refund,
    program_start,
    purchase_points,
    refund_points,
    refund_reason,
)
from backend.rewards.referrals.services import purchase_refunded
from backend.rewards.tiers.services import reevaluate
from backend.rewards.uow import LockedMember, UnitOfWork


@dataclass(frozen=True)
class PurchaseSnapshot:
    """A purchase as it was right after one write: the answer stored for replays of that write."""

    id: int
    order_id: str
    member_id: int
    amount: Decimal
    currency: str
    channel: str
    occurred_at: datetime
    points: int
    refunded_amount: Decimal
    reversed_points: int
    member_reference: str  # the buyer's card number

    @classmethod
    def of(cls, purchase: Purchase, *, member: Member) -> PurchaseSnapshot:
        """Take the snapshot of a purchase row bought by `member`."""
        values = {key: getattr(purchase, key) for key in _COLUMNS}
        return cls.of_values(cast(int, purchase.id), values, member=member)

    @classmethod
    def of_values(
        cls, purchase_id: int, values: dict[str, Any], *, member: Member
    ) -> PurchaseSnapshot:
        """Take the snapshot of a purchase just inserted from its column values."""
        return cls(
            id=purchase_id,
            order_id=values["order_id"],
            member_id=values["member_id"],
            amount=Decimal(values["amount"]),
            currency=values["currency"],
            channel=values["channel"],
            occurred_at=values["occurred_at"].astimezone(UTC),
            points=values["points"],
            refunded_amount=Decimal(values["refunded_amount"]),
            reversed_points=values["reversed_points"],
            member_reference=member.card_number,
        )

    def as_json(self) -> dict[str, Any]:
        """The snapshot as stored in the idempotency key's row."""
        return {
            **asdict(self),
            "amount": str(self.amount),
            "occurred_at": self.occurred_at.isoformat(),
            "refunded_amount": str(self.refunded_amount),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> PurchaseSnapshot:
        """Read a stored snapshot."""
        return cls(
            **{
                **data,
                "amount": Decimal(data["amount"]),
                "occurred_at": datetime.fromisoformat(data["occurred_at"]),
                "refunded_amount": Decimal(data["refunded_amount"]),
            }
        )


_COLUMNS = (
    "order_id",
    "member_id",
    "amount",
    "currency",
    "channel",
    "occurred_at",
    "points",
    "refunded_amount",
    "reversed_points",
)
"""The purchase's columns a snapshot takes."""


PURCHASE = Purchase.__table__  # type: ignore[attr-defined]
# The new purchase's id, and how many of the buyer's other purchases the milestone ladder counts:
# read by the INSERT, after the buyer's lock, so no concurrent purchase of theirs is missed.
_INSERT_PURCHASE = insert(PURCHASE).returning(PURCHASE.c.id, BOUGHT_BESIDES.label("bought_before"))


async def _insert_purchase(uow: UnitOfWork, purchase: dict[str, Any]) -> tuple[int, int]:
    """Insert a purchase from its column values; its id and the buyer's purchases the milestone
    ladder counts, this one included (nothing of it is refunded yet)."""
    params = {
        **purchase,
        "bought_member_id": purchase["member_id"],
        "bought_order_id": purchase["order_id"],
    }
    row = (await uow.session.execute(_INSERT_PURCHASE, params)).one()
    return int(row.id), int(row.bought_before) + 1


async def _purchase(uow: UnitOfWork, purchase_id: int) -> Purchase:
    """Load a purchase row."""
    return (
        await uow.session.execute(select(Purchase).where(col(Purchase.id) == purchase_id))
    ).scalar_one()


def _check_active(member: LockedMember) -> None:
    """Refuse to credit a suspended or erased membership."""
    if member.status != "active":
        raise DomainError(
            "MEMBER_INACTIVE", "That membership is not active.", field="memberReference"
        )


async def record_purchase(uow: UnitOfWork, *, data: PurchaseInput, actor: str) -> PurchaseSnapshot:
    """Credit an order's points (pending through the return window); a replay credits nothing."""
    data = clean_purchase(data)
    key, payload = data.order_id, data.payload()
    earlier = await idempotency.replay(
        uow, scope="purchase", key=key, payload=payload, field="orderId", rules=True
    )
    if earlier is not None:
        return PurchaseSnapshot.from_json(earlier)
    program = await uow.rules()
    check_purchase(
        data,
        now=uow.now,
        maximum=Decimal(program.setting("max_purchase_amount")),
        rates=program.rates,
        started=program_start(program.settings),
    )
    member = await lock_member_by_card(uow, data.card_number, tier_rules=program)
    _check_active(member)
    at, tier = data.occurred_at or uow.now, member.tier_code
    limited = segment_limited(program.bonus_events, at=at, tier=tier)
    # Only a purchase a segment-limited event covers asks the database (before this credit).
    matched = (
        await in_segments(uow, limited, member_id=cast(int, member.id), at=at)
        if limited
        else frozenset()
    )
    bonus = bonus_multiplier(program, at=at, tier=tier, lines=data.lines, matched=matched)
    points = purchase_points(
        data.amount,
        rate=program.rates[data.currency],
        multiplier=program.tier(member.tier_code).multiplier * bonus,
    )
    purchase: dict[str, Any] = {  # its column values: no model object is needed
        "order_id": data.order_id,
        "member_id": cast(int, member.id),
        "amount": data.amount,
        "currency": data.currency,
        "channel": data.channel,
        "occurred_at": data.occurred_at or uow.now,
        "lines": [line.as_json() for line in data.lines],
        "points": points,
        "earn_entry_id": None,
        "refunded_amount": Decimal(0),
        "reversed_points": 0,
        "recorded_by": actor,
        "created_at": uow.now,
    }
    if points > 0:
        entry = await credit(
            uow,
            member=member,
            points=points,
            posting=Posting(f"Purchase {data.order_id}", Source.ORDER, data.order_id, actor),
            lifetime_months=int(program.setting("lot_lifetime_months")),
            available_at=uow.now + timedelta(days=int(program.setting("return_window_days"))),
        )
        purchase["earn_entry_id"] = entry.id
        params = {"points": points, "order": data.order_id}
        await notify(uow, member_id=cast(int, member.id), kind=Kind.POINTS_EARNED, params=params)
    purchase_id, bought = await _insert_purchase(uow, purchase)  # a concurrent twin collides here
    categories = {line.category for line in data.lines if line.category}
    await purchase_recorded(
        uow, member=member, program=program, categories=categories, bought=bought
    )
    await reevaluate(uow, member=member, rules=program)
    answer = PurchaseSnapshot.of_values(purchase_id, purchase, member=member)
    await idempotency.store(
        uow, scope="purchase", key=key, payload=payload, answer=answer.as_json()
    )
    await uow.commit()
    return answer


async def refund_purchase(uow: UnitOfWork, *, data: RefundInput, actor: str) -> PurchaseSnapshot:
    """Reverse the points of the refunded share of an order; a replayed refund reverses nothing."""
    data = clean_refund(data)
    key, payload = idempotency.pair_key(data.order_id, data.refund_id), data.payload()
    earlier = await idempotency.replay(
        uow, scope="refund", key=key, payload=payload, field="refundId", rules=True
    )
    if earlier is not None:
        return PurchaseSnapshot.from_json(earlier)
    program = await uow.rules()
    check_amount(data.amount, maximum=Decimal(program.setting("max_purchase_amount")))
    stmt = select(col(Purchase.id), col(Purchase.member_id)).where(
        col(Purchase.order_id) == data.order_id
    )
    found = (await uow.session.execute(stmt)).first()
    if found is None:
        raise NotFound("PURCHASE_NOT_FOUND", "No purchase has that order id.", field="orderId")
    member = await uow.lock_member(found.member_id)
    claimed = await idempotency.claim(uow, scope="refund", key=key, payload=payload)
    purchase = await _purchase(uow, found.id)
    if data.currency != purchase.currency:
        raise DomainError(
            "CURRENCY_MISMATCH", f"The order was paid in {purchase.currency}.", field="currency"
        )
    refunded_total = purchase.refunded_amount + data.amount
    if refunded_total > purchase.amount:
        raise DomainError(
            "REFUND_EXCEEDS_PURCHASE",
            f"Only {purchase.amount - purchase.refunded_amount} of this order is left to refund.",
            field="amount",
        )
    points = refund_points(
        order_points=purchase.points,
        order_amount=purchase.amount,
        refunded_total=refunded_total,
        reversed_so_far=purchase.reversed_points,
    )
    if points > 0 and purchase.earn_entry_id is not None:
        await reverse_credit(
            uow,
            member=member,
            earn_entry_id=purchase.earn_entry_id,
            points=points,
            posting=Posting(
                refund_reason(data.refund_id, data.order_id), Source.ORDER, data.order_id, actor
            ),
        )
        await reevaluate(uow, member=member, rules=program)
    await purchase_refunded(uow, purchase_id=found.id, friend=member, actor=actor)
    purchase.refunded_amount = refunded_total
    purchase.reversed_points += points
    answer = PurchaseSnapshot.of(purchase, member=member)
    idempotency.remember(claimed, answer.as_json())
    await uow.commit()
    return answer
