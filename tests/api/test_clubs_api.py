"""Clubs over the API: marketing sets them up and invites, members list and join; refusals change nothing."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from backend.db.tables import AuditLog, ClubMembership, LedgerEntry
from backend.rewards.clubs.queries import active_club_ids
from backend.rewards.clubs.rules import term_end
from tests.api.club_operations import (
    CLUBS,
    CREATE,
    INVITE,
    JOIN,
    MIA,
    UPDATE,
    club_input,
    create,
    join,
    pk,
    state,
)
from tests.api.operations import ENROLL
from tests.api.test_query_counts import counting_checkouts
from tests.helpers import assert_consistent, give, member_row

ALICE = "member:alice"


async def enrolled(api, token: str = ALICE, locale: str = "uk") -> tuple[int, str]:
    """Enrol a member; return their row id and card number."""
    body = await api(ENROLL, {"input": {"birthDate": "1990-05-17", "locale": locale}}, token)
    member = body["data"]["enroll"]["member"]
    return pk(member["id"]), member["cardNumber"]


async def listed(api, token: str = ALICE, first: int = 20) -> list[dict]:
    """The clubs a member sees."""
    body = await api(CLUBS, {"first": first}, token)
    assert "errors" not in body, body
    return [e["node"] for e in body["data"]["clubs"]["edges"]]


async def test_marketing_sets_up_a_club_and_a_member_buys_a_term_with_points(
    api, uows, database, clock
):
    club = await create(api)
    assert (club["code"], club["name"], club["pointsPrice"], club["status"]) == (
        "sneakers",
        "Sneakers Club",
        400,
        "NOT_MEMBER",
    )
    member_id, _ = await enrolled(api)
    await give(uows, member_id, 500)
    (seen,) = await listed(api)
    assert (seen["name"], seen["perks"], seen["status"], seen["memberUntil"]) == (
        "Клуб кросівок",
        ["Early access to drops"],
        "NOT_MEMBER",
        None,
    )

    joined = await join(api, ALICE, club["id"])

    end = term_end(clock.now(), 12)
    assert joined["errors"] == []
    assert joined["membership"] == {
        "startedAt": clock.now().isoformat(),
        "endsAt": end.isoformat(),
        "source": "POINTS",
        "points": 400,
        "club": {"code": "sneakers", "status": "MEMBER", "memberUntil": end.isoformat()},
    }
    member = await assert_consistent(uows, member_id)
    assert member.balance == 100
    async with database.reader.connect() as conn:
        entry = (await conn.execute(select(LedgerEntry).order_by(LedgerEntry.id.desc()))).first()
        audit = (await conn.execute(select(AuditLog))).all()
        assert await active_club_ids(conn, member_id=member_id, now=clock.now()) == {pk(club["id"])}
    assert (entry.kind, entry.amount, entry.source, entry.source_ref) == (
        "redeem",
        -400,
        "club",
        "sneakers",
    )
    assert [(a.actor_uid, a.action) for a in audit] == [("mia", "create_club")]
    (seen,) = await listed(api)
    assert (seen["status"], seen["memberUntil"]) == ("MEMBER", end.isoformat())


async def test_a_replay_answers_the_first_term_and_another_club_under_the_key_is_a_conflict(
    api, uows, database
):
    first_club, other = await create(api), await create(api, "coffee")
    member_id, _ = await enrolled(api)
    await give(uows, member_id, 1000)
    joined = await join(api, ALICE, first_club["id"], "k-1")
    before = await state(database)

    assert await join(api, ALICE, first_club["id"], "k-1") == joined
    conflict = await join(api, ALICE, other["id"], "k-1")

    assert conflict == {
        "membership": None,
        "errors": [
            {
                "code": "IDEMPOTENCY_CONFLICT",
                "field": "idempotencyKey",
                "message": "This idempotencyKey was already used for a different request.",
            }
        ],
    }
    assert await state(database) == before
    other_member, _ = await enrolled(api, "member:bob")
    await give(uows, other_member, 400)
    assert (await join(api, "member:bob", first_club["id"], "k-1"))[
        "errors"
    ] == []  # keys are per member


async def test_joining_again_renews_from_the_end_once_then_already_member(
    api, uows, database, clock
):
    club = await create(api)
    member_id, _ = await enrolled(api)
    await give(uows, member_id, 1200)
    first = (await join(api, ALICE, club["id"], "a"))["membership"]
    clock.advance(days=100)

    renewed = (await join(api, ALICE, club["id"], "b"))["membership"]
    before = await state(database)
    refused = await join(api, ALICE, club["id"], "c")

    assert renewed["startedAt"] == first["endsAt"]
    assert renewed["club"]["memberUntil"] == renewed["endsAt"]
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("ALREADY_MEMBER", "clubId")]
    assert await state(database) == before
    assert (await assert_consistent(uows, member_id)).balance == 400


async def test_membership_ends_at_the_end_of_its_term_without_a_job(api, uows, database, clock):
    club = await create(api, termMonths=1)
    member_id, _ = await enrolled(api)
    await give(uows, member_id, 400)
    end = (await join(api, ALICE, club["id"]))["membership"]["endsAt"]
    clock.advance(seconds=(term_end(clock.now(), 1) - clock.now()).total_seconds() - 1)

    (before_end,) = await listed(api)
    clock.advance(seconds=1)
    (at_end,) = await listed(api)

    assert (before_end["status"], before_end["memberUntil"]) == ("MEMBER", end)
    assert (at_end["status"], at_end["memberUntil"]) == ("EXPIRED", None)
    async with database.reader.connect() as conn:
        assert await active_club_ids(conn, member_id=member_id, now=clock.now()) == frozenset()
        just_before = clock.now() - timedelta(microseconds=1)
        assert await active_club_ids(conn, member_id=member_id, now=just_before) == {pk(club["id"])}


async def test_an_invitation_only_club_refuses_without_an_invitation_and_accepts_with_one(
    api, uows, database, clock
):
    club = await create(api, "vip", pointsPrice=None, invitationOnly=True, termMonths=6)
    member_id, card = await enrolled(api)
    await give(uows, member_id, 5000)
    before = await state(database)

    refused = await join(api, ALICE, club["id"], "try")

    assert [(e["code"], e["field"]) for e in refused["errors"]] == [
        ("INVITATION_REQUIRED", "clubId")
    ]
    assert await state(database) == before
    body = await api(INVITE, {"input": {"clubId": club["id"], "memberReference": card}}, MIA)
    invitation = body["data"]["inviteToClub"]
    assert invitation["errors"] == [] and invitation["invitation"]["acceptedAt"] is None
    assert invitation["invitation"]["memberReference"] == card
    assert invitation["invitation"]["expiresAt"] == (clock.now() + timedelta(days=30)).isoformat()
    (seen,) = await listed(api)
    assert (seen["status"], seen["invitedUntil"]) == (
        "INVITED",
        invitation["invitation"]["expiresAt"],
    )

    joined = await join(api, ALICE, club["id"], "accept")

    assert joined["membership"]["source"] == "INVITATION" and joined["membership"]["points"] == 0
    assert joined["membership"]["club"]["status"] == "MEMBER"
    assert (await member_row(uows, member_id)).balance == 5000
    (seen,) = await listed(api)
    assert (seen["status"], seen["invitedUntil"]) == ("MEMBER", None)
    async with database.reader.connect() as conn:
        actions = (await conn.execute(select(AuditLog.action, AuditLog.member_id))).all()
    assert [tuple(a) for a in actions] == [("create_club", None), ("invite_to_club", member_id)]


async def test_an_expired_invitation_no_longer_opens_the_club(api, uows, database, clock):
    club = await create(api, "vip", pointsPrice=None, invitationOnly=True)
    _, card = await enrolled(api)
    variables = {"input": {"clubId": club["id"], "memberReference": card, "expiresInDays": 1}}
    assert (await api(INVITE, variables, MIA))["data"]["inviteToClub"]["errors"] == []
    clock.advance(days=1)
    before = await state(database)

    refused = await join(api, ALICE, club["id"])

    assert refused["errors"][0]["code"] == "INVITATION_REQUIRED"
    assert await state(database) == before
    assert (await listed(api))[0]["status"] == "NOT_MEMBER"


async def test_inviting_again_keeps_one_open_invitation_and_extends_it(api, database, clock):
    club = await create(api, "vip", pointsPrice=None, invitationOnly=True)
    _, card = await enrolled(api)
    short = {"input": {"clubId": club["id"], "memberReference": card, "expiresInDays": 2}}
    long = {"input": {**short["input"], "expiresInDays": 10}}
    first = (await api(INVITE, long, MIA))["data"]["inviteToClub"]["invitation"]
    again = (await api(INVITE, short, MIA))["data"]["inviteToClub"]["invitation"]
    assert again == first
    assert (await state(database))["ClubInvitation"] == 1


async def test_an_update_changes_future_joins_and_closing_refuses_them(api, uows, database):
    club = await create(api)
    member_id, _ = await enrolled(api)
    await give(uows, member_id, 1000)
    update = {"input": {"clubId": club["id"], "pointsPrice": 250, "name": {"en": "Kicks"}}}
    changed = (await api(UPDATE, update, MIA))["data"]["updateClub"]
    assert changed["errors"] == []
    assert (changed["club"]["name"], changed["club"]["pointsPrice"]) == ("Kicks", 250)
    assert (await join(api, ALICE, club["id"], "a"))["membership"]["points"] == 250
    closing = {"input": {"clubId": club["id"], "active": False}}
    assert (await api(UPDATE, closing, MIA))["data"]["updateClub"]["club"]["active"] is False
    before = await state(database)

    refused = await join(api, ALICE, club["id"], "b")

    assert [(e["code"], e["field"]) for e in refused["errors"]] == [("CLUB_CLOSED", "clubId")]
    assert await state(database) == before
    assert await listed(api) == []
    async with database.reader.connect() as conn:
        assert await active_club_ids(conn, member_id=member_id, now=uows.clock.now()) == frozenset()


async def test_making_a_club_invitation_only_clears_its_price(api):
    club = await create(api)
    update = {"input": {"clubId": club["id"], "invitationOnly": True}}
    changed = (await api(UPDATE, update, MIA))["data"]["updateClub"]["club"]
    assert (changed["invitationOnly"], changed["pointsPrice"]) == (True, None)
    reopened = {"input": {"clubId": club["id"], "invitationOnly": False}}
    refused = (await api(UPDATE, reopened, MIA))["data"]["updateClub"]
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [
        ("INVALID_PRICE", "pointsPrice")
    ]


JOIN_REFUSALS = [
    ("a malformed club id", "###", "k", "UNKNOWN_CLUB", "clubId"),
    ("a member's id", "TWVtYmVyOjE=", "k", "UNKNOWN_CLUB", "clubId"),
    ("a club id above int32", "Q2x1YjoyMTQ3NDgzNjQ4", "k", "UNKNOWN_CLUB", "clubId"),
    ("a club that does not exist", "Q2x1Yjo5OTk=", "k", "UNKNOWN_CLUB", "clubId"),
    ("an empty key", "@club", "", "INVALID_IDEMPOTENCY_KEY", "idempotencyKey"),
    ("a key over 128", "@club", "k" * 129, "INVALID_IDEMPOTENCY_KEY", "idempotencyKey"),
    ("a key with NUL", "@club", "k\x00", "INVALID_IDEMPOTENCY_KEY", "idempotencyKey"),
    ("too few points", "@club", "k", "NOT_ENOUGH_POINTS", "clubId"),
]


@pytest.mark.parametrize(
    ("club_id", "key", "code", "field"),
    [case[1:] for case in JOIN_REFUSALS],
    ids=[case[0] for case in JOIN_REFUSALS],
)
async def test_a_refused_join_gets_its_code_and_changes_nothing(
    api, uows, database, club_id, key, code, field
):
    club = await create(api)
    member_id, _ = await enrolled(api)
    await give(uows, member_id, 399)
    before = await state(database)

    refused = await join(api, ALICE, club["id"] if club_id == "@club" else club_id, key)

    assert refused["membership"] is None
    assert [(e["code"], e["field"]) for e in refused["errors"]] == [(code, field)]
    assert await state(database) == before


async def test_a_key_at_128_characters_joins(api, uows):
    club = await create(api)
    member_id, _ = await enrolled(api)
    await give(uows, member_id, 400)
    assert (await join(api, ALICE, club["id"], "ї" * 127 + "😀"))["errors"] == []


async def test_joining_before_enrolling_or_while_suspended_is_refused(api, uows, database):
    club = await create(api)
    before = await state(database)
    refused = await join(api, "member:nobody", club["id"])
    assert [e["code"] for e in refused["errors"]] == ["NOT_ENROLLED"]
    member_id, _ = await enrolled(api)
    await give(uows, member_id, 400)

    async def suspend(uow):
        (await uow.lock_member(member_id)).status = "suspended"
        await uow.commit()

    await uows.run(suspend)
    before = await state(database)
    refused = await join(api, ALICE, club["id"])
    assert [e["code"] for e in refused["errors"]] == ["MEMBER_INACTIVE"]
    assert await state(database) == before


STAFF_REFUSALS = [
    ("code taken", CREATE, club_input(), "CODE_TAKEN", "code"),
    ("code in capitals", CREATE, club_input("VIP"), "INVALID_CODE", "code"),
    (
        "price and invitation-only",
        CREATE,
        club_input("x", invitationOnly=True),
        "INVALID_PRICE",
        "pointsPrice",
    ),
    ("no price", CREATE, club_input("x", pointsPrice=None), "INVALID_PRICE", "pointsPrice"),
    ("name over 80", CREATE, club_input("x", name={"en": "N" * 81}), "INVALID_NAME", "name.en"),
    (
        "blank Arabic",
        CREATE,
        club_input("x", name={"en": "X", "ar": " "}),
        "INVALID_NAME",
        "name.ar",
    ),
    ("11 perks", CREATE, club_input("x", perks=[{"en": "p"}] * 11), "INVALID_PERKS", "perks"),
    ("term 0", CREATE, club_input("x", termMonths=0), "INVALID_TERM", "termMonths"),
    (
        "early 31",
        CREATE,
        club_input("x", earlyAccessDays=31),
        "INVALID_EARLY_ACCESS",
        "earlyAccessDays",
    ),
    (
        "update of no club",
        UPDATE,
        {"input": {"clubId": "Q2x1Yjo5OTk=", "active": False}},
        "UNKNOWN_CLUB",
        "clubId",
    ),
    (
        "update of a bad id",
        UPDATE,
        {"input": {"clubId": "#", "active": False}},
        "UNKNOWN_CLUB",
        "clubId",
    ),
    (
        "update price 0",
        UPDATE,
        {"input": {"clubId": "@club", "pointsPrice": 0}},
        "INVALID_PRICE",
        "pointsPrice",
    ),
    (
        "update bidi name",
        UPDATE,
        {"input": {"clubId": "@club", "name": {"en": "\u202eX"}}},
        "INVALID_NAME",
        "name.en",
    ),
    (
        "invite unknown card",
        INVITE,
        {"input": {"clubId": "@club", "memberReference": "8000000000000011"}},
        "MEMBER_NOT_FOUND",
        "memberReference",
    ),
    (
        "invite malformed card",
        INVITE,
        {"input": {"clubId": "@club", "memberReference": "12ab"}},
        "INVALID_MEMBER_REFERENCE",
        "memberReference",
    ),
    (
        "invite for 366 days",
        INVITE,
        {"input": {"clubId": "@club", "memberReference": "@card", "expiresInDays": 366}},
        "INVALID_EXPIRY",
        "expiresInDays",
    ),
    (
        "invite to no club",
        INVITE,
        {"input": {"clubId": "Q2x1Yjo5OTk=", "memberReference": "@card"}},
        "UNKNOWN_CLUB",
        "clubId",
    ),
    (
        "invite to a closed club",
        INVITE,
        {"input": {"clubId": "@closed", "memberReference": "@card"}},
        "CLUB_CLOSED",
        "clubId",
    ),
]


def filled(value, marks: dict[str, str]):
    """Replace `@club`, `@closed` and `@card` marks with the test's ids."""
    if isinstance(value, dict):
        return {k: filled(v, marks) for k, v in value.items()}
    return marks.get(value, value) if isinstance(value, str) else value


