"""Marketing over GraphQL: segments, previews, surprises with every refusal, campaign results."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from types import SimpleNamespace

import httpx
from sqlalchemy import select

from backend.db.tables import AuditLog, Campaign, CampaignRecipient, Notification
from backend.ids import global_id
from backend.main import create_app
from backend.rewards.marketing import campaigns
from backend.rewards.marketing.campaigns import run_due_campaigns
from backend.rewards.marketing.rules import held_out
from backend.rewards.notifications.sender import OutboxSender
from backend.settings import Settings
from tests.api.conftest import Api
from tests.api.offers_support import CONSUME, create
from tests.api.operations import ENROLL
from tests.fakes import RecordingPush
from tests.marketing_support import counts

MIA = "marketing:mia"
POS = "integration:pos-ams"
SAVE = """
mutation Save($input: SaveSegmentInput!) {
  saveSegment(input: $input) {
    segment { id name createdBy updatedBy filter { tiers languages birthdayMonth clubIds
              marketingConsent lastPurchaseAfter } }
    errors { code field message }
  }
}"""
SEGMENTS = """
query Segments($first: Int!, $after: String) {
  segments(first: $first, after: $after) {
    edges { node { id name filter { tiers } } }
    pageInfo { hasNextPage endCursor }
  }
}"""
PREVIEW = """
query Preview($segmentId: ID, $filter: SegmentFilterInput) {
  segmentPreview(segmentId: $segmentId, filter: $filter) { members withConsent reachable }
}"""
SEND = """
mutation Send($input: SendSurpriseInput!) {
  sendSurprise(input: $input) {
    campaign { id name status rewardKind points offerId message sendAt holdoutPercent
               results { targeted rewarded } }
    errors { code field message }
  }
}"""
CAMPAIGNS = """
query Campaigns($first: Int!) {
  campaigns(first: $first) {
    edges { node { id name status startedAt finishedAt
      results { targeted rewarded heldOut unavailable pushed delivered failed opened redeemed
                treated { members purchases perMember } holdout { members purchases perMember } }
    } }
    pageInfo { hasNextPage }
  }
}"""
OPEN = """
mutation Open($id: ID!) { markNotificationOpened(id: $id) { errors { code } } }"""
DEVICE = """
mutation Device($token: String!) {
  registerDevice(input: { token: $token, platform: IOS }) { errors { code } }
}"""
BUY = """
mutation Buy($input: RecordPurchaseInput!) { recordPurchase(input: $input) { errors { code } } }"""


async def enrol(api, uid: str, consent: bool = True) -> str:
    """Enrol a member with marketing consent and a phone; their card number."""
    token = f"member:{uid}"
    variables = {"input": {"birthDate": "1990-05-17", "marketingConsent": consent}}
    body = await api(ENROLL, variables, token)
    assert (await api(DEVICE, {"token": f"ok-{uid}"}, token))["data"]["registerDevice"] == {
        "errors": []
    }
    return body["data"]["enroll"]["member"]["cardNumber"]


async def save(api, name: str = "Dutch speakers", **filter_) -> dict:
    """Save a segment as marketing; the payload."""
    body = await api(SAVE, {"input": {"name": name, "filter": filter_}}, MIA)
    return body["data"]["saveSegment"]


def send_input(segment_id: str, **fields) -> dict:
    """A sendSurprise input: 50 points, now, no holdout."""
    return {
        "input": {
            "segmentId": segment_id,
            "name": "Rainy Monday",
            "reward": {"kind": "POINTS", "points": 50},
            "message": "A little something for a rainy day.",
            "idempotencyKey": "rainy-1",
            **fields,
        }
    }


PREVIEW_REFUSALS = [
    ({"segmentId": "U2VnbWVudDo5OTk="}, "segmentId"),  # Segment:999
    ({"segmentId": "T2ZmZXI6MQ==", "filter": {}}, "segmentId"),  # both given
    ({"segmentId": "T2ZmZXI6MQ=="}, "segmentId"),  # an Offer's id
    ({"filter": {"birthdayMonth": 13}}, "filter.birthdayMonth"),
    ({"filter": {"clubIds": ["T2ZmZXI6MQ=="]}}, "filter.clubIds"),
]


async def test_marketing_saves_changes_lists_and_previews_segments(api, database, clock):
    # given three members, two of them Dutch speakers
    await enrol(api, "nl-1")
    await api(ENROLL, {"input": {"birthDate": "1990-05-17", "locale": "nl-BE"}}, "member:nl-2")
    await enrol(api, "en-1")
    # when marketing saves a segment of them, then changes it
    saved = await save(api, languages=["en"])
    assert saved["errors"] == [] and saved["segment"]["filter"]["languages"] == ["en"]
    segment_id = saved["segment"]["id"]
    body = await api(
        SAVE,
        {"input": {"segmentId": segment_id, "name": "Dutch", "filter": {"languages": ["nl"]}}},
        MIA,
    )
    changed = body["data"]["saveSegment"]["segment"]
    # then the segment keeps its id, lists, and counts its members
    assert (changed["id"], changed["name"], changed["filter"]["languages"]) == (
        segment_id,
        "Dutch",
        ["nl"],
    )
    listed = (await api(SEGMENTS, {"first": 10}, MIA))["data"]["segments"]
    assert [e["node"]["id"] for e in listed["edges"]] == [segment_id]
    await api(DEVICE, {"token": "ok-nl-1b"}, "member:nl-1")
    await api(
        'mutation { updateProfile(input: { locale: "nl-NL" }) { errors { code } } }',
        token="member:nl-1",
    )
    by_id = await api(PREVIEW, {"segmentId": segment_id}, MIA)
    assert by_id["data"]["segmentPreview"] == {"members": 2, "withConsent": 1, "reachable": 1}
    inline = await api(PREVIEW, {"filter": {"marketingConsent": True}}, MIA)
    assert inline["data"]["segmentPreview"] == {"members": 2, "withConsent": 2, "reachable": 2}
    async with database.reader.connect() as conn:
        audits = (await conn.execute(select(AuditLog.action, AuditLog.actor_uid))).all()
    assert [tuple(a) for a in audits] == [("save_segment", "mia")] * 2
    # and previews of an unknown segment or a bad filter are bad input naming the field
    for variables, field in PREVIEW_REFUSALS:
        body = await api(PREVIEW, variables, MIA)
        (error,) = body["errors"]
        assert (error["extensions"]["code"], error["extensions"]["field"]) == (
            "BAD_USER_INPUT",
            field,
        ), variables


SEGMENT_REFUSALS = [
    ({"segmentId": "U2VnbWVudDo5OTk="}, "UNKNOWN_SEGMENT", "segmentId"),
    ({"segmentId": "bm90IGFuIGlk"}, "UNKNOWN_SEGMENT", "segmentId"),
    ({"name": "ab"}, "INVALID_NAME", "name"),
    ({"name": "x" * 81}, "INVALID_NAME", "name"),
    ({"filter": {"tiers": ["gold", "a b"]}}, "INVALID_FILTER", "filter.tiers"),
    ({"filter": {"clubIds": ["T2ZmZXI6MQ=="]}}, "INVALID_FILTER", "filter.clubIds"),
    ({"filter": {"balanceMin": 5, "balanceMax": 1}}, "INVALID_FILTER", "filter.balanceMax"),
]


async def test_a_refused_segment_changes_nothing(api, uows):
    before = await counts(uows)
    for change, code, field in SEGMENT_REFUSALS:
        data = {"name": "Everyone", "filter": {}, **change}
        body = await api(SAVE, {"input": data}, MIA)
        (error,) = body["data"]["saveSegment"]["errors"]
        assert (error["code"], error["field"]) == (code, field), change
        assert await counts(uows) == before


SURPRISE_REFUSALS = [
    ({"segmentId": "U2VnbWVudDo5OTk="}, "UNKNOWN_SEGMENT", "segmentId"),
    ({"name": " "}, "INVALID_NAME", "name"),
    ({"message": ""}, "INVALID_MESSAGE", "message"),
    ({"message": "x" * 501}, "INVALID_MESSAGE", "message"),
    ({"message": "line\nbreak"}, "INVALID_MESSAGE", "message"),
    ({"reward": {"kind": "POINTS"}}, "INVALID_REWARD", "reward"),
    ({"reward": {"kind": "POINTS", "points": 0}}, "INVALID_POINTS", "reward.points"),
    ({"reward": {"kind": "POINTS", "points": 100001}}, "INVALID_POINTS", "reward.points"),
    ({"reward": {"kind": "OFFER", "offerId": "T2ZmZXI6OTk="}}, "UNKNOWN_OFFER", "reward.offerId"),
    ({"reward": {"kind": "OFFER", "offerId": "xyz"}}, "UNKNOWN_OFFER", "reward.offerId"),
    ({"reward": {"kind": "OFFER", "offerId": "paid"}}, "NOT_A_GIFT", "reward.offerId"),
    ({"reward": {"kind": "EXTRA_SPINS", "offerId": "gift"}}, "WRONG_OFFER_KIND", "reward.offerId"),
    ({"reward": {"kind": "OFFER", "offerId": "spin"}}, "WRONG_OFFER_KIND", "reward.offerId"),
    ({"holdoutPercent": -1}, "INVALID_HOLDOUT", "holdoutPercent"),
    ({"holdoutPercent": 51}, "INVALID_HOLDOUT", "holdoutPercent"),
    ({"sendAt": "2026-05-31T12:00:00+00:00"}, "SEND_AT_IN_PAST", "sendAt"),
    ({"sendAt": "2027-06-02T12:00:00+00:00"}, "INVALID_SEND_AT", "sendAt"),
    ({"idempotencyKey": ""}, "INVALID_IDEMPOTENCY_KEY", "idempotencyKey"),
    ({"idempotencyKey": "k" * 129}, "INVALID_IDEMPOTENCY_KEY", "idempotencyKey"),
    ({"idempotencyKey": "taken", "message": "Another."}, "IDEMPOTENCY_CONFLICT", "idempotencyKey"),
]  # fmt: skip


async def test_a_refused_surprise_changes_nothing(api, uows):
    # given a segment, a gift offer, an offer that costs points and an extra-spin gift
    segment = (await save(api))["segment"]["id"]
    offers = {
        "gift": await create(api, pointsCost=0),
        "paid": await create(api, pointsCost=100),
        "spin": await create(api, kind="EXTRA_SPIN", percent=None, pointsCost=0),
    }
    first = await api(SEND, send_input(segment, idempotencyKey="taken"), MIA)
    assert first["data"]["sendSurprise"]["errors"] == []
    before = await counts(uows)
    for change, code, field in SURPRISE_REFUSALS:
        reward = change.get("reward", {})
        if reward.get("offerId") in offers:
            change = {**change, "reward": {**reward, "offerId": offers[reward["offerId"]]}}
        # when marketing sends a surprise that is wrong in one way
        body = await api(SEND, send_input(segment, **change), MIA)
        # then it is refused with the reason and nothing was written
        (error,) = body["data"]["sendSurprise"]["errors"]
        assert (error["code"], error["field"]) == (code, field), error
        assert body["data"]["sendSurprise"]["campaign"] is None
        assert await counts(uows) == before


async def test_only_marketing_and_admin_reach_segments_and_surprises(api, uows):
    segment = (await save(api))["segment"]["id"]
    before = await counts(uows)
    calls = [
        (SAVE, {"input": {"name": "Everyone", "filter": {}}}),
        (SEND, send_input(segment)),
        (SEGMENTS, {"first": 5}),
        (PREVIEW, {"filter": {}}),
        (CAMPAIGNS, {"first": 5}),
    ]
    for token in ("member:alice", "support:sam", "integration:pos"):
        for document, variables in calls:
            body = await api(document, variables, token)
            assert [e["extensions"]["code"] for e in body["errors"]] == ["FORBIDDEN"]
    assert await counts(uows) == before
    assert (await api(SEGMENTS, {"first": 5}, "admin:ada"))["data"]["segments"]["edges"]


async def test_a_surprise_reports_its_results_from_grouped_queries(
    api, uows, database, clock, count_queries, monkeypatch
):
    # given six members with consent and a phone, and a 15%-off gift with stock for five
    cards = {uid: await enrol(api, uid) for uid in ("a", "b", "c", "d", "e", "f")}
    # (a campaign seed that holds one to three of them out, so both groups have members)
    ids = list((await _member_ids(uows)).values())
    seed = next(
        s
        for s in (f"{n:032x}" for n in range(10_000))
        if 1 <= sum(held_out(s, m, 50) for m in ids) <= 3
    )
    monkeypatch.setattr(campaigns, "secrets", SimpleNamespace(token_hex=lambda _bytes: seed))
    offer = await create(api, pointsCost=0, stock=5)
    segment = (await save(api, name="Everyone"))["segment"]["id"]
    reward = {"kind": "OFFER", "offerId": offer}
    data = send_input(segment, reward=reward, holdoutPercent=50, idempotencyKey="gift-1")
    # when marketing sends the surprise twice (a retry) and the job runs
    sent = (await api(SEND, data, MIA))["data"]["sendSurprise"]
    again = (await api(SEND, data, MIA))["data"]["sendSurprise"]
    assert sent["errors"] == [] and again == sent
    assert (sent["campaign"]["status"], sent["campaign"]["results"]) == (
        "SCHEDULED",
        {"targeted": 0, "rewarded": 0},
    )
    await run_due_campaigns(uows)
    await OutboxSender(uows, RecordingPush()).send_due()
    async with uows() as uow:
        rows = list((await uow.session.execute(select(CampaignRecipient))).scalars())
        notes = list((await uow.session.execute(select(Notification).where(
            Notification.kind == "SURPRISE"))).scalars())  # type: ignore[arg-type]  # fmt: skip
    treated = [r for r in rows if not r.held_out]
    held = [r for r in rows if r.held_out]
    assert len(rows) == 6 and len(notes) == len(treated)
    # and a treated member opens the message and uses the voucher; two purchases each way
    first = treated[0]
    note = next(n for n in notes if n.member_id == first.member_id)
    uid = {m: u for u, m in (await _member_ids(uows)).items()}[first.member_id]
    await api(OPEN, {"id": global_id("Notification", note.id)}, f"member:{uid}")
    code = await _voucher_code(uows, first.voucher_id)
    used = await api(CONSUME, {"input": {"code": code, "reference": "T-1"}}, POS)
    assert used["data"]["consumeVoucher"]["voucher"]["code"]
    clock.advance(minutes=5)
    buyers = [first.member_id, *(r.member_id for r in held[:1])]
    for n, member_id in enumerate(buyers):
        card = cards[{m: u for u, m in (await _member_ids(uows)).items()}[member_id]]
        order = {"orderId": f"O-{n}", "memberReference": card, "amount": "20", "currency": "EUR",
                 "channel": "web"}  # fmt: skip
        assert (await api(BUY, {"input": order}, POS))["data"]["recordPurchase"]["errors"] == []
    # then the campaign's results say what happened
    count_queries.count = 0
    body = await api(CAMPAIGNS, {"first": 10}, MIA)
    reads = count_queries.count
    (edge,) = body["data"]["campaigns"]["edges"]
    results = edge["node"]["results"]
    rewarded = min(len(treated), 5)
    assert results == {
        "targeted": 6,
        "rewarded": rewarded,
        "heldOut": len(held),
        "unavailable": len(treated) - rewarded,  # the gift had 5 units
        "pushed": rewarded,
        "delivered": rewarded,
        "failed": 0,
        "opened": 1,
        "redeemed": 1,
        "treated": {"members": rewarded, "purchases": 1, "perMember": 1 / rewarded},
        "holdout": {
            "members": len(held),
            "purchases": 1 if held else 0,
            "perMember": (1 / len(held)) if held else 0.0,
        },
    }
    assert edge["node"]["status"] == "DONE"
    node = (
        "query Node($id: ID!) { node(id: $id) { ... on Campaign { name results { targeted } } } }"
    )
    found = await api(node, {"id": edge["node"]["id"]}, MIA)
    assert found["data"]["node"] == {"name": "Rainy Monday", "results": {"targeted": 6}}
    hidden = await api(node, {"id": edge["node"]["id"]}, "member:a")
    assert hidden["data"]["node"] is None
    # and a second campaign does not add statements: results are grouped, not per member
    data = send_input(segment, idempotencyKey="points-2")
    await api(SEND, data, MIA)
    await run_due_campaigns(uows)
    count_queries.count = 0
    body = await api(CAMPAIGNS, {"first": 10}, MIA)
    assert len(body["data"]["campaigns"]["edges"]) == 2
    assert count_queries.count == reads
    assert reads <= 6


async def _member_ids(uows) -> dict[str, int]:
    """Member ids by uid."""
    from backend.db.tables import Member

    async with uows() as uow:
        rows = (await uow.session.execute(select(Member.uid, Member.id))).all()
    return {str(uid): int(i) for uid, i in rows}


async def _voucher_code(uows, voucher_id: int) -> str:
    """A voucher's code."""
    from backend.db.tables import Voucher

    async with uows() as uow:
        return (await uow.session.get_one(Voucher, voucher_id)).code


