"""Every stored string at its column's width round-trips intact; one character more is a typed error."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import func, select

from backend.db.tables import AuditLog, IdempotencyKey, LedgerEntry, Member, Purchase
from backend.rewards.errors import DomainError
from backend.rewards.idempotency import pair_key
from backend.rewards.marketing.services import Adjustment, adjust_points
from backend.rewards.members.services import EnrollInput, ProfileChanges, enroll, update_profile
from backend.rewards.ports import Principal, Role
from backend.rewards.purchases.rules import MAX_LINES, MAX_QUANTITY, Line, RefundInput
from backend.rewards.purchases.services import record_purchase, refund_purchase
from backend.rewards.text import width
from tests.helpers import ADULT, purchase

# Multi-byte characters at full width: PostgreSQL counts characters, not bytes.
UID = "ї" * (width(Member, "uid") - 1) + "😀"
EMAIL = "a" * 64 + "@" + "d" * (width(Member, "email") - 69) + ".com"
NAME = "Я" * (width(Member, "display_name") - 2) + "👩ق"
LOCALE = "zh-Hant-TW-x-abc"  # a valid BCP 47 tag of exactly 16 characters
ZONE = "America/Argentina/ComodRivadavia"  # the longest IANA name (the column holds 64)
ORDER = "З" * (width(Purchase, "order_id") - 1) + "😀"
CHANNEL = "К" * width(Purchase, "channel")
REFUND = "Р" * 128
REASON = "П" * width(LedgerEntry, "reason")
KEY = "k" * width(LedgerEntry, "source_ref")
SKU, CATEGORY = "С" * 64, "к" * 64
STAFF = Principal(uid="s" * 128, role=Role.MARKETING)


def full_order(card: str, **changes: Any):
    """An order with every field at its maximum."""
    lines = tuple(Line(SKU, CATEGORY, Decimal("1000000"), MAX_QUANTITY) for _ in range(MAX_LINES))
    data = purchase(ORDER, card, amount="1000000", channel=CHANNEL, lines=lines)
    return replace(data, **changes)


async def rows(uows, table):
    """All rows of a table."""
    async with uows() as uow:
        return list((await uow.session.execute(select(table))).scalars())


async def counts(uows) -> list[int]:
    """Rows in every table a write touches."""
    async with uows() as uow:
        tables = (Member, LedgerEntry, Purchase, IdempotencyKey, AuditLog)
        return [
            (await uow.session.execute(select(func.count()).select_from(t))).scalar_one()
            for t in tables
        ]


async def test_every_string_field_at_its_maximum_length_reads_back_intact(uows):
    data = EnrollInput(birth_date=ADULT, display_name=NAME, locale=LOCALE, time_zone=ZONE)
    member = await uows.run(lambda uow: enroll(uow, uid=UID, email=EMAIL, data=data))
    await uows.run(lambda uow: record_purchase(uow, data=full_order(member.card_number), actor=UID))
    refund = RefundInput(ORDER, REFUND, Decimal("1"), "EUR")
    await uows.run(lambda uow: refund_purchase(uow, data=refund, actor=UID))
    adjustment = Adjustment(member.id or 0, 5, REASON, KEY)
    await uows.run(lambda uow: adjust_points(uow, data=adjustment, staff=STAFF))

    (stored,) = await rows(uows, Member)
    assert (stored.uid, stored.email, stored.display_name) == (UID, EMAIL, NAME)
    assert (stored.locale, stored.time_zone) == (LOCALE, ZONE)
    (order,) = await rows(uows, Purchase)
    assert (order.order_id, order.channel, order.recorded_by) == (ORDER, CHANNEL, UID)
    assert order.amount == Decimal("1000000") and order.refunded_amount == Decimal("1")
    assert (
        order.lines
        == [{"sku": SKU, "category": CATEGORY, "unitPrice": "1000000", "quantity": MAX_QUANTITY}]
        * MAX_LINES
    )
    earn, reverse, adjust = await rows(uows, LedgerEntry)
    assert earn.source_ref == reverse.source_ref == ORDER and earn.reason == f"Purchase {ORDER}"
    assert len(reverse.reason) == 200 and reverse.reason.startswith(f"Refund {REFUND} of purchase")
    assert (adjust.reason, adjust.source_ref, adjust.actor) == (REASON, KEY, STAFF.uid)
    keys = {(k.scope, k.key) for k in await rows(uows, IdempotencyKey)}
    assert ("purchase", ORDER) in keys and ("adjust", KEY) in keys
    assert ("refund", pair_key(ORDER, REFUND)) in keys
    (audit,) = await rows(uows, AuditLog)
    assert (audit.reason, audit.actor_uid) == (REASON, STAFF.uid)


ONE_MORE = [
    ("display_name", "x" * 81, "INVALID_DISPLAY_NAME", "displayName"),
    ("locale", "zh-Hant-TW-x-abcd", "INVALID_LOCALE", "locale"),
    ("time_zone", "Z" * 65, "INVALID_TIME_ZONE", "timeZone"),
]


@pytest.mark.parametrize(("name", "value", "code", "field"), ONE_MORE)
async def test_one_character_more_on_a_profile_field_is_refused(uows, name, value, code, field):
    data = replace(EnrollInput(birth_date=ADULT), **{name: value})
    with pytest.raises(DomainError) as refused:
        await uows.run(lambda uow: enroll(uow, uid="alice", email=None, data=data))
    assert (refused.value.code, refused.value.field) == (code, field)
    assert await counts(uows) == [0, 0, 0, 0, 0]
    await uows.run(lambda uow: enroll(uow, uid="alice", email=None, data=EnrollInput(ADULT)))
    changes = ProfileChanges(**{name: value})
    with pytest.raises(DomainError) as refused:
        await uows.run(lambda uow: update_profile(uow, uid="alice", changes=changes))
    assert (refused.value.code, refused.value.field) == (code, field)
    (member,) = await rows(uows, Member)
    assert (member.display_name, member.locale, member.time_zone) == (None, "en", "UTC")


async def test_an_unusable_account_id_is_refused_and_an_unusable_email_dropped(uows):
    data = EnrollInput(birth_date=ADULT)
    for uid in ("u" * 129, "a\x00b", "e\u0301"):  # too long, NUL, not NFC (lookups would miss it)
        with pytest.raises(DomainError) as refused:
            await uows.run(lambda uow, uid=uid: enroll(uow, uid=uid, email=None, data=data))
        assert refused.value.code == "INVALID_ACCOUNT"
    with pytest.raises(DomainError) as refused:
        await uows.run(lambda uow: update_profile(uow, uid="a\x00b", changes=ProfileChanges()))
    assert refused.value.code == "NOT_ENROLLED"
    assert await counts(uows) == [0, 0, 0, 0, 0]
    for i, email in enumerate(["a" * 250 + "@x.io", "a\x00@x.io", "no-at-sign", "a b@x.io"]):
        member = await uows.run(
            lambda uow, i=i, e=email: enroll(uow, uid=f"u{i}", email=e, data=data)
        )
        assert member.email is None, email


async def test_one_character_more_on_an_order_refund_or_adjustment_is_refused(uows):
    member = await uows.run(
        lambda uow: enroll(uow, uid="alice", email=None, data=EnrollInput(ADULT))
    )
    card = member.card_number
    big_lines = (Line(SKU, None, Decimal(1)),) * (MAX_LINES + 1)
    orders = [
        (full_order(card, order_id=ORDER + "x"), "INVALID_ORDER_ID", "orderId"),
        (full_order(card, channel=CHANNEL + "x"), "INVALID_CHANNEL", "channel"),
        (full_order(card, currency="EURO"), "UNKNOWN_CURRENCY", "currency"),
        (full_order(card, amount=Decimal("1000000.0001")), "INVALID_AMOUNT", "amount"),
        (full_order(card, lines=big_lines), "INVALID_LINE", "lines"),
        (
            full_order(card, lines=(Line(SKU + "x", None, Decimal(1)),)),
            "INVALID_LINE",
            "lines.0.sku",
        ),
        (
            full_order(card, lines=(Line(SKU, CATEGORY + "x", Decimal(1)),)),
            "INVALID_LINE",
            "lines.0.category",
        ),
        (
            full_order(card, lines=(Line(SKU, None, Decimal(1), MAX_QUANTITY + 1),)),
            "INVALID_LINE",
            "lines.0.quantity",
        ),
    ]
    for data, code, field in orders:
        with pytest.raises(DomainError) as refused:
            await uows.run(lambda uow, data=data: record_purchase(uow, data=data, actor="pos"))
        assert (refused.value.code, refused.value.field) == (code, field)
    await uows.run(lambda uow: record_purchase(uow, data=full_order(card), actor="pos"))
    before = await counts(uows)
    refunds = [
        (RefundInput(ORDER + "x", "R-1", Decimal(1), "EUR"), "INVALID_ORDER_ID", "orderId"),
        (RefundInput(ORDER, REFUND + "x", Decimal(1), "EUR"), "INVALID_REFUND_ID", "refundId"),
    ]
    for refund, code, field in refunds:
        with pytest.raises(DomainError) as refused:
            await uows.run(
                lambda uow, refund=refund: refund_purchase(uow, data=refund, actor="pos")
            )
        assert (refused.value.code, refused.value.field) == (code, field)
    adjustments = [
        (Adjustment(member.id or 0, 5, REASON + "x", KEY), "REASON_REQUIRED", "reason"),
        (
            Adjustment(member.id or 0, 5, REASON, KEY + "x"),
            "INVALID_IDEMPOTENCY_KEY",
            "idempotencyKey",
        ),
    ]
    for adjustment, code, field in adjustments:
        with pytest.raises(DomainError) as refused:
            await uows.run(lambda uow, a=adjustment: adjust_points(uow, data=a, staff=STAFF))
        assert (refused.value.code, refused.value.field) == (code, field)
    assert await counts(uows) == before
