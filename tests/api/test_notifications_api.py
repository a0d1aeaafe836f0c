"""Devices, the inbox and notification marks through the API: successes, refusals that change
nothing, limits, other members' data, rate limits and bursts above the pool size."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select, text

from backend.db.tables import Device, Notification
from backend.ids import global_id
from backend.main import create_app
from backend.rewards.notifications.rules import Kind
from backend.rewards.notifications.services import notify
from backend.rewards.uow import UnitOfWork
from backend.settings import Settings
from tests.api.conftest import Api
from tests.api.operations import ENROLL, RECORD
from tests.api.test_query_counts import counting_checkouts
from tests.fakes import RecordingPush

REGISTER = """
mutation Register($input: RegisterDeviceInput!) {
  registerDevice(input: $input) {
    device { platform appVersion registeredAt lastSeenAt }
    errors { code field message }
  }
}"""
UNREGISTER = """
mutation Unregister($token: String!) {
  unregisterDevice(token: $token) { removed errors { code field message } }
}"""
INBOX = """
query Inbox($first: Int!, $after: String) {
  me { unreadNotificationCount }
  notifications(first: $first, after: $after) {
    edges { cursor node { id kind title body language deepLink reward createdAt readAt openedAt } }
    pageInfo { hasNextPage endCursor }
  }
}"""
MARK_READ = """
mutation Read($id: ID!) {
  markNotificationRead(id: $id) { notification { id readAt openedAt } errors { code field message } }
}"""
MARK_OPENED = """
mutation Opened($id: ID!) {
  markNotificationOpened(id: $id) { notification { id readAt openedAt } errors { code field message } }
}"""
NODE = "query Node($id: ID!) { node(id: $id) { ... on Notification { id title } } }"
ANA, BEN = "member:ana", "member:ben"


async def enrol(api, token: str, locale: str = "en") -> None:
    """Enrol a member through the API."""
    body = await api(ENROLL, {"input": {"birthDate": "1990-05-17", "locale": locale}}, token)
    assert body["data"]["enroll"]["errors"] == [], body


def device(token: str = "fcm-token-1", **fields: Any) -> dict[str, Any]:
    """registerDevice variables."""
    return {"input": {"token": token, "platform": "IOS", "appVersion": "3.2.1", **fields}}


async def count(database, table: Any) -> int:
    """Rows in a table."""
    async with database.reader.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(table))).scalar_one())


async def member_id(database, uid: str) -> int:
    """A member's id by uid."""
    async with database.reader.connect() as conn:
        found = await conn.execute(text("SELECT id FROM member WHERE uid = :uid"), {"uid": uid})
        return int(found.scalar_one())


async def tell(uows, database, uid: str, times: int) -> None:
    """Notify a member `times` times (tier reached)."""
    target = await member_id(database, uid)

    async def use_case(uow: UnitOfWork) -> None:
        for i in range(times):
            await notify(uow, member_id=target, kind=Kind.TIER_REACHED, params={"tier": f"T{i}"})
        await uow.commit()

    await uows.run(use_case)


async def test_a_member_registers_refreshes_and_unregisters_a_device(api, database, clock):
    await enrol(api, ANA)
    first = (await api(REGISTER, device(), ANA))["data"]["registerDevice"]
    assert first["errors"] == [] and first["device"]["platform"] == "IOS"
    clock.advance(hours=1)
    again = (await api(REGISTER, device(appVersion="3.3.0", platform="ANDROID"), ANA))["data"]
    refreshed = again["registerDevice"]["device"]
    assert refreshed["registeredAt"] == first["device"]["registeredAt"]
    assert (refreshed["appVersion"], refreshed["platform"]) == ("3.3.0", "ANDROID")
    assert refreshed["lastSeenAt"] == clock.now().isoformat()
    assert await count(database, Device) == 1
    gone = (await api(UNREGISTER, {"token": "fcm-token-1"}, ANA))["data"]["unregisterDevice"]
    assert gone == {"removed": True, "errors": []} and await count(database, Device) == 0
    again = (await api(UNREGISTER, {"token": "fcm-token-1"}, ANA))["data"]["unregisterDevice"]
    assert again == {"removed": False, "errors": []}


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"token": ""}, "INVALID_TOKEN", "token"),
        ({"token": "x" * 4097}, "INVALID_TOKEN", "token"),
        ({"token": "two words"}, "INVALID_TOKEN", "token"),
        ({"token": "nul\x00"}, "INVALID_TOKEN", "token"),
        ({"token": "ключ"}, "INVALID_TOKEN", "token"),
        ({"appVersion": "9" * 33}, "INVALID_APP_VERSION", "appVersion"),
        ({"appVersion": "3.2\x00"}, "INVALID_APP_VERSION", "appVersion"),
        ({"appVersion": "\u202e1.0"}, "INVALID_APP_VERSION", "appVersion"),
    ],
)
async def test_bad_device_input_is_a_typed_error_that_stores_nothing(
    api, database, fields, code, field
):
    await enrol(api, ANA)
    body = await api(REGISTER, device(**fields), ANA)
    payload = body["data"]["registerDevice"]
    assert payload["device"] is None
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [(code, field)]
    assert await count(database, Device) == 0


