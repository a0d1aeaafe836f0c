"""The ledger's structural guarantees: append-only rows, locked members only, which races retry."""

from __future__ import annotations

import asyncio
from typing import get_type_hints

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, IntegrityError

from backend.db.tables import AuditLog, IdempotencyKey, LedgerEntry, LotAllocation, Member, Purchase
from backend.rewards import idempotency
from backend.rewards.errors import DomainError
from backend.rewards.ledger import EntryKind, Posting, Source, credit, debit, reverse_credit, settle
from backend.rewards.marketing.services import Adjustment, adjust_points
from backend.rewards.ports import Principal, Role
from backend.rewards.purchases.services import record_purchase
from backend.rewards.tiers.services import reevaluate
from backend.rewards.uow import LockedMember
from tests.helpers import assert_consistent, give, new_member, purchase, spend

CHANGES = [
    "UPDATE ledger_entry SET amount = amount + 1",
    "UPDATE ledger_entry SET kind = 'adjust'",
    "DELETE FROM ledger_entry",
    "UPDATE lot_allocation SET amount = 0",
    "DELETE FROM lot_allocation",
]


async def rows(uows, table) -> int:
    """How many rows a table holds."""
    async with uows() as uow:
        return (await uow.session.execute(select(func.count()).select_from(table))).scalar_one()


async def test_the_database_refuses_to_change_or_delete_entries_and_allocations(uows, database):
    member = await new_member(uows)
    await give(uows, member.id, 100)
    await spend(uows, member.id, 30)
    statements = [*CHANGES]
    if database.writer.dialect.name == "postgresql":
        statements += ["TRUNCATE ledger_entry CASCADE", "TRUNCATE lot_allocation"]
    for statement in statements:
        with pytest.raises(DBAPIError, match="append-only"):
            async with database.writer.begin() as conn:
                await conn.execute(text(statement))
        assert (await rows(uows, LedgerEntry), await rows(uows, LotAllocation)) == (2, 1)
    after = await assert_consistent(uows, member.id)
    assert after.balance == 70


async def test_an_orm_change_to_a_written_entry_fails_loudly(uows):
    member = await new_member(uows)
    earned = await give(uows, member.id, 100)
    with pytest.raises(DBAPIError, match="append-only"):
        async with uows() as uow:
            entry = await uow.session.get_one(LedgerEntry, earned.id)
            entry.kind = EntryKind.ADJUST
            await uow.commit()
    async with uows() as uow:
        assert (await uow.session.get_one(LedgerEntry, earned.id)).kind == EntryKind.EARN


async def test_a_staff_credit_is_written_as_adjust_the_first_time(uows):
    member = await new_member(uows)

    async def adjust(uow):
        locked = await uow.lock_member(member.id)
        entry = await credit(
            uow,
            member=locked,
            points=40,
            posting=Posting("goodwill", Source.STAFF),
            kind=EntryKind.ADJUST,
        )
        await uow.commit()
        return entry

    entry = await uows.run(adjust)
    assert (entry.kind, entry.amount) == (EntryKind.ADJUST, 40)
    assert (await assert_consistent(uows, member.id)).balance == 40


async def test_the_ledger_refuses_a_member_this_unit_of_work_did_not_lock(uows):
    member = await new_member(uows)
    earned = await give(uows, member.id, 100)
    async with uows() as other:
        foreign = await other.lock_member(member.id)
    async with uows() as uow:
        unlocked = await uow.session.get_one(Member, member.id)
        for stranger in (foreign, unlocked):
            with pytest.raises(AssertionError, match="not locked by this unit of work"):
                await debit(uow, member=stranger, points=10, posting=Posting("x", Source.OFFER))
            with pytest.raises(AssertionError, match="not locked by this unit of work"):
                await credit(uow, member=stranger, points=10, posting=Posting("x", Source.STAFF))
            with pytest.raises(AssertionError, match="not locked by this unit of work"):
                await settle(uow, member=stranger)
            with pytest.raises(AssertionError, match="not locked by this unit of work"):
                await reverse_credit(
                    uow,
                    member=stranger,
                    earn_entry_id=earned.id,
                    points=10,
                    posting=Posting("x", Source.ORDER),
                )
    async with uows() as uow:
        locked = await uow.lock_member(member.id)
        await uow.commit()  # the lock ends with the transaction
        with pytest.raises(AssertionError, match="not locked by this unit of work"):
            await debit(uow, member=locked, points=10, posting=Posting("x", Source.OFFER))
    after = await assert_consistent(uows, member.id)
    assert (after.balance, await rows(uows, LedgerEntry)) == (100, 1)