async def test_a_surprise_at_every_limit_is_kept_whole_and_waits_for_its_time(api, uows, clock):
    # given a segment with the longest name
    await enrol(api, "later")
    saved = await save(api, name="S" * 80)
    assert saved["errors"] == [] and saved["segment"]["name"] == "S" * 80
    # when marketing schedules a surprise with every input at its limit, a year ahead
    message = ("مفاجأة صغيرة لك " * 32)[:499] + "!"
    later = (clock.now() + timedelta(days=365)).isoformat()
    data = send_input(
        saved["segment"]["id"],
        name="N" * 80,
        message=message,
        reward={"kind": "POINTS", "points": 100_000},
        holdoutPercent=50,
        sendAt=later,
        idempotencyKey="k" * 128,
    )
    sent = (await api(SEND, data, MIA))["data"]["sendSurprise"]
    # then it is stored as given, and the job leaves it until its time
    assert sent["errors"] == []
    campaign = sent["campaign"]
    assert (campaign["name"], campaign["message"], campaign["points"]) == (
        "N" * 80,
        message,
        100_000,
    )
    assert (campaign["sendAt"], campaign["holdoutPercent"]) == (later, 50)
    await run_due_campaigns(uows)
    (edge,) = (await api(CAMPAIGNS, {"first": 5}, MIA))["data"]["campaigns"]["edges"]
    assert (edge["node"]["status"], edge["node"]["results"]["targeted"]) == ("SCHEDULED", 0)
    async with uows() as uow:
        assert (await uow.session.execute(select(Campaign.status))).scalar() == "SCHEDULED"


async def test_the_server_sends_due_surprises_from_its_own_process(database, clock, verifier):
    # given a server with its in-process campaign job
    settings = Settings(
        mode="production",
        jobs_enabled=False,
        push_sender_in_process=False,
        campaign_poll_seconds=0.05,
    )
    app = create_app(settings, verifier=verifier, clock=clock, database=database)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=transport, base_url="http://test") as client,
    ):
        api = Api(client)
        await enrol(api, "inproc")
        segment = (await save(api, name="Everyone"))["segment"]["id"]
        # when marketing sends a surprise now
        assert (await api(SEND, send_input(segment), MIA))["data"]["sendSurprise"]["errors"] == []
        # then the server rewards the member without any worker of its own
        for _ in range(200):
            body = await api(CAMPAIGNS, {"first": 1}, MIA)
            if body["data"]["campaigns"]["edges"][0]["node"]["status"] == "DONE":
                break
            await asyncio.sleep(0.05)
    assert body["data"]["campaigns"]["edges"][0]["node"]["results"]["rewarded"] == 1
