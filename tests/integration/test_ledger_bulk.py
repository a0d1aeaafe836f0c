"""`credit_each`: the same entries, lots and monthly totals as `credit`, for many members at once."""

from __future__ import annotations

from sqlalchemy import select

from backend.db.tables import EarnedMonth, LedgerEntry, Lot, TierMonth
from backend.rewards.ledger import Posting, Source, credit, credit_each
from backend.rewards.uow import UnitOfWork
from tests.helpers import assert_consistent, give
from tests.marketing_support import bulk_members

POSTING = Posting("Surprise: test", Source.CAMPAIGN, "campaign:1", "mia")
SAME = ("kind", "amount", "pending_delta", "reason", "source", "source_ref", "actor")


async def test_credit_each_writes_what_credit_writes_member_by_member(uows, clock):
    # given four members, one of whom already has points
    one, two, three, alone = await bulk_members(uows, 4, prefix="bulk")
    await give(uows, two, 30)

    async def use_case(uow: UnitOfWork) -> dict[int, int]:
        members = await uow.lock_members([one, two, three])
        written = await credit_each(uow, members=members, points=75, posting=POSTING)
        (single,) = await uow.lock_members([alone])
        await credit(uow, member=single, points=75, posting=POSTING)
        await uow.commit()
        return written

    # when three are credited together and one alone
    written = await uows.run(use_case)
    # then each has one entry, one lot and the monthly totals, exactly as the single credit wrote them
    assert set(written) == {one, two, three}
    async with uows() as uow:
        entries = {
            e.member_id: e
            for e in (
                await uow.session.execute(
                    select(LedgerEntry).where(LedgerEntry.source == Source.CAMPAIGN.value)  # type: ignore[arg-type]
                )
            ).scalars()
        }
        lots = {lot.entry_id: lot for lot in (await uow.session.execute(select(Lot))).scalars()}
        months = {t.member_id: t.points for t in (await uow.session.execute(select(TierMonth))).scalars()}  # fmt: skip
        earned = {t.member_id: t.points for t in (await uow.session.execute(select(EarnedMonth))).scalars()}  # fmt: skip
    reference = entries[alone]
    for member_id in (one, two, three):
        entry = entries[member_id]
        assert written[member_id] == entry.id
        assert [getattr(entry, f) for f in SAME] == [getattr(reference, f) for f in SAME]
        lot, single_lot = lots[entry.id], lots[reference.id]
        assert (lot.amount, lot.remaining, lot.expires_at, lot.released) == (
            single_lot.amount,
            single_lot.remaining,
            single_lot.expires_at,
            single_lot.released,
        )
    assert entries[two].balance_after == 105
    assert months[one] == months[alone] == 75
    assert earned[one] == earned[three] == earned[alone] == 75  # the leaderboard counts them too
    for member_id in (one, two, three, alone):
        await assert_consistent(uows, member_id)
