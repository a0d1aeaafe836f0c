"""Segments: each part of a filter selects the right members, on both databases."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import insert, update

from backend.db.tables import Club, ClubMembership, Member, MemberCategory, Purchase, StyleProfile
from backend.rewards.marketing.segments import SegmentFilter, member_ids_after, preview
from tests.marketing_support import bulk_members


@pytest.fixture
async def people(uows, clock):
    """Ana (gold, nl, March, 500 points, consent, a device, brown hair, classic and sporty,
    black; bought sneakers 10 days ago; a running club term), Ben (member, en, July, 50 points,
    no consent, blonde, casual; bought outerwear 200 days ago), Cleo (silver, uk, 0 points, no
    StyleID, never bought, an ended club term) and Dan (suspended, otherwise like Ana)."""
    now = clock.now()
    ana, dan = await bulk_members(
        uows, 2, prefix="ana", devices=True, tier_code="gold", locale="nl-NL", balance=500
    )
    (ben,) = await bulk_members(
        uows, 1, prefix="ben", locale="en", balance=50, marketing_consent=False
    )
    (cleo,) = await bulk_members(uows, 1, prefix="cleo", tier_code="silver", locale="uk")
    async with uows() as uow:
        club = Club(code="sneakers", name={"en": "Sneakers"}, points_price=100, term_months=12,
                    created_at=now, updated_at=now)  # fmt: skip
        uow.session.add(club)
        await uow.session.flush()
        s = uow.session
        await s.execute(update(Member).where(Member.id.in_([ana, dan])).values(birth_date=now.date().replace(month=3, day=5)))  # type: ignore[union-attr]  # fmt: skip
        await s.execute(update(Member).where(Member.id == ben).values(birth_date=now.date().replace(month=7, day=9)))  # type: ignore[arg-type]  # fmt: skip
        await s.execute(update(Member).where(Member.id == dan).values(status="suspended"))  # type: ignore[arg-type]  # fmt: skip
        styles = [
            {"member_id": m, "hair_colour": "brown", "styles": ["classic", "sporty"],
             "colours": ["black"], "updated_at": now}
            for m in (ana, dan)
        ] + [{"member_id": ben, "hair_colour": "blonde", "styles": ["casual"], "colours": [], "updated_at": now}]  # fmt: skip
        lists = {"favourite_categories": [], "disliked_categories": []}
        await s.execute(insert(StyleProfile), [{**lists, **row} for row in styles])
        bought = [(ana, "sneakers", 10), (dan, "sneakers", 10), (ben, "outerwear", 200)]
        await s.execute(
            insert(MemberCategory),
            [{"member_id": m, "category": c, "bought": 1, "viewed": 0} for m, c, _ in bought],
        )
        await s.execute(
            insert(Purchase),
            [
                {"order_id": f"O-{m}", "member_id": m, "amount": Decimal(10), "currency": "EUR",
                 "channel": "web", "occurred_at": now - timedelta(days=days), "lines": [],
                 "points": 10, "refunded_amount": Decimal(0), "reversed_points": 0,
                 "recorded_by": "pos", "created_at": now}
                for m, _, days in bought
            ],
        )  # fmt: skip
        terms = [(ana, now - timedelta(days=30), now + timedelta(days=300)),
                 (dan, now - timedelta(days=30), now + timedelta(days=300)),
                 (cleo, now - timedelta(days=400), now - timedelta(days=35))]  # fmt: skip
        await s.execute(
            insert(ClubMembership),
            [{"member_id": m, "club_id": club.id, "started_at": a, "ends_at": b, "source": "points",
              "points": 100, "created_at": now} for m, a, b in terms],
        )  # fmt: skip
        await uow.commit()
    return {"ana": ana, "ben": ben, "cleo": cleo, "club": club.id}


async def members_of(database, spec: SegmentFilter, now) -> set[int]:
    """The segment's member ids, through the statement the campaign job uses."""
    async with database.reader.connect() as conn:
        stmt = member_ids_after(spec, now=now, dialect=conn.dialect.name, after=0, limit=100)
        return set((await conn.execute(stmt)).scalars())


async def test_each_part_of_a_filter_selects_the_right_members_and_a_preview_counts_them(
    database, people, clock
):
    now = clock.now()
    ana, ben, cleo = people["ana"], people["ben"], people["cleo"]
    cases = [
        (SegmentFilter(), {ana, ben, cleo}),  # never the suspended member
        (SegmentFilter(tiers=("gold", "silver")), {ana, cleo}),
        (SegmentFilter(club_ids=(people["club"],)), {ana}),  # Cleo's term has ended
        (SegmentFilter(hair_colours=("brown",)), {ana}),
        (SegmentFilter(body_shapes=("pear",)), set()),
        (SegmentFilter(styles=("sporty", "casual")), {ana, ben}),
        (SegmentFilter(colours=("black",)), {ana}),
        (SegmentFilter(categories_bought=("outerwear",)), {ben}),
        (SegmentFilter(last_purchase_after=now - timedelta(days=30)), {ana}),
        (SegmentFilter(last_purchase_before=now - timedelta(days=30)), {ben}),  # not never-buyers
        (SegmentFilter(inactive_days=30), {ben, cleo}),
        (SegmentFilter(balance_min=50, balance_max=500), {ana, ben}),
        (SegmentFilter(balance_min=51), {ana}),
        (SegmentFilter(balance_max=0), {cleo}),
        (SegmentFilter(birthday_month=3), {ana}),
        (SegmentFilter(languages=("nl",)), {ana}),
        (SegmentFilter(languages=("uk", "en")), {ben, cleo}),
        (SegmentFilter(marketing_consent=False), {ben}),
        (SegmentFilter(tiers=("gold",), languages=("nl",), styles=("classic",)), {ana}),
        (SegmentFilter(tiers=("gold",), languages=("en",)), set()),
    ]
    for spec, expected in cases:
        assert await members_of(database, spec, now) == expected, spec
    # and a preview counts them, those with consent and those a push reaches (a device)
    async with database.reader.connect() as conn:
        everyone = await preview(conn, SegmentFilter(), now=clock.now())
        gold = await preview(conn, SegmentFilter(tiers=("gold",)), now=clock.now())
    assert (everyone.members, everyone.with_consent, everyone.reachable) == (3, 2, 1)
    assert (gold.members, gold.with_consent, gold.reachable) == (1, 1, 1)
