"""Members through the API: enrolment, `me`, profile, and who may see what."""

from __future__ import annotations

from sqlalchemy import func, select

from backend.db.tables import Member
from backend.rewards.members.rules import valid_card_number
from tests.api.operations import ENROLL, ME, UPDATE_PROFILE

ALICE = "member:alice"


async def enroll(api, token=ALICE, **fields):
    """Enrol through the API and return the payload."""
    data = {
        "birthDate": "1990-05-17",
        "displayName": "Alice",
        "locale": "nl-NL",
        "timeZone": "Europe/Amsterdam",
    }
    data.update(fields)
    return (await api(ENROLL, {"input": data}, token))["data"]["enroll"]


async def member_count(database) -> int:
    """How many member rows exist."""
    async with database.reader.connect() as conn:
        return (await conn.execute(select(func.count()).select_from(Member))).scalar_one()


async def test_a_new_user_enrols_and_sees_their_membership(api):
    payload = await enroll(api)
    assert payload["errors"] == []
    member = payload["member"]
    assert valid_card_number(member["cardNumber"])
    assert len(member["referralCode"]) == 8
    assert member["points"] == {"balance": 0, "pending": 0}
    assert member["tier"]["current"]["code"] == "member"
    assert member["marketingConsent"] is False
    me = (await api(ME, token=ALICE))["data"]["me"]
    assert me["cardNumber"] == member["cardNumber"]
    assert me["tier"]["next"]["code"] == "silver" and me["tier"]["pointsToNext"] == 500
    assert me["history"]["edges"] == [] and me["history"]["pageInfo"]["hasNextPage"] is False


async def test_enrolling_again_returns_the_same_membership(api, database):
    first = await enroll(api)
    again = await enroll(api, displayName="Someone else")
    assert again["errors"] == [] and again["member"]["id"] == first["member"]["id"]
    assert again["member"]["displayName"] == "Alice"
    assert await member_count(database) == 1


async def test_under_eighteen_is_refused_and_nothing_is_stored(api, database, clock):
    seventeen = clock.now().date().replace(year=clock.now().year - 17).isoformat()
    payload = await enroll(api, birthDate=seventeen)
    assert payload["member"] is None
    assert payload["errors"] == [
        {"code": "AGE_RESTRICTED", "field": "birthDate", "message": "Members must be 18 or older."}
    ]
    assert await member_count(database) == 0
    assert (await api(ME, token=ALICE))["data"]["me"] is None


async def test_bad_enrolment_input_gets_typed_errors(api, database):
    cases = {
        "BIRTH_DATE_REQUIRED": {"birthDate": None},
        "INVALID_BIRTH_DATE": {"birthDate": "2999-01-01"},
        "INVALID_TIME_ZONE": {"timeZone": "Mars/Olympus"},
        "INVALID_LOCALE": {"locale": "english please"},
        "INVALID_DISPLAY_NAME": {"displayName": "x" * 81},
        "INVALID_REFERRAL_CODE": {"referralCode": "NOSUCH99"},
    }
    for code, fields in cases.items():
        payload = await enroll(api, **fields)
        assert [e["code"] for e in payload["errors"]] == [code], fields
    assert await member_count(database) == 0


async def test_a_referral_code_links_the_friend(api, database):
    alice = (await enroll(api))["member"]
    bob = await enroll(api, token="member:bob", referralCode=alice["referralCode"].lower())
    assert bob["errors"] == []
    async with database.reader.connect() as conn:
        referred = (
            await conn.execute(select(Member.referred_by_id).where(Member.uid == "bob"))
        ).scalar_one()
    assert referred is not None


async def test_profile_updates_are_validated_as_a_whole(api):
    await enroll(api)
    bad = (
        await api(UPDATE_PROFILE, {"input": {"displayName": "Al", "timeZone": "Nowhere"}}, ALICE)
    )["data"]["updateProfile"]
    assert [e["code"] for e in bad["errors"]] == ["INVALID_TIME_ZONE"]
    me = (await api(ME, token=ALICE))["data"]["me"]
    assert me["displayName"] == "Alice"
    good = (
        await api(
            UPDATE_PROFILE,
            {"input": {"displayName": "Al", "locale": "uk", "marketingConsent": True}},
            ALICE,
        )
    )["data"]["updateProfile"]
    assert good["errors"] == []
    assert good["member"] == {
        "displayName": "Al",
        "locale": "uk",
        "timeZone": "Europe/Amsterdam",
        "marketingConsent": True,
    }


async def test_updating_before_enrolling_is_a_typed_error(api):
    payload = (await api(UPDATE_PROFILE, {"input": {"locale": "en"}}, ALICE))["data"][
        "updateProfile"
    ]
    assert [e["code"] for e in payload["errors"]] == ["NOT_ENROLLED"]


async def test_anonymous_callers_are_unauthenticated(api):
    body = await api(ME)
    assert body["data"] is None or body["data"]["me"] is None
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_a_bad_token_is_refused_before_any_resolver_runs(api, database):
    response = await api.raw(ENROLL, {"input": {"birthDate": "1990-01-01"}}, token="garbage")
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_TOKEN"
    assert await member_count(database) == 0


async def test_staff_and_integrations_cannot_act_as_members(api, database):
    for token in ("marketing:mia", "integration:pos"):
        body = await api(ENROLL, {"input": {"birthDate": "1990-01-01"}}, token)
        assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert await member_count(database) == 0


async def test_a_member_reaches_only_their_own_member_node(api):
    alice = (await enroll(api))["member"]
    bob = (await enroll(api, token="member:bob"))["member"]
    query = "query($id: ID!) { node(id: $id) { id ... on Member { cardNumber } } }"
    mine = (await api(query, {"id": alice["id"]}, ALICE))["data"]["node"]
    assert mine["cardNumber"] == alice["cardNumber"]
    assert (await api(query, {"id": bob["id"]}, ALICE))["data"]["node"] is None
    assert (await api(query, {"id": bob["id"]}, "marketing:mia"))["data"]["node"][
        "cardNumber"
    ] == bob["cardNumber"]