@pytest.mark.parametrize(
    ("operation", "variables", "code", "field"),
    [case[1:] for case in STAFF_REFUSALS],
    ids=[case[0] for case in STAFF_REFUSALS],
)
async def test_a_refused_staff_write_gets_its_code_and_changes_nothing(
    api, database, operation, variables, code, field
):
    club = await create(api)
    closed = await create(api, "closed", active=False)
    _, card = await enrolled(api)
    marks = {"@club": club["id"], "@closed": closed["id"], "@card": card}
    before = await state(database)

    body = await api(operation, filled(variables, marks), MIA)

    assert "errors" not in body, body
    (payload,) = body["data"].values()
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)]
    assert await state(database) == before


@pytest.mark.parametrize(
    ("operation", "token"),
    [(CREATE, ALICE), (CREATE, "support:sam"), (CREATE, "integration:pos"), (JOIN, MIA)],
)
async def test_roles_do_not_mix(api, database, operation, token):
    club = await create(api)
    before = await state(database)
    variables = club_input("other") if operation == CREATE else {"club": club["id"], "key": "k"}
    body = await api(operation, variables, token)
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await state(database) == before


async def test_every_field_at_its_limit_is_stored_intact(api, database):
    texts = {lang: "Я" * 79 + "😀" for lang in ("en", "ar", "uk", "nl")}
    variables = club_input(
        "z" * 32,
        name=texts,
        description={lang: "ї" * 999 + "😀" for lang in ("en", "ar", "uk", "nl")},
        perks=[{lang: "п" * 119 + "😀" for lang in ("en", "ar", "uk", "nl")}] * 10,
        pointsPrice=1_000_000,
        termMonths=60,
        earlyAccessDays=30,
    )
    club = (await api(CREATE, variables, MIA))["data"]["createClub"]
    assert club["errors"] == [], club
    await enrolled(api, "member:layla", "ar")
    (seen,) = await listed(api, "member:layla")
    assert (seen["code"], seen["name"], len(seen["perks"])) == ("z" * 32, texts["ar"], 10)
    assert seen["description"] == "ї" * 999 + "😀" and seen["pointsPrice"] == 1_000_000


