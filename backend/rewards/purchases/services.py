"""Purchase use cases: record an order (idempotent on its id) and refund it (idempotent on the refund id)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import cast

from sqlalchemy import select
from sqlmodel import col

from backend.db.tables import Member, Purchase
from backend.rewards import idempotency
from backend.rewards.errors import DomainError, NotFound
from backend.rewards.ledger import Posting, Source, credit, reverse_credit
from backend.rewards.members.rules import valid_card_number
from backend.rewards.program import load_rules
from backend.rewards.purchases.rules import (
    PurchaseInput,
    check_amount,
    check_purchase,
    purchase_points,
    refund_points,
)
from backend.rewards.tiers.services import reevaluate
from backend.rewards.uow import UnitOfWork


@dataclass(frozen=True)
class RefundInput:
    """A refund of part or all of an order."""

    order_id: str
    refund_id: str
    amount: Decimal
    currency: str

    def payload(self) -> dict[str, object]:
        """The canonical payload for the idempotency fingerprint."""
        return {
            "order": self.order_id,
            "amount": str(self.amount.normalize()),
            "currency": self.currency,
        }


async def _member_by_card(uow: UnitOfWork, card_number: str) -> Member:
    """The active member behind a membership card number."""
    if not valid_card_number(card_number):
        raise DomainError(
            "INVALID_MEMBER_REFERENCE",
            "That is not a membership card number.",
            field="memberReference",
        )
    member = (
        await uow.session.execute(select(Member).where(col(Member.card_number) == card_number))
    ).scalar()
    if member is None:
        raise NotFound(
            "MEMBER_NOT_FOUND", "No member has that card number.", field="memberReference"
        )
    if member.status != "active":
        raise DomainError(
            "MEMBER_INACTIVE", "That membership is not active.", field="memberReference"
        )
    return member


async def _purchase(uow: UnitOfWork, purchase_id: int) -> Purchase:
    """Load a purchase row."""
    return (
        await uow.session.execute(select(Purchase).where(col(Purchase.id) == purchase_id))
    ).scalar_one()


async def record_purchase(uow: UnitOfWork, *, data: PurchaseInput, actor: str) -> Purchase:
    """Credit an order's points (pending through the return window); a replay credits nothing."""
    program = await load_rules(uow.session)
    check_purchase(
        data,
        now=uow.now,
        maximum=Decimal(program.setting("max_purchase_amount")),
        rates=program.rates,
    )
    found = await _member_by_card(uow, data.card_number)
    member = await uow.lock_member(found.id or 0)
    scope, payload = "purchase", data.payload()
    earlier = await idempotency.replayed(uow, scope=scope, key=data.order_id, payload=payload)
    if earlier is not None:
        return await _purchase(uow, int(earlier["purchase_id"]))
    points = purchase_points(
        data.amount,
        rate=program.rates[data.currency],
        multiplier=program.tier(member.tier_code).multiplier,
    )
    purchase = Purchase(
        order_id=data.order_id,
        member_id=cast(int, member.id),
        amount=data.amount,
        currency=data.currency,
        channel=data.channel,
        occurred_at=data.occurred_at or uow.now,
        lines=[line.as_json() for line in data.lines],
        points=points,
        recorded_by=actor,
        created_at=uow.now,
    )
    if points > 0:
        entry = await credit(
            uow,
            member=member,
            points=points,
            posting=Posting(f"Purchase {data.order_id}", Source.ORDER, data.order_id, actor),
            lifetime_months=int(program.setting("lot_lifetime_months")),
            available_at=uow.now + timedelta(days=int(program.setting("return_window_days"))),
        )
        purchase.earn_entry_id = entry.id
    uow.session.add(purchase)
    await uow.session.flush()
    await reevaluate(uow, member=member, rules=program)
    idempotency.remember(
        uow, scope=scope, key=data.order_id, payload=payload, result={"purchase_id": purchase.id}
    )
    await uow.commit()
    return purchase


async def refund_purchase(uow: UnitOfWork, *, data: RefundInput, actor: str) -> Purchase:
    """Reverse the points of the refunded share of an order; a replayed refund reverses nothing."""
    program = await load_rules(uow.session)
    check_amount(data.amount, maximum=Decimal(program.setting("max_purchase_amount")))
    if not data.refund_id.strip() or len(data.refund_id) > 128:
        raise DomainError(
            "INVALID_REFUND_ID", "The refund id must be 1 to 128 characters.", field="refundId"
        )
    stmt = select(col(Purchase.id), col(Purchase.member_id)).where(
        col(Purchase.order_id) == data.order_id
    )
    found = (await uow.session.execute(stmt)).first()
    if found is None:
        raise NotFound("PURCHASE_NOT_FOUND", "No purchase has that order id.", field="orderId")
    member = await uow.lock_member(found.member_id)
    purchase = await _purchase(uow, found.id)
    scope = f"refund:{data.order_id}"
    if (
        await idempotency.replayed(uow, scope=scope, key=data.refund_id, payload=data.payload())
        is not None
    ):
        return purchase
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
                f"Refund {data.refund_id} of purchase {data.order_id}",
                Source.ORDER,
                data.order_id,
                actor,
            ),
        )
        await reevaluate(uow, member=member, rules=program)
    purchase.refunded_amount = refunded_total
    purchase.reversed_points += points
    idempotency.remember(
        uow,
        scope=scope,
        key=data.refund_id,
        payload=data.payload(),
        result={"purchase_id": purchase.id},
    )
    await uow.commit()
    return purchase
