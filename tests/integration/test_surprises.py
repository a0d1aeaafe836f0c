"""Surprises end to end in the domain: exactly once per member, holdout, schedule, push rules."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from backend.db.tables import (
    Campaign,
    Member,
    Notification,
    Offer,
    PushOutbox,
    Voucher,
    WheelPlayer,
)
from backend.rewards.marketing import campaigns
from backend.rewards.marketing.campaigns import run_due_campaigns
from backend.rewards.marketing.rules import CampaignStatus, Outcome, Reward, RewardKind, held_out
from backend.rewards.notifications.rules import Kind, PushStatus
from tests.helpers import member_row
from tests.marketing_support import (
    a_segment,
    bulk_members,
    campaign_entries,
    recipients,
    send,
    surprise,
)
from tests.push_support import member_with_devices, notifications_of, queue


async def test_a_surprise_to_2000_members_retried_3_times_and_run_by_2_workers_rewards_each_once(
    uows,
):
    # given 2,000 members (a device each) and a segment of all of them
    members = await bulk_members(uows, 2000, prefix="big", devices=True)
    segment = await a_segment(uows)
    data = surprise(segment, holdout_percent=10)
    # when marketing's call is sent 3 times at once (a retrying client) ...
    sent = await asyncio.gather(*(send(uows, data) for _ in range(3)))
    # ... and two workers run the job at the same time
    reports = await asyncio.gather(*(run_due_campaigns(uows, batch=250) for _ in range(2)))
    # then there is one campaign, and every member was reached exactly once
    assert len({c.id for c in sent}) == 1
    campaign_id = int(sent[0].id)  # type: ignore[arg-type]
    rows = await recipients(uows, campaign_id)
    assert [r.member_id for r in rows] == members
    async with uows() as uow:
        campaign = await uow.session.get_one(Campaign, campaign_id)
    holdout = {m for m in members if held_out(campaign.seed, m, 10)}
    assert {r.member_id for r in rows if r.held_out} == holdout
    assert 140 <= len(holdout) <= 260  # about 10% of 2,000
    entries = await campaign_entries(uows, campaign_id)
    assert set(entries) == set(members) - holdout and set(entries.values()) == {1}
    assert all(
        r.outcome == Outcome.REWARDED.value and r.notification_id for r in rows if not r.held_out
    )
    assert all(r.entry_id is None and r.notification_id is None for r in rows if r.held_out)
    assert sum(r.rewarded for r in reports) == 2000 - len(holdout)
    assert campaign.status == CampaignStatus.DONE.value
    # and the holdout got nothing at all: no points, no message
    for member_id in sorted(holdout)[:3]:
        assert (await member_row(uows, member_id)).balance == 0
        assert await notifications_of(uows, member_id) == []
    # and running the job again changes nothing
    assert (await run_due_campaigns(uows)).batches == 0
    assert len(await recipients(uows, campaign_id)) == 2000


async def test_a_worker_that_dies_midway_leaves_nothing_of_its_batch(uows, monkeypatch):
    # given 30 members and a surprise for them; the worker dies in its second batch, after the
    # points were written and before the messages
    members = await bulk_members(uows, 30, prefix="die")
    campaign = await send(uows, surprise(await a_segment(uows)))
    real, calls = campaigns.notify_many, []

    async def dying(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return await real(*args, **kwargs)

    monkeypatch.setattr(campaigns, "notify_many", dying)
    # when the worker runs
    with pytest.raises(RuntimeError):
        await run_due_campaigns(uows, batch=10)
    # then only the first batch is there, whole
    assert [r.member_id for r in await recipients(uows, campaign.id)] == members[:10]
    assert set(await campaign_entries(uows, campaign.id)) == set(members[:10])
    assert (await member_row(uows, members[10])).balance == 0
    # and the next run rewards the others, each once
    monkeypatch.setattr(campaigns, "notify_many", real)
    await run_due_campaigns(uows, batch=10)
    assert [r.member_id for r in await recipients(uows, campaign.id)] == members
    assert await campaign_entries(uows, campaign.id) == {m: 1 for m in members}


async def test_a_surprise_sent_at_a_later_time_waits_for_it(uows, clock):
    # given a surprise for two hours from now
    (member,) = await bulk_members(uows, 1, prefix="later")
    later = clock.now() + timedelta(hours=2)
    campaign = await send(uows, surprise(await a_segment(uows), send_at=later))
    # when the job runs before that time, nothing happens
    assert (await run_due_campaigns(uows)).batches == 0
    assert await recipients(uows, campaign.id) == []
    # and once the time has come, the member is rewarded
    clock.advance(hours=2)
    assert (await run_due_campaigns(uows)).rewarded == 1
    assert (await member_row(uows, member)).balance == 50


async def test_quiet_hours_defer_the_push_and_the_reward_is_given_at_once(uows, clock):
    # given a member in Kyiv, where it is 22:00 (quiet hours 21:00-09:00), with a phone
    clock.advance(hours=7)  # 19:00 UTC = 22:00 in Kyiv (summer time)
    member = await member_with_devices(
        uows, "olena", ["ok-olena"], time_zone="Europe/Kyiv", marketing_consent=True
    )
    campaign = await send(uows, surprise(await a_segment(uows)))
    # when the surprise goes out
    await run_due_campaigns(uows)
    # then the points are there now, and the push waits for 09:00 in Kyiv
    assert (await member_row(uows, member)).balance >= 50
    (note,) = await notifications_of(uows, member)
    assert (note.kind, note.push_status) == (Kind.SURPRISE.value, PushStatus.QUEUED.value)
    wake = clock.now().replace(hour=6) + timedelta(days=1)  # 09:00 Kyiv = 06:00 UTC
    assert note.push_at == wake
    async with uows() as uow:
        (push,) = (await uow.session.execute(select(PushOutbox))).scalars()
    assert push.not_before == wake
    assert (await recipients(uows, campaign.id))[0].outcome == Outcome.REWARDED.value


async def test_the_weekly_cap_and_consent_hold_for_surprise_pushes(uows):
    # given one member at the weekly cap of marketing pushes and one without consent
    capped = await member_with_devices(uows, "cap", ["ok-cap"], marketing_consent=True)
    await queue(uows, capped, count=3, kind=Kind.SURPRISE)
    shy = await member_with_devices(uows, "shy", ["ok-shy"], marketing_consent=False)
    campaign = await send(uows, surprise(await a_segment(uows)))
    # when the surprise goes out
    await run_due_campaigns(uows)
    # then both get the reward and the message in the inbox, but no push
    notes = {m: (await notifications_of(uows, m))[-1] for m in (capped, shy)}
    assert notes[capped].push_status == PushStatus.CAPPED.value
    assert notes[shy].push_status == PushStatus.NO_CONSENT.value
    async with uows() as uow:
        stmt = (
            select(PushOutbox.id)
            .join(Notification)
            .where(
                Notification.id.in_([n.id for n in notes.values()])  # type: ignore[union-attr]
            )
        )
        assert (await uow.session.execute(stmt)).all() == []
    assert await campaign_entries(uows, campaign.id) == {capped: 1, shy: 1}


async def test_suspended_members_and_members_outside_the_segment_are_not_reached(uows):
    # given an active member, a suspended one
    active, suspended = await bulk_members(uows, 2, prefix="sus")
    async with uows() as uow:
        await uow.session.execute(
            update(Member).where(Member.id == suspended).values(status="suspended")  # type: ignore[arg-type]
        )
        await uow.commit()
    campaign = await send(uows, surprise(await a_segment(uows)))
    await run_due_campaigns(uows)
    assert [r.member_id for r in await recipients(uows, campaign.id)] == [active]


async def test_extra_spins_bank_a_wheel_spin_announced_by_the_surprise_alone(uows, clock):
    # given an EXTRA_SPIN gift offer with one unit left and two members
    first, second = await bulk_members(uows, 2, prefix="spin")
    async with uows() as uow:
        offer = Offer(kind="extra_spin", texts={"en": {"title": "An extra spin", "description": ""}},
                      points_cost=0, starts_at=clock.now(), stock=1, voucher_valid_days=7,
                      listed=False, created_by="mia", created_at=clock.now(),
                      updated_at=clock.now())  # fmt: skip
        uow.session.add(offer)
        await uow.commit()
    reward = Reward(RewardKind.EXTRA_SPINS, offer_id=offer.id)
    campaign = await send(uows, surprise(await a_segment(uows), reward=reward))
    # when the surprise goes out
    await run_due_campaigns(uows)
    # then the first member has a spin banked (its voucher used at once), announced by the
    # surprise only; the second nothing
    rows = await recipients(uows, campaign.id)
    assert [(r.member_id, r.outcome) for r in rows] == [
        (first, Outcome.REWARDED.value),
        (second, Outcome.UNAVAILABLE.value),
    ]
    async with uows() as uow:
        voucher = await uow.session.get_one(Voucher, rows[0].voucher_id)
    assert (voucher.origin, voucher.offer_id, voucher.points_spent) == ("surprise", offer.id, 0)
    async with uows() as uow:
        player = await uow.session.get_one(WheelPlayer, first)
    assert (player.extra_spins, voucher.used_by) == (1, "wheel")
    (note,) = await notifications_of(uows, first, vouchers=True)
    assert (note.kind, note.reward) == (Kind.SURPRISE.value, "An extra spin")
    assert await notifications_of(uows, second, vouchers=True) == []
    assert await campaign_entries(uows, campaign.id) == {}