async def _collide_on_key(uow, member):
    """Claim an idempotency key that is already stored."""
    await idempotency.claim(uow, scope="test", key="taken", payload={})


async def _collide_on_uid(uow, member):
    """Enrol a second member with the first one's Firebase uid."""
    uow.session.add(Member(uid=member.uid, card_number="1", referral_code="1", **_times(uow)))
    await uow.session.flush()


async def _collide_on_card(uow, member):
    """Enrol a member with an existing card number."""
    uow.session.add(
        Member(uid="bob", card_number=member.card_number, referral_code="2", **_times(uow))
    )
    await uow.session.flush()


async def _missing_member(uow, member):
    """Write an entry for a member that does not exist (a foreign key)."""
    uow.session.add(
        LedgerEntry(
            member_id=999_999,
            kind="earn",
            amount=1,
            balance_after=1,
            pending_after=0,
            reason="x",
            source="staff",
            created_at=uow.now,
        )
    )
    await uow.session.flush()


def _times(uow):
    """The timestamps a new member row needs."""
    return {"enrolled_at": uow.now, "tier_reached_at": uow.now}


@pytest.mark.parametrize(
    ("collide", "retried"),
    [
        (_collide_on_key, True),
        (_collide_on_uid, True),
        (_collide_on_card, False),
        (_missing_member, False),
    ],
)
async def test_only_lost_races_on_idempotency_keys_and_enrolment_are_run_again(
    uows, collide, retried
):
    member = await new_member(uows)
    async with uows() as uow:
        await idempotency.claim(uow, scope="test", key="taken", payload={})
        await uow.commit()
    attempts = 0

    async def use_case(uow):
        nonlocal attempts
        attempts += 1
        if attempts == 1:
            await collide(uow, member)
        return "done"

    if retried:
        assert await uows.run(use_case) == "done"
        assert attempts == 2
    else:
        with pytest.raises(IntegrityError):
            await uows.run(use_case)
        assert attempts == 1
    assert await rows(uows, Member) == 1
    assert await rows(uows, IdempotencyKey) == 1


def test_the_ledger_types_its_members_as_locked_so_mypy_refuses_any_other():
    for function in (credit, debit, reverse_credit, settle, reevaluate):
        assert get_type_hints(function)["member"] is LockedMember, function.__name__


async def test_one_order_id_sent_at_once_for_two_members_is_recorded_once(uows):
    alice, bob = await new_member(uows), await new_member(uows, uid="bob")
    orders = [purchase("SAME-1", m.card_number, "100") for m in (alice, bob)]
    results = await asyncio.gather(
        *(uows.run(lambda uow, o=o: record_purchase(uow, data=o, actor="pos")) for o in orders),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, DomainError)]
    assert [(r.code, r.field) for r in refused] == [("IDEMPOTENCY_CONFLICT", "orderId")], results
    assert (await rows(uows, Purchase), await rows(uows, LedgerEntry)) == (1, 1)
    pending = [(await assert_consistent(uows, m.id)).pending for m in (alice, bob)]
    assert sorted(pending) == [0, 100]


async def test_one_staff_key_sent_at_once_for_two_members_adjusts_once(uows):
    alice, bob = await new_member(uows), await new_member(uows, uid="bob")
    staff = Principal(uid="mia", role=Role.MARKETING)
    adjustments = [Adjustment(m.id, 25, "Goodwill", "key-1") for m in (alice, bob)]
    results = await asyncio.gather(
        *(uows.run(lambda uow, a=a: adjust_points(uow, data=a, staff=staff)) for a in adjustments),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, DomainError)]
    assert [(r.code, r.field) for r in refused] == [("IDEMPOTENCY_CONFLICT", "idempotencyKey")]
    assert (await rows(uows, LedgerEntry), await rows(uows, AuditLog)) == (1, 1)
    balances = [(await assert_consistent(uows, m.id)).balance for m in (alice, bob)]
    assert sorted(balances) == [0, 25]
