"""Demo data so a fresh local service shows something real in GraphiQL (idempotent)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from backend.rewards.ledger import Posting, Source, debit
from backend.rewards.members.services import EnrollInput, enroll, member_by_uid
from backend.rewards.purchases.rules import Line, PurchaseInput
from backend.rewards.purchases.services import record_purchase
from backend.rewards.uow import UnitOfWork, UnitOfWorkFactory

# Fixed, valid (Luhn) card numbers, so the README's operations can name the members as written.
DEMO_MEMBERS = [
    ("demo-member", "8000000000000011", "Daria", "uk", "Europe/Kyiv"),
    ("demo-member-2", "8000000000000029", "Sanne", "nl-NL", "Europe/Amsterdam"),
    ("demo-member-3", "8000000000000037", "Layla", "ar", "Asia/Dubai"),
]
ORDERS = [
    ("149.95", "denim", "store-ams-01"),
    ("59.00", "accessories", "online"),
    ("420.00", "outerwear", "store-kyiv-02"),
]


async def seed_demo(uows: UnitOfWorkFactory) -> list[str]:
    """Enrol the demo members, record their purchases and a spend; skip what already exists."""
    created = []
    for uid, card_number, name, locale, zone in DEMO_MEMBERS:
        async with uows() as uow:
            exists = await member_by_uid(uow, uid) is not None
        if exists:
            continue
        data = EnrollInput(
            birth_date=date(1992, 3, 14),
            display_name=name,
            locale=locale,
            time_zone=zone,
            marketing_consent=True,
        )
        member = await uows.run(
            lambda uow, uid=uid, data=data: enroll(
                uow, uid=uid, email=f"{uid}@example.com", data=data
            )
        )
        await uows.run(
            lambda uow, member_id=member.id, card=card_number: _give_card(uow, member_id, card)
        )
        for n, (amount, category, channel) in enumerate(ORDERS, start=1):
            order = PurchaseInput(
                order_id=f"DEMO-{uid}-{n}",
                card_number=card_number,
                amount=Decimal(amount),
                currency="EUR",
                channel=channel,
                occurred_at=uows.clock.now() - timedelta(days=20 - n),
                lines=(Line(f"SKU-{category.upper()}-{n}", category, Decimal(amount)),),
            )
            await uows.run(
                lambda uow, order=order: record_purchase(uow, data=order, actor="demo-seed")
            )
        await uows.run(lambda uow, member_id=member.id: _welcome_spend(uow, member_id))
        created.append(uid)
    return created


async def _give_card(uow: UnitOfWork, member_id: int | None, card_number: str) -> None:
    """Replace the random card number enrolment gave with the demo member's fixed one."""
    member = await uow.lock_member(member_id or 0)
    member.card_number = card_number
    await uow.commit()


async def _welcome_spend(uow: UnitOfWork, member_id: int | None) -> None:
    """Give demo points and spend some, so history shows every kind of entry."""
    from backend.rewards.ledger import credit

    member = await uow.lock_member(member_id or 0)
    await credit(
        uow,
        member=member,
        points=300,
        posting=Posting("Demo welcome bonus", Source.CAMPAIGN, "demo"),
    )
    await debit(
        uow,
        member=member,
        points=120,
        posting=Posting("Demo voucher: free tote bag", Source.OFFER, "demo"),
    )
    await uow.commit()
