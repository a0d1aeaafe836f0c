"""Segments, the campaign job and campaign results find their rows through indexes."""

from __future__ import annotations

from backend.rewards.marketing.campaigns import run_due_campaigns
from backend.rewards.marketing.segments import SegmentFilter, preview
from tests.api.test_query_plans import HOT, capturing, full_scans
from tests.marketing_support import a_segment, bulk_members, send, surprise

# Besides the tables every member's history grows: what campaigns and pushes add per member.
GROWING = (*HOT, "campaign_recipient", "notification", "push_outbox", "voucher", "device")
EVERY_PART = SegmentFilter(
    tiers=("member",),
    club_ids=(1,),
    hair_colours=("brown",),
    styles=("sporty",),
    categories_bought=("denim",),
    last_purchase_before=None,
    inactive_days=30,
    balance_min=0,
    birthday_month=5,
    languages=("en",),
    marketing_consent=True,
)


def reads(sent: list[tuple[str, object]]) -> list[tuple[str, object]]:
    """The statements that look rows up (inserts, batched in many-row forms, scan nothing)."""
    return [(s, p) for s, p in sent if not s.lstrip().upper().startswith("INSERT")]


async def test_the_campaign_job_results_and_segments_read_only_through_indexes(
    api, uows, database, clock
):
    await bulk_members(uows, 20, prefix="plan", devices=True)
    await send(uows, surprise(await a_segment(uows), holdout_percent=20))
    with capturing(database) as sent:
        await run_due_campaigns(uows, batch=8)
        body = await api(
            "{ campaigns(first: 5) { edges { node { results { targeted delivered "
            "treated { purchases } } } } } }",
            token="marketing:mia",
        )
    assert body["data"]["campaigns"]["edges"][0]["node"]["results"]["targeted"] == 20
    assert len(reads(sent)) > 10
    assert await full_scans(database, reads(sent), GROWING) == []
    # and counting a segment with every part reads each member's facts through indexes
    with capturing(database) as sent:
        async with database.reader.connect() as conn:
            await preview(conn, EVERY_PART, now=clock.now())
    # Counting a segment reads the members (the question is about all of them), nothing else whole.
    others = tuple(t for t in GROWING if t != "member")
    assert await full_scans(database, reads(sent), others) == []