async def test_five_racing_joins_with_points_for_one_make_one_term_and_one_debit(
    api, uows, database
):
    club = await create(api)
    member_id, _ = await enrolled(api)
    await give(uows, member_id, 799)

    answers = await asyncio.gather(*(join(api, ALICE, club["id"], f"race-{i}") for i in range(5)))

    assert (
        sorted(tuple(e["code"] for e in a["errors"]) for a in answers)
        == [()] + [("NOT_ENOUGH_POINTS",)] * 4
    )
    async with database.reader.connect() as conn:
        terms = (await conn.execute(select(ClubMembership))).all()
        debits = (await conn.execute(select(LedgerEntry).where(LedgerEntry.source == "club"))).all()
    assert len(terms) == 1 and len(debits) == 1
    assert (await assert_consistent(uows, member_id)).balance == 399


async def test_twenty_members_join_at_once_through_five_writer_connections(api, uows, database):
    club = await create(api)
    tokens = [f"member:m{i}" for i in range(20)]
    for token in tokens:
        member_id, _ = await enrolled(api, token)
        await give(uows, member_id, 400)

    answers = await asyncio.gather(*(join(api, t, club["id"], "same-key") for t in tokens))

    assert all(a["errors"] == [] for a in answers), answers
    async with database.reader.connect() as conn:
        terms = (await conn.execute(select(ClubMembership.member_id))).all()
    assert len({t.member_id for t in terms}) == 20 == len(terms)
    assert (database.writer.pool.checkedout(), database.reader.pool.checkedout()) == (0, 0)


