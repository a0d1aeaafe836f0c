"""StyleID use cases on both databases: completion awards once, refusals change nothing, facts."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime

import pytest
from sqlalchemy import func, insert, select, update

from backend.db.tables import (
    EarningRule,
    IdempotencyKey,
    LedgerEntry,
    Member,
    StyleOption,
    StyleProfile,
)
from backend.rewards.errors import DomainError
from backend.rewards.offers.facts import MemberOffers
from backend.rewards.profile.queries import choosable, published_options
from backend.rewards.profile.rules import StyleChanges, StyleFacts, StyleKind
from backend.rewards.profile.services import SavedProfile, update_style_profile
from backend.rewards.text import width
from tests.helpers import assert_consistent, new_member

COMPLETE = StyleChanges(
    hair_colour="blonde",
    body_shape="pear",
    top_size="m",
    bottom_size="38",
    shoe_size="38.5",
    colours=["black", "navy"],
    styles=["sporty", "casual"],
    favourite_categories=["tea", "knitwear"],
    disliked_categories=["coffee"],
)


async def style_facts(database, member) -> StyleFacts:
    """The StyleID part of the member's facts as offer decisions read them."""
    read = MemberOffers(member.id, member.tier_code, datetime.now(UTC))
    facts = (await database.read(read.run)).facts
    return StyleFacts(
        style_tags=facts.style_tags,
        favourite_categories=facts.favourite_categories,
        disliked_categories=facts.disliked_categories,
    )


async def save(uows, changes: StyleChanges, uid: str = "alice") -> SavedProfile:
    """Run one profile update."""
    return await uows.run(lambda uow: update_style_profile(uow, uid=uid, changes=changes))


async def snapshot(uows) -> tuple:
    """Everything a profile update may write: profiles, entries, keys and balances."""
    async with uows() as uow:
        s = uow.session
        profiles = [
            (p.member_id, p.hair_colour, p.colours, p.disliked_categories, p.completed_at)
            for p in (await s.execute(select(StyleProfile))).scalars()
        ]
        entries = (await s.execute(select(func.count()).select_from(LedgerEntry))).scalar_one()
        keys = (await s.execute(select(func.count()).select_from(IdempotencyKey))).scalar_one()
        balances = (await s.execute(select(Member.id, Member.balance))).all()
    return profiles, entries, keys, sorted(balances)


async def awards(uows, member_id: int) -> list[int]:
    """The completion award entries of a member."""
    async with uows() as uow:
        stmt = select(LedgerEntry.amount).where(
            LedgerEntry.member_id == member_id, LedgerEntry.reason == "StyleID completed"
        )
        return list((await uow.session.execute(stmt)).scalars())


async def test_completing_the_profile_awards_points_once_even_after_clearing_it(uows, clock):
    member = await new_member(uows)
    first = await save(uows, replace(COMPLETE, favourite_categories=None))
    assert (first.points_awarded, first.completed_at) == (0, None)
    clock.advance(minutes=1)
    done = await save(uows, StyleChanges(favourite_categories=["tea"]))
    assert (done.points_awarded, done.completed_at) == (100, clock.now())
    assert done.answers.colours == ("black", "navy")  # earlier answers kept
    again = await save(uows, COMPLETE)  # a replay of a completing update
    assert again.points_awarded == 0 and again.completed_at == done.completed_at
    cleared = await save(uows, StyleChanges(hair_colour="", colours=[], styles=[]))
    assert cleared.answers.hair_colour is None and cleared.completed_at == done.completed_at
    refilled = await save(uows, COMPLETE)
    assert refilled.points_awarded == 0
    assert await awards(uows, member.id) == [100]
    stored = await assert_consistent(uows, member.id)
    assert stored.balance == 100
    async with uows() as uow:
        entry = (
            await uow.session.execute(select(LedgerEntry).where(LedgerEntry.member_id == member.id))
        ).scalar_one()
    assert (entry.kind, entry.source, entry.source_ref) == ("earn", "action", "style-id")


async def test_ten_concurrent_completing_updates_award_exactly_once(uows):
    member = await new_member(uows)
    results = await asyncio.gather(*(save(uows, COMPLETE) for _ in range(10)))
    assert sorted(r.points_awarded for r in results) == [0] * 9 + [100]
    assert len({r.completed_at for r in results}) == 1
    assert await awards(uows, member.id) == [100]
    assert (await assert_consistent(uows, member.id)).balance == 100


async def test_ten_members_completing_at_once_each_earn_once(uows):
    members = [await new_member(uows, f"m{i}") for i in range(10)]
    await asyncio.gather(
        *(save(uows, COMPLETE, f"m{i}") for i in range(10) for _ in range(2)),
        return_exceptions=False,
    )
    for member in members:
        assert await awards(uows, member.id) == [100]


async def test_the_award_follows_the_earning_rule(uows, database):
    async with database.writer.begin() as conn:
        await conn.execute(
            update(EarningRule)
            .where(EarningRule.action == "style_id_completed")
            .values(points=0, lifetime_cap=None)
        )
    member = await new_member(uows)
    done = await save(uows, COMPLETE)
    assert done.points_awarded == 0 and done.completed_at is not None
    assert await awards(uows, member.id) == []
    assert (await save(uows, COMPLETE)).completed_at == done.completed_at


