"""Pure purchase rules: input checks and how many points an order earns."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from backend.db.tables import LedgerEntry, Purchase
from backend.rewards.errors import DomainError
from backend.rewards.text import TextField, clean, clip, width

CURRENCY = re.compile(r"[A-Z]{3}")
FUTURE_SKEW = timedelta(minutes=5)
# Used until the `program_started_at` setting exists: refuses only dates no store can mean.
MAX_DECIMALS = 4  # the purchase amount columns are NUMERIC(18, 4)
MAX_LINES = 200
MAX_QUANTITY = 10_000
# The order id is also the ledger entry's source reference and the idempotency key.
ORDER_ID = TextField(
    "INVALID_ORDER_ID",
    "orderId",
    "The order id",
    min(width(Purchase, "order_id"), width(LedgerEntry, "source_ref")),
)
CHANNEL = TextField(
    "INVALID_CHANNEL", "channel", "The store or channel", width(Purchase, "channel")
)
# Lines are stored as JSON: these widths are the policy's own, not a column's.
SKU = TextField("INVALID_LINE", None, "The SKU", 64)
CATEGORY = TextField("INVALID_LINE", None, "The category", 64)
REFUND_ID = TextField("INVALID_REFUND_ID", "refundId", "The refund id", 128)
REASON_WIDTH = width(LedgerEntry, "reason")


@dataclass(frozen=True)
class Line:
    """One line of an order."""

    sku: str
    category: str | None
    unit_price: Decimal
    quantity: int = 1

    def as_json(self) -> dict[str, object]:
        """The line as stored with the purchase (prices in plain notation, never `1E+2`)."""
        return {
            "sku": self.sku,
            "category": self.category,
            "unitPrice": format(self.unit_price, "f"),
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
            "amount": str(plain(self.amount)),
            "currency": self.currency,
            "channel": self.channel,
            "at": self.occurred_at.isoformat() if self.occurred_at else None,
            "lines": [
                [ln.sku, ln.category, str(plain(ln.unit_price)), ln.quantity] for ln in self.lines
            ],
        }


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
            "amount": str(plain(self.amount)),
            "currency": self.currency,
        }


def check_money(
    value: Decimal, *, code: str, field: str, label: str = "The amount", zero_ok: bool = False
) -> None:
    """Refuse NaN, infinities, negatives (and -0), zero unless allowed, and over-precise values."""
    if not value.is_finite() or value.is_signed() or (value.is_zero() and not zero_ok):
        least = "0 or more" if zero_ok else "above 0"
        raise DomainError(code, f"{label} must be a number {least}.", field=field)
    if _decimals(value) > MAX_DECIMALS:
        raise DomainError(code, f"{label} has at most {MAX_DECIMALS} decimals.", field=field)


def _decimals(value: Decimal) -> int:
    """The decimal places a finite value really has (trailing zeros do not count)."""
    exponent = plain(value).as_tuple().exponent
    assert isinstance(exponent, int)  # finite
    return max(0, -exponent)


def plain(value: Decimal) -> Decimal:
    """The same finite number without trailing zeros (`100.500` → `100.5`, `0E-99999` → `0`), exactly."""
    sign, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)  # finite
    significant = "".join(map(str, digits)).rstrip("0")
    if not significant:
        return Decimal(0)
    kept = tuple(int(d) for d in significant)
    return Decimal((sign, kept, exponent + len(digits) - len(significant)))


def check_amount(amount: Decimal, *, maximum: Decimal, field: str = "amount") -> None:
    """Refuse non-positive, absurd or over-precise money amounts."""
    check_money(amount, code="INVALID_AMOUNT", field=field)
    if amount > maximum:
        raise DomainError(
            "INVALID_AMOUNT", f"The amount must be above 0 and at most {maximum}.", field=field
        )


def clean_purchase(data: PurchaseInput) -> PurchaseInput:
    """The order in its stored form, or a typed error; needs no rules, so it can run first."""
    check_money(data.amount, code="INVALID_AMOUNT", field="amount")
    if not CURRENCY.fullmatch(data.currency):
        raise DomainError(
            "UNKNOWN_CURRENCY",
            "The currency must be an ISO 4217 code such as `EUR`.",
            field="currency",
        )
    if len(data.lines) > MAX_LINES:
        raise DomainError("INVALID_LINE", f"An order has at most {MAX_LINES} lines.", field="lines")
    return replace(
        data,
        order_id=clean(data.order_id, ORDER_ID),
        amount=plain(data.amount),
        channel=clean(data.channel, CHANNEL),
        occurred_at=_utc(data.occurred_at),
        lines=tuple(_clean_line(line, f"lines.{i}") for i, line in enumerate(data.lines)),
    )


def _clean_line(line: Line, path: str) -> Line:
    """One order line in its stored form: bounded texts, a sane price and quantity."""
    price = f"{path}.unitPrice"
    check_money(
        line.unit_price, code="INVALID_LINE", field=price, label="The unit price", zero_ok=True
    )
    if not 1 <= line.quantity <= MAX_QUANTITY:
        raise DomainError(
            "INVALID_LINE", f"The quantity must be 1 to {MAX_QUANTITY}.", field=f"{path}.quantity"
        )
    category = line.category
    return replace(
        line,
        unit_price=plain(line.unit_price),
        sku=clean(line.sku, SKU, field=f"{path}.sku"),
        category=None if category is None else clean(category, CATEGORY, field=f"{path}.category"),
    )


def _utc(at: datetime | None) -> datetime | None:
    """The time in UTC (naive means UTC); a time no calendar can hold in UTC is refused."""
    if at is None:
        return None
    try:
        return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    except (OverflowError, ValueError):
        raise DomainError(
            "INVALID_TIME", "The purchase time is not a real one.", field="occurredAt"
        ) from None


def check_purchase(
    data: PurchaseInput,
    *,
    now: datetime,
    maximum: Decimal,
    rates: dict[str, Decimal],
    started: datetime,
) -> None:
    """Check a cleaned order against the program's rules: its ceiling, currencies and dates."""
    check_amount(data.amount, maximum=maximum)
    for i, line in enumerate(data.lines):
        if line.unit_price > maximum:
            raise DomainError(
                "INVALID_LINE", f"A unit price is at most {maximum}.", field=f"lines.{i}.unitPrice"
            )
    if data.currency not in rates:
        raise DomainError(
            "UNKNOWN_CURRENCY", f"{data.currency} earns no points here.", field="currency"
        )
    if data.occurred_at is None:
        return  # the purchase happens now
    if data.occurred_at < started:
        raise DomainError(
            "INVALID_TIME", "The purchase time is before the program started.", field="occurredAt"
        )
    if data.occurred_at > now + FUTURE_SKEW:
        raise DomainError("INVALID_TIME", "The purchase time is in the future.", field="occurredAt")


def program_start(settings: dict[str, Any]) -> datetime:
    """When the program began (`program_started_at`, ISO 8601): no purchase is older."""
    started = datetime.fromisoformat(str(settings["program_started_at"]))
    return started if started.tzinfo else started.replace(tzinfo=UTC)


def clean_refund(data: RefundInput) -> RefundInput:
    """The refund in its stored form, or a typed error; needs no rules, so it can run first."""
    check_money(data.amount, code="INVALID_AMOUNT", field="amount")
    return replace(
        data,
        order_id=clean(data.order_id, ORDER_ID),
        refund_id=clean(data.refund_id, REFUND_ID),
        amount=plain(data.amount),
    )


def refund_reason(refund_id: str, order_id: str) -> str:
    """The history line of a refund, shortened to the reason column when the ids are long."""
    return clip(f"Refund {refund_id} of purchase {order_id}", REASON_WIDTH)


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