async def costs_of_clubs(api, count_queries, database, first: int) -> tuple[int, dict[str, int]]:
    """Statements and checkouts of one page of clubs."""
    await listed(api, first=first)  # the program rules and caches warm
    count_queries.count = 0
    with counting_checkouts(database) as checkouts:
        page = await listed(api, first=first)
    assert len(page) == first
    return count_queries.count, checkouts


async def test_the_clubs_list_costs_the_same_statements_for_3_or_30_clubs(
    api, uows, database, count_queries, clock
):
    member_id, card = await enrolled(api)
    await give(uows, member_id, 100_000)
    for i in range(30):
        club = await create(api, f"club-{i}", pointsPrice=10)
        if i % 3 == 0:
            await join(api, ALICE, club["id"], f"k-{i}")
        elif i % 3 == 1:
            await api(INVITE, {"input": {"clubId": club["id"], "memberReference": card}}, MIA)

    few = await costs_of_clubs(api, count_queries, database, 3)
    many = await costs_of_clubs(api, count_queries, database, 30)

    assert few == many, (few, many)
    statements, checkouts = many
    # The member and the page in one batch; the page's term ends and invitations in another.
    assert statements == 4, statements
    assert checkouts == {"reader": 2, "writer": 0}, checkouts
    statuses = [c["status"] for c in await listed(api, first=30)]
    assert statuses == ["MEMBER", "INVITED", "NOT_MEMBER"] * 10


