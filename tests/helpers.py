"""Test helpers: enrol members, post points, and check the ledger's invariants."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from backend.db.tables import LedgerEntry, Lot, Member
from backend.rewards.ledger import Posting, Source, credit, debit
from backend.rewards.members.services import EnrollInput, enroll
from backend.rewards.purchases.rules import PurchaseInput
from backend.rewards.uow import UnitOfWork, UnitOfWorkFactory

ADULT = date(1990, 5, 17)


async def new_member(uows: UnitOfWorkFactory, uid: str = "alice", **fields: object) -> Member:
    """Enrol an adult member."""
    data = EnrollInput(**{"birth_date": ADULT, **fields})  # type: ignore[arg-type]
    return await uows.run(lambda uow: enroll(uow, uid=uid, email=f"{uid}@example.com", data=data))


async def give(uows: UnitOfWorkFactory, member_id: int, points: int, **kw: object) -> LedgerEntry:
    """Credit spendable points to a member."""

    async def use_case(uow: UnitOfWork) -> LedgerEntry:
        member = await uow.lock_member(member_id)
        entry = await credit(
            uow, member=member, points=points, posting=Posting("test", Source.STAFF), **kw
        )  # type: ignore[arg-type]
        await uow.commit()
        return entry

    return await uows.run(use_case)


async def spend(uows: UnitOfWorkFactory, member_id: int, points: int) -> LedgerEntry:
    """Spend points through the ledger's debit service."""

    async def use_case(uow: UnitOfWork) -> LedgerEntry:
        member = await uow.lock_member(member_id)
        entry = await debit(
            uow, member=member, points=points, posting=Posting("test", Source.OFFER)
        )
        await uow.commit()
        return entry

    return await uows.run(use_case)


async def member_row(uows: UnitOfWorkFactory, member_id: int) -> Member:
    """Read a member afresh."""
    async with uows() as uow:
        return await uow.session.get_one(Member, member_id)


async def assert_consistent(uows: UnitOfWorkFactory, member_id: int) -> Member:
    """Check every ledger invariant of one member and return the member."""
    async with uows() as uow:
        s = uow.session
        member = await s.get_one(Member, member_id)
        total = (
            await s.execute(
                select(func.coalesce(func.sum(LedgerEntry.amount), 0)).where(
                    LedgerEntry.member_id == member_id
                )
            )
        ).scalar_one()
        pending = (
            await s.execute(
                select(func.coalesce(func.sum(LedgerEntry.pending_delta), 0)).where(
                    LedgerEntry.member_id == member_id
                )
            )
        ).scalar_one()
        lots = list((await s.execute(select(Lot).where(Lot.member_id == member_id))).scalars())
        last = (
            await s.execute(
                select(LedgerEntry)
                .where(LedgerEntry.member_id == member_id)
                .order_by(LedgerEntry.id.desc())
                .limit(1)
            )
        ).scalar()  # type: ignore[union-attr]
    assert member.balance == total, "cached balance differs from the sum of entries"
    assert member.pending == pending, "cached pending differs from the sum of entries"
    assert all(0 <= lot.remaining <= lot.amount and lot.expired >= 0 for lot in lots)
    released = sum(lot.remaining for lot in lots if lot.released)
    assert member.balance == released - member.debt
    assert member.pending == sum(lot.remaining for lot in lots if not lot.released)
    assert member.debt == 0 or released == 0
    if last is not None:
        assert (last.balance_after, last.pending_after) == (member.balance, member.pending)
    return member


def purchase(
    order_id: str, card: str, amount: str = "100", currency: str = "EUR", **kw: object
) -> PurchaseInput:
    """An order paid now in a store."""
    from tests.conftest import START

    fields: dict[str, object] = {"channel": "store-ams-01", "occurred_at": START}
    fields.update(kw)
    return PurchaseInput(
        order_id=order_id, card_number=card, amount=Decimal(amount), currency=currency, **fields
    )  # type: ignore[arg-type]