async def test_a_bad_platform_is_a_request_error(api, database):
    await enrol(api, ANA)
    body = await api(REGISTER, device(platform="SYMBIAN"), ANA)
    assert body["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    assert await count(database, Device) == 0


async def test_a_token_and_an_app_version_at_their_maximum_lengths_are_stored_intact(api, database):
    await enrol(api, ANA)
    token, version = "t" * 4095 + "~", "v" * 32
    payload = (await api(REGISTER, device(token, appVersion=version), ANA))["data"]
    assert payload["registerDevice"]["errors"] == []
    async with database.reader.connect() as conn:
        stored = (await conn.execute(select(Device.token, Device.app_version))).one()  # type: ignore[call-overload]
    assert tuple(stored) == (token, version)


async def test_not_enrolled_staff_and_anonymous_callers_are_refused(api, database):
    payload = (await api(REGISTER, device(), ANA))["data"]["registerDevice"]
    assert [e["code"] for e in payload["errors"]] == ["NOT_ENROLLED"]
    for token, code in [("marketing:mia", "FORBIDDEN"), ("integration:pos", "FORBIDDEN"), (None, "UNAUTHENTICATED")]:  # fmt: skip
        body = await api(REGISTER, device(), token)
        assert body["errors"][0]["extensions"]["code"] == code
        body = await api(INBOX, {"first": 5}, token)
        assert body["errors"][0]["extensions"]["code"] == code
    assert await count(database, Device) == 0
    empty = await api(INBOX, {"first": 5}, ANA)
    assert empty["data"] == {"me": None, "notifications": {"edges": [], "pageInfo": {"hasNextPage": False, "endCursor": None}}}  # fmt: skip


async def test_the_inbox_pages_newest_first_and_counts_unread(api, database, uows):
    await enrol(api, ANA, locale="nl-NL")
    await tell(uows, database, "ana", 4)  # plus the welcome gift's notification
    first = (await api(INBOX, {"first": 3}, ANA))["data"]
    assert first["me"]["unreadNotificationCount"] == 5
    titles = [e["node"]["title"] for e in first["notifications"]["edges"]]
    assert titles == ["Welkom bij T3", "Welkom bij T2", "Welkom bij T1"]
    assert first["notifications"]["pageInfo"]["hasNextPage"]
    after = first["notifications"]["pageInfo"]["endCursor"]
    rest = (await api(INBOX, {"first": 3, "after": after}, ANA))["data"]["notifications"]
    kinds = [e["node"]["kind"] for e in rest["edges"]]
    assert kinds == ["TIER_REACHED", "VOUCHER_ISSUED"] and not rest["pageInfo"]["hasNextPage"]
    welcome = rest["edges"][-1]["node"]
    assert welcome["reward"] and welcome["deepLink"].startswith("rewards://vouchers/")
    bad = await api(INBOX, {"first": 3, "after": "bm9wZQ=="}, ANA)
    assert bad["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


async def test_read_and_opened_keep_their_first_time_and_lower_the_unread_count(
    api, database, uows, clock
):
    await enrol(api, ANA)
    await tell(uows, database, "ana", 1)
    newest = (await api(INBOX, {"first": 1}, ANA))["data"]["notifications"]["edges"][0]["node"]
    read_at = clock.advance(minutes=1).isoformat()
    read = (await api(MARK_READ, {"id": newest["id"]}, ANA))["data"]["markNotificationRead"]
    assert read["notification"] == {"id": newest["id"], "readAt": read_at, "openedAt": None}
    clock.advance(minutes=1)
    opened = (await api(MARK_OPENED, {"id": newest["id"]}, ANA))["data"]["markNotificationOpened"]
    opened_at = clock.now().isoformat()
    assert opened["notification"] == {"id": newest["id"], "readAt": read_at, "openedAt": opened_at}
    clock.advance(minutes=1)
    again = (await api(MARK_OPENED, {"id": newest["id"]}, ANA))["data"]["markNotificationOpened"]
    assert again["notification"]["openedAt"] == opened_at
    assert (await api(INBOX, {"first": 1}, ANA))["data"]["me"]["unreadNotificationCount"] == 1


@pytest.mark.parametrize(
    "node_id",
    [
        "junk",
        "",
        global_id("Member", 1),
        global_id("Notification", 0),
        global_id("Notification", 2**40),
        "Tm90aWZpY2F0aW9uOjE\x00",
    ],
)
async def test_a_bad_or_foreign_notification_id_is_unknown_and_changes_nothing(
    api, database, uows, node_id
):
    await enrol(api, ANA)
    await enrol(api, BEN)
    await tell(uows, database, "ben", 1)
    ids = [node_id, global_id("Notification", 3)]  # 3: Ben's tier notification
    for each in ids:
        for mark, name in [(MARK_READ, "markNotificationRead"), (MARK_OPENED, "markNotificationOpened")]:  # fmt: skip
            payload = (await api(mark, {"id": each}, ANA))["data"][name]
            assert payload["notification"] is None
            assert [(e["code"], e["field"]) for e in payload["errors"]] == [
                ("UNKNOWN_NOTIFICATION", "id")
            ]
    async with database.reader.connect() as conn:
        marked = await conn.execute(select(func.count()).where(Notification.read_at.is_not(None)))  # type: ignore[union-attr]
    assert marked.scalar_one() == 0
    assert (await api(NODE, {"id": global_id("Notification", 3)}, ANA))["data"]["node"] is None
    own = await api(NODE, {"id": global_id("Notification", 3)}, BEN)
    assert own["data"]["node"]["title"] == "Welcome to T0"


async def test_registrations_are_rate_limited_per_member(client_for, database):
    async with client_for(database, rate_limit_register_device="2/hour") as client:
        api = Api(client)
        await enrol(api, ANA)
        for i in range(2):
            assert (await api(REGISTER, device(f"t-{i}"), ANA))["data"]["registerDevice"][
                "errors"
            ] == []
        over = await api(UNREGISTER, {"token": "t-0"}, ANA)
        assert over["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
        assert await count(database, Device) == 2


async def test_a_burst_of_registrations_above_the_pool_size_all_succeed(api, database):
    tokens = [f"member:m{i}" for i in range(20)]  # 20 at once over 5 writer connections
    await asyncio.gather(*(enrol(api, t) for t in tokens))
    bodies = await asyncio.gather(*(api(REGISTER, device(f"tok-{t}"), t) for t in tokens))
    assert all(b["data"]["registerDevice"]["errors"] == [] for b in bodies)
    assert await count(database, Device) == 20


async def test_the_server_sends_pushes_from_its_own_process_after_the_commit(
    database, clock, verifier
):
    # given a server with its in-process sender and a recording push port
    push = RecordingPush()
    settings = Settings(mode="production", jobs_enabled=False, push_poll_seconds=0.05)
    app = create_app(settings, verifier=verifier, clock=clock, database=database, push=push)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        api = Api(client)
        await enrol(api, ANA, locale="uk")
        assert (await api(REGISTER, device("phone-ana"), ANA))["data"]["registerDevice"][
            "errors"
        ] == []
        card = (await api("{ me { cardNumber } }", token=ANA))["data"]["me"]["cardNumber"]
        # when a store records a purchase
        order = {"orderId": "P-1", "memberReference": card, "amount": "80", "currency": "EUR", "channel": "web"}  # fmt: skip
        recorded = await api(RECORD, {"input": order}, "integration:pos")
        assert recorded["data"]["recordPurchase"]["errors"] == []
        # then the running sender pushes it to the phone shortly after, in Ukrainian
        for _ in range(100):
            if push.messages:
                break
            await asyncio.sleep(0.05)
    (message,) = push.messages
    assert (message.token, message.title) == ("phone-ana", "Ви отримали 80 балів")
    assert message.data["kind"] == "POINTS_EARNED"


async def test_the_unread_count_joins_me_in_one_batch_however_many_notifications(
    api, database, uows, count_queries
):
    costs = []
    for uid, notifications in (("few", 1), ("many", 30)):
        await enrol(api, f"member:{uid}")
        await tell(uows, database, uid, notifications)
        query = "{ me { points { balance } unreadNotificationCount } }"
        await api(query, token=f"member:{uid}")  # the shared program rules read first
        count_queries.count = 0
        with counting_checkouts(database) as checkouts:
            body = await api(query, token=f"member:{uid}")
        assert body["data"]["me"]["unreadNotificationCount"] == notifications + 1  # + welcome
        costs.append((count_queries.count, checkouts))
    # The member with its unread count and its points' due lots as columns: one statement.
    assert costs == [(1, {"reader": 1, "writer": 0})] * 2, costs