async def test_the_clubs_list_pages_with_cursors(api):
    await enrolled(api)
    for i in range(5):
        await create(api, f"club-{i}")
    first = (await api(CLUBS, {"first": 2}, ALICE))["data"]["clubs"]
    rest = await api(CLUBS, {"first": 10, "after": first["pageInfo"]["endCursor"]}, ALICE)
    codes = [e["node"]["code"] for e in first["edges"] + rest["data"]["clubs"]["edges"]]
    assert codes == [f"club-{i}" for i in range(5)]
    assert first["pageInfo"]["hasNextPage"] and not rest["data"]["clubs"]["pageInfo"]["hasNextPage"]


async def test_a_club_is_a_node_and_closed_ones_are_for_staff_only(api):
    club = await create(api, active=False)
    await enrolled(api)
    node = "query($id: ID!) { node(id: $id) { ... on Club { code active } } }"
    assert (await api(node, {"id": club["id"]}, ALICE))["data"]["node"] is None
    staff = await api(node, {"id": club["id"]}, MIA)
    assert staff["data"]["node"] == {"code": "sneakers", "active": False}


HOSTILE = [
    ("page size 0", CLUBS, {"first": 0}, ALICE, "BAD_USER_INPUT"),
    ("page size 101", CLUBS, {"first": 101}, ALICE, "BAD_USER_INPUT"),
    ("a history cursor", CLUBS, {"first": 5, "after": "ZW50cnk6MQ=="}, ALICE, "BAD_USER_INPUT"),
    ("a junk cursor", CLUBS, {"first": 5, "after": "%%%"}, ALICE, "BAD_USER_INPUT"),
    (
        "a club id of 10,000 characters",
        JOIN,
        {"club": "Q" * 10_000, "key": "k"},
        ALICE,
        "UNKNOWN_CLUB",
    ),
    ("price 2^31", CREATE, club_input("x", pointsPrice=2**31), MIA, "BAD_USER_INPUT"),
    ("term -2^31", CREATE, club_input("x", termMonths=-(2**31)), MIA, "INVALID_TERM"),
    ("a code with NUL", CREATE, club_input("x\x00"), MIA, "INVALID_CODE"),
    (
        "a name of zero-width spaces",
        CREATE,
        club_input("x", name={"en": "\u200b\u200b"}),
        MIA,
        "INVALID_NAME",
    ),
    (
        "a noncharacter in a description",
        CREATE,
        club_input("x", description={"en": "a\uffff"}),
        MIA,
        "INVALID_DESCRIPTION",
    ),
    ("1000 perks", CREATE, club_input("x", perks=[{"en": "p"}] * 1000), MIA, "INVALID_PERKS"),
    (
        "a perk in an unknown language",
        CREATE,
        club_input("x", perks=[{"en": "p", "de": "q"}]),
        MIA,
        "BAD_USER_INPUT",
    ),
    (
        "invitation days 2^31-1",
        INVITE,
        {"input": {"clubId": "@club", "memberReference": "@card", "expiresInDays": 2**31 - 1}},
        MIA,
        "INVALID_EXPIRY",
    ),
    (
        "a card of 10,000 digits",
        INVITE,
        {"input": {"clubId": "@club", "memberReference": "8" * 10_000}},
        MIA,
        "INVALID_MEMBER_REFERENCE",
    ),
    (
        "a card in Arabic-Indic digits",
        INVITE,
        {"input": {"clubId": "@club", "memberReference": "٨" * 16}},
        MIA,
        "INVALID_MEMBER_REFERENCE",
    ),
]


