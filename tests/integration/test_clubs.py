"""Club services on both databases: what the offers side reads, concurrent set-up, invitations."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from backend.db.tables import Club
from backend.rewards.clubs.queries import active_club_ids, active_club_ids_by_member
from backend.rewards.clubs.rules import ClubDraft
from backend.rewards.clubs.services import ClubChanges, create_club, join_club, update_club
from backend.rewards.errors import DomainError
from backend.rewards.offers.facts import MemberOffers
from backend.rewards.ports import Principal, Role
from tests.helpers import give, new_member

MIA = Principal(uid="mia", role=Role.MARKETING)


def draft(code: str, price: int | None = 100) -> ClubDraft:
    """A club of 12 months, bought for `price` points (invitation-only when None)."""
    return ClubDraft(
        code=code,
        name={"en": code.title()},
        description={},
        perks=(),
        points_price=price,
        term_months=12,
        invitation_only=price is None,
    )


async def new_club(uows, code: str) -> int:
    """Create a club and return its id."""
    club = await uows.run(lambda uow: create_club(uow, draft=draft(code), staff=MIA))
    return club.id


async def joined(uows, uid: str, club_id: int, key: str) -> None:
    """Join a club as a member."""
    await uows.run(lambda uow: join_club(uow, uid=uid, club_id=club_id, idempotency_key=key))


async def test_active_club_ids_of_several_members_in_one_read(uows, database, clock):
    alice, bob, carol = [await new_member(uows, uid) for uid in ("alice", "bob", "carol")]
    sneakers, coffee, closed = [await new_club(uows, c) for c in ("sneakers", "coffee", "closed")]
    for member in (alice, bob):
        await give(uows, member.id, 1000)
    await joined(uows, "alice", sneakers, "a")
    await joined(uows, "alice", coffee, "b")
    await joined(uows, "alice", closed, "c")
    await joined(uows, "bob", coffee, "d")
    changes = ClubChanges(active=False)
    await uows.run(lambda uow: update_club(uow, club_id=closed, changes=changes, staff=MIA))

    async with database.reader.connect() as conn:
        found = await active_club_ids_by_member(conn, [alice.id, bob.id, carol.id], now=clock.now())
        single = await active_club_ids(conn, member_id=bob.id, now=clock.now())

    assert found == {alice.id: {sneakers, coffee}, bob.id: {coffee}, carol.id: frozenset()}
    assert single == {coffee}
    offers_side = await database.read(MemberOffers(alice.id, alice.tier_code, clock.now()).run)
    assert offers_side.facts.club_ids == {sneakers, coffee}


async def test_a_renewal_counts_from_where_it_starts_and_the_offers_side_reads_in_its_write(
    uows, clock
):
    member = await new_member(uows)
    await give(uows, member.id, 1000)
    club = await new_club(uows, "sneakers")
    await joined(uows, "alice", club, "first")
    clock.advance(days=300)
    await joined(uows, "alice", club, "renewal")
    async with uows() as uow:  # e.g. a redemption checking a club audience in its transaction
        assert await active_club_ids(uow.session, member_id=member.id, now=clock.now()) == {club}
        later = clock.now() + timedelta(days=400)
        assert await active_club_ids(uow.session, member_id=member.id, now=later) == {club}
        over = clock.now() + timedelta(days=800)
        assert await active_club_ids(uow.session, member_id=member.id, now=over) == frozenset()


async def test_two_staff_creating_the_same_code_at_once_make_one_club(uows, database):
    async def attempt() -> str:
        try:
            await new_club(uows, "sneakers")
        except DomainError as error:
            return error.code
        return "created"

    answers = await asyncio.gather(*(attempt() for _ in range(6)))

    assert sorted(answers) == ["CODE_TAKEN"] * 5 + ["created"]
    async with database.reader.connect() as conn:
        assert (await conn.execute(select(func.count()).select_from(Club))).scalar_one() == 1


async def test_an_invitation_only_club_never_stores_a_price(uows):
    club = await uows.run(lambda uow: create_club(uow, draft=draft("vip", None), staff=MIA))
    assert (club.invitation_only, club.points_price) == (True, None)
    with pytest.raises(DomainError) as refused:
        await joined(uows, "nobody", club.id, "k")
    assert refused.value.code == "NOT_ENROLLED"