REFUSALS = [
    (StyleChanges(hair_colour="green"), "UNKNOWN_OPTION", "hairColour"),
    (StyleChanges(shoe_size="38\x00"), "UNKNOWN_OPTION", "shoeSize"),
    (StyleChanges(top_size="m" * 65), "UNKNOWN_OPTION", "topSize"),
    (StyleChanges(bottom_size="\ud800"), "UNKNOWN_OPTION", "bottomSize"),
    (StyleChanges(colours=["black", "black"]), "DUPLICATE_CHOICE", "colours.1"),
    (StyleChanges(styles=["casual"] + ["x"] * 10), "TOO_MANY_CHOICES", "styles"),
    (
        StyleChanges(favourite_categories=["tea", "coffee"]),
        "LIKED_AND_DISLIKED",
        "favouriteCategories.1",
    ),
    (StyleChanges(disliked_categories=["knitwear"]), "LIKED_AND_DISLIKED", "dislikedCategories.0"),
    (replace(COMPLETE, colours=["black", "mauve"]), "UNKNOWN_OPTION", "colours.1"),
]


@pytest.mark.parametrize(("changes", "code", "field"), REFUSALS)
async def test_a_refused_update_changes_nothing(uows, changes, code, field):
    await new_member(uows)
    await save(uows, replace(COMPLETE, hair_colour=None))
    before = await snapshot(uows)
    with pytest.raises(DomainError) as refused:
        await save(uows, changes)
    assert (refused.value.code, refused.value.field) == (code, field)
    assert await snapshot(uows) == before


async def test_a_refused_completing_update_awards_nothing(uows):
    await new_member(uows)
    before = await snapshot(uows)
    with pytest.raises(DomainError):
        await save(uows, replace(COMPLETE, disliked_categories=["tea"]))
    assert await snapshot(uows) == before


async def test_only_active_members_update_their_profile(uows):
    with pytest.raises(DomainError) as refused:
        await save(uows, COMPLETE, uid="nobody")
    assert refused.value.code == "NOT_ENROLLED"
    with pytest.raises(DomainError) as refused:
        await save(uows, COMPLETE, uid="a\x00b")
    assert refused.value.code == "NOT_ENROLLED"
    member = await new_member(uows)
    async with uows() as uow:
        locked = await uow.lock_member(member.id)
        locked.status = "suspended"
        await uow.commit()
    before = await snapshot(uows)
    with pytest.raises(DomainError) as refused:
        await save(uows, COMPLETE)
    assert refused.value.code == "MEMBER_INACTIVE"
    assert await snapshot(uows) == before


# At the column's full width, in multi-byte characters: PostgreSQL counts characters.
LONG_CODE = "ї" * (width(StyleOption, "code") - 1) + "😀"


async def test_an_option_code_at_the_full_width_is_stored_and_retired_ones_are_refused(
    uows, database
):
    async with database.writer.begin() as conn:
        for kind in ("style", "hair_colour"):
            await conn.execute(
                insert(StyleOption).values(
                    kind=kind, code=LONG_CODE, position=99, labels={"en": "ї" * 200}, retired=False
                )
            )
    member = await new_member(uows)
    saved = await save(uows, StyleChanges(styles=[LONG_CODE], hair_colour=LONG_CODE))
    assert (saved.answers.styles, saved.answers.hair_colour) == ((LONG_CODE,), LONG_CODE)
    async with uows() as uow:
        stored = await uow.session.get_one(StyleProfile, member.id)
    assert (stored.styles, stored.hair_colour) == ([LONG_CODE], LONG_CODE)
    async with database.reader.connect() as conn:
        published = await published_options(conn)
    assert (await style_facts(database, member)).style_tags == {
        f"style:{LONG_CODE}",
        f"hair_colour:{LONG_CODE}",
    }
    assert any(o.code == LONG_CODE and o.kind == StyleKind.STYLE for o in published)
    async with database.writer.begin() as conn:
        await conn.execute(
            update(StyleOption).where(StyleOption.code == LONG_CODE).values(retired=True)
        )
    kept = await save(uows, StyleChanges(colours=["black"]))  # untouched answers stay
    assert kept.answers.styles == (LONG_CODE,)
    with pytest.raises(DomainError) as refused:
        await save(uows, StyleChanges(styles=[LONG_CODE]))
    assert (refused.value.code, refused.value.field) == ("UNKNOWN_OPTION", "styles.0")


async def test_style_facts_are_what_the_offers_side_sees(uows, database):
    alice = await new_member(uows, "alice")
    bob = await new_member(uows, "bob")
    await save(uows, COMPLETE, "alice")
    found = await style_facts(database, alice)
    assert await style_facts(database, bob) == StyleFacts()
    assert found.favourite_categories == {"tea", "knitwear"}
    assert found.disliked_categories == {"coffee"}
    assert "style:sporty" in found.style_tags


async def test_the_seeded_lists_cover_every_kind_with_four_languages(database):
    async with database.reader.connect() as conn:
        codes = await choosable(conn)
        published = await published_options(conn)
    assert all(codes[kind] for kind in StyleKind)
    assert {"35", "35.5", "47.5", "48"} <= codes[StyleKind.SHOE_SIZE]
    assert {"coffee", "tea", "outerwear", "jeans", "accessories"} <= codes[StyleKind.CATEGORY]
    translated = [o for o in published if o.kind not in SIZES]
    assert all(set(o.labels) == {"en", "nl", "uk", "ar"} for o in translated)


SIZES = {StyleKind.TOP_SIZE, StyleKind.BOTTOM_SIZE, StyleKind.SHOE_SIZE}
