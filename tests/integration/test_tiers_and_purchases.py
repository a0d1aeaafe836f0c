"""Tiers: reached by points earned in 12 months, kept through the grace year, multipliers."""

from __future__ import annotations

import pytest

from backend.rewards.errors import DomainError
from backend.rewards.jobs import settle_due
from backend.rewards.purchases.services import record_purchase
from tests.helpers import assert_consistent, member_row, new_member, purchase


async def buy(uows, card, order_id, amount, **kw):
    """Record a purchase as a store system."""
    data = purchase(order_id, card, amount, **kw)
    return await uows.run(lambda uow: record_purchase(uow, data=data, actor="pos"))


async def test_tier_is_reached_when_points_are_released_and_multiplies_later_purchases(uows, clock):
    member = await new_member(uows)
    await buy(uows, member.card_number, "A-1", "600")
    assert (await member_row(uows, member.id)).tier_code == "member"  # pending points do not count
    clock.advance(days=15)
    await settle_due(uows)
    assert (await member_row(uows, member.id)).tier_code == "silver"
    second = await buy(uows, member.card_number, "A-2", "100", occurred_at=clock.now())
    assert second.points == 110  # 100 × 1.1, rounded down


async def test_points_are_rounded_down_once_per_order_and_rates_differ_by_currency(uows):
    member = await new_member(uows)
    assert (await buy(uows, member.card_number, "A-1", "19.99")).points == 19
    assert (await buy(uows, member.card_number, "A-2", "1000", currency="UAH")).points == 25
    assert (await buy(uows, member.card_number, "A-3", "0.99")).points == 0
    assert (await assert_consistent(uows, member.id)).pending == 44


async def test_a_reached_tier_is_kept_through_the_grace_year_then_re_evaluated(uows, clock):
    member = await new_member(uows)
    await buy(uows, member.card_number, "A-1", "2500")
    clock.advance(days=15)
    await settle_due(uows)
    assert (await member_row(uows, member.id)).tier_code == "gold"
    clock.advance(days=300)
    await settle_due(uows)
    assert (await member_row(uows, member.id)).tier_code == "gold"
    clock.advance(days=70)  # a year after reaching gold; the points have expired too
    report = await settle_due(uows)
    after = await assert_consistent(uows, member.id)
    assert (after.tier_code, after.balance) == ("member", 0)
    assert report.tier_changes == 1


async def test_suspended_members_earn_nothing(uows):
    member = await new_member(uows)
    async with uows() as uow:
        row = await uow.lock_member(member.id)
        row.status = "suspended"
        await uow.commit()
    with pytest.raises(DomainError) as refused:
        await buy(uows, member.card_number, "A-1", "100")
    assert refused.value.code == "MEMBER_INACTIVE"
    assert (await assert_consistent(uows, member.id)).pending == 0
