"""Pure purchase rules: input checks and how many points an order earns."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_FLOOR, Decimal

from backend.rewards.errors import DomainError

CURRENCY = re.compile(r"^[A-Z]{3}$")
FUTURE_SKEW = timedelta(minutes=5)


@dataclass(frozen=True)
class Line:
    """One line of an order."""

    sku: str
    category: str | None
    unit_price: Decimal
    quantity: int = 1

    def as_json(self) -> dict[str, object]:
        """The line as stored with the purchase."""
        return {
            "sku": self.sku,
            "category": self.category,
            "unitPrice": str(self.unit_price),
            "quantity": self.quantity,
        }


@dataclass(frozen=True)
class PurchaseInput:
    """An order as a store or e-commerce system reports it."""

    order_id: str
    card_number: str
    amount: Decimal
    currency: str
    channel: str
    occurred_at: datetime | None  # None: the purchase happens now, when it is recorded
    lines: tuple[Line, ...] = ()

    def payload(self) -> dict[str, object]:
        """The canonical payload the idempotency fingerprint is taken of."""
        return {
            "card": self.card_number,
            "amount": str(self.amount.normalize()),
            "currency": self.currency,
            "channel": self.channel,
            "at": self.occurred_at.isoformat() if self.occurred_at else None,
            "lines": [
                [ln.sku, ln.category, str(ln.unit_price.normalize()), ln.quantity]
                for ln in self.lines
            ],
        }


def check_amount(amount: Decimal, *, maximum: Decimal, field: str = "amount") -> None:
    """Refuse non-positive, absurd or over-precise money amounts."""
    if not amount.is_finite() or amount <= 0 or amount > maximum:
        raise DomainError(
            "INVALID_AMOUNT", f"The amount must be above 0 and at most {maximum}.", field=field
        )
    if amount.as_tuple().exponent < -4:  # type: ignore[operator]
        raise DomainError("INVALID_AMOUNT", "Amounts have at most 4 decimals.", field=field)


def check_purchase(
    data: PurchaseInput, *, now: datetime, maximum: Decimal, rates: dict[str, Decimal]
) -> None:
    """Validate every field of an order before anything is written."""
    if not data.order_id.strip() or len(data.order_id) > 128:
        raise DomainError(
            "INVALID_ORDER_ID", "The order id must be 1 to 128 characters.", field="orderId"
        )
    if not data.channel.strip() or len(data.channel) > 64:
        raise DomainError(
            "INVALID_CHANNEL", "The store or channel must be 1 to 64 characters.", field="channel"
        )
    check_amount(data.amount, maximum=maximum)
    if not CURRENCY.match(data.currency) or data.currency not in rates:
        raise DomainError(
            "UNKNOWN_CURRENCY", f"{data.currency!r} earns no points here.", field="currency"
        )
    if data.occurred_at is not None and data.occurred_at > now + FUTURE_SKEW:
        raise DomainError("INVALID_TIME", "The purchase time is in the future.", field="occurredAt")
    for i, line in enumerate(data.lines):
        if (
            not line.sku.strip()
            or line.quantity < 1
            or line.unit_price < 0
            or line.unit_price > maximum
        ):
            raise DomainError(
                "INVALID_LINE",
                f"Line {i + 1} needs a SKU, a quantity and a price.",
                field=f"lines.{i}",
            )


def purchase_points(amount: Decimal, *, rate: Decimal, multiplier: Decimal) -> int:
    """Points for an order: amount × currency rate × tier multiplier, rounded down once per order."""
    return int((amount * rate * multiplier).to_integral_value(rounding=ROUND_FLOOR))


def refund_points(
    *, order_points: int, order_amount: Decimal, refunded_total: Decimal, reversed_so_far: int
) -> int:
    """Points to reverse now so that all refunds together take back a proportional share."""
    due = (Decimal(order_points) * refunded_total / order_amount).to_integral_value(
        rounding=ROUND_FLOOR
    )
    if refunded_total == order_amount:
        due = Decimal(order_points)
    return int(due) - reversed_so_far