@pytest.mark.parametrize(
    ("query", "variables", "token", "code"),
    [case[1:] for case in HOSTILE],
    ids=[case[0] for case in HOSTILE],
)
async def test_hostile_club_input_gets_its_code_changes_nothing_and_logs_no_traceback(
    api, database, caplog, query, variables, token, code
):
    club = await create(api)
    _, card = await enrolled(api)
    before = await state(database)
    caplog.clear()

    body = await api(query, filled(variables, {"@club": club["id"], "@card": card}), token)

    found = [e["extensions"]["code"] for e in body.get("errors", [])]
    for payload in (body.get("data") or {}).values():
        found += [e["code"] for e in (payload or {}).get("errors", [])]
    assert found == [code], body
    assert await state(database) == before
    assert not [r for r in caplog.records if r.levelname == "ERROR"]


async def test_a_lone_surrogate_in_a_key_is_a_bad_request(api, database):
    club = await create(api)
    await enrolled(api)
    before = await state(database)
    body = '{"query": %s, "variables": {"club": "%s", "key": "k\\ud800"}}'
    response = await api.client.post(
        "/graphql",
        content=(body % (json.dumps(JOIN), club["id"])).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {ALICE}"},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    assert await state(database) == before


async def test_join_club_costs_a_pinned_number_of_statements(api, uows, count_queries):
    club = await create(api)
    await join(api, "member:warm", club["id"])  # program rules and caches warm
    member_id, _ = await enrolled(api)
    await give(uows, member_id, 400)
    count_queries.count = 0
    assert (await join(api, ALICE, club["id"]))["errors"] == []
    # member id; key; club; member lock; invitation; last term end; key claim; settle's due lots;
    # spendable lots; entry; lot update; allocation; member update; term; key answer; payload's
    # club and standing (2); BEGIN IMMEDIATE on SQLite
    assert count_queries.count <= 20, count_queries.count
