"""The README's operations run as written, in order, with the callers it names, on demo data."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from backend.db.tables import AuditLog
from backend.demo import DEMO_MEMBERS, seed_demo
from backend.main import create_app
from backend.rewards.members.rules import valid_card_number
from backend.settings import Settings
from scripts.verify_spin import problems
from tests.api.conftest import Api
from tests.fakes import FakeVerifier

README = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
DEMO_CARD = DEMO_MEMBERS[0][1]


def callers() -> dict[str, str]:
    """The README's dev-token commands: uid -> role."""
    found = re.findall(
        r"^\.venv/bin/rewards dev-token --uid (\S+)(?: --role (\S+))?", README, re.MULTILINE
    )
    return {uid: role or "member" for uid, role in found}


def operations() -> list[tuple[str, str, str]]:
    """Each ```graphql block of the README with its operation name and the caller named before it."""
    blocks = []
    for match in re.finditer(r"```graphql\n(.*?)```", README, re.DOTALL):
        if match.group(1).startswith("subscription"):
            continue  # over the WebSocket: tests/api/test_live_events.py runs it
        caller = re.findall(r"As `([^`]+)`", README[: match.start()])[-1]
        name = re.match(r"(?:query|mutation) (\w+)", match.group(1))
        assert name, match.group(1)
        blocks.append((name.group(1), caller, match.group(1)))
    return blocks


@pytest.fixture
async def api(database, clock, uows) -> AsyncIterator[Api]:
    """The app over a demo-seeded database, with fake `role:uid` tokens."""
    await seed_demo(uows)
    app = create_app(
        Settings(mode="production", jobs_enabled=False),
        verifier=FakeVerifier(),
        clock=clock,
        database=database,
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield Api(client)


async def run(api: Api, caller: str, document: str) -> dict:
    """Send a README block as its caller; it must succeed without any error."""
    body = await api(document, token=f"{callers()[caller]}:{caller}")
    assert "errors" not in body, body
    (payload,) = body["data"].values()
    assert not (payload or {}).get("errors"), payload
    return payload


def test_the_readme_names_its_operations_callers_and_the_demo_card():
    assert [(name, caller) for name, caller, _ in operations()] == [
        ("Dashboard", "demo-member"),
        ("Buy", "pos-amsterdam"),
        ("Goodwill", "mia-marketing"),
        ("FindMember", "sam-support"),
        ("StyleOptions", "demo-member"),
        ("StyleId", "demo-member"),
        ("SetUpClub", "mia-marketing"),
        ("Clubs", "demo-member"),
        ("JoinClub", "demo-member"),
        ("NewOffer", "mia-marketing"),
        ("Offers", "demo-member"),
        ("Redeem", "demo-member"),
        ("MyVouchers", "demo-member"),
        ("UseVoucher", "pos-amsterdam"),
        ("ViewProduct", "demo-member"),
        ("ClubDrop", "mia-marketing"),
        ("EarningRules", "demo-member"),
        ("Share", "demo-member"),
        ("Steps", "pos-amsterdam"),
        ("DoubleShares", "mia-marketing"),
        ("BonusWeekend", "mia-marketing"),
        ("BonusEvents", "demo-member"),
        ("Referrals", "demo-member"),
        ("RegisterDevice", "demo-member"),
        ("Inbox", "demo-member"),
        ("Opened", "demo-member"),
        ("StartHunt", "demo-member"),
        ("FinishHunt", "demo-member"),
        ("FlaggedHunts", "sam-support"),
        ("Leaderboard", "demo-member"),
        ("ShowMyName", "demo-member"),
        ("NewDraw", "mia-marketing"),
        ("EnterDraw", "demo-member"),
        ("Draws", "demo-member"),
        ("RunDraw", "mia-marketing"),
        ("SetUpWheel", "mia-marketing"),
        ("Wheel", "demo-member"),
        ("Spin", "demo-member"),
        ("SaveSegment", "mia-marketing"),
        ("PreviewSegment", "mia-marketing"),
        ("SendSurprise", "mia-marketing"),
        ("Campaigns", "mia-marketing"),
    ]
    assert callers() == {
        "demo-member": "member",
        "pos-amsterdam": "integration",
        "mia-marketing": "marketing",
        "sam-support": "support",
    }
    assert valid_card_number(DEMO_CARD) and DEMO_MEMBERS[0][0] == "demo-member"
    assert f"`demo-member` is `{DEMO_CARD}`" in README
    for _, _, document in operations()[1:3]:
        assert f'memberReference: "{DEMO_CARD}"' in document


def test_every_setting_is_in_the_readme_table():
    for name in Settings.model_fields:
        assert re.search(rf"^\| [^\n]*`{name.upper()}`", README, re.MULTILINE), name


async def test_the_readme_operations_run_as_written_in_order(api, database, clock):
    (_, _, dashboard), (_, _, buy), (_, _, goodwill), (_, _, find), *_ = operations()

    me = await run(api, "demo-member", dashboard)
    assert (me["displayName"], me["cardNumber"]) == ("Daria", DEMO_CARD)
    before = me["points"]
    pending = [e["node"] for e in me["history"]["edges"] if e["node"]["status"] == "PENDING"]
    assert pending and all(e["kind"] == "EARN" and e["points"] > 0 for e in pending)
    assert all(e["availableAt"] for e in pending)

    bought = (await run(api, "pos-amsterdam", buy))["purchase"]
    assert bought["orderId"] == "AMS-2026-0001" and bought["memberReference"] == DEMO_CARD
    assert bought["points"] >= 129 and bought["occurredAt"] == clock.now().isoformat()
    clock.advance(minutes=3)
    replay = (await run(api, "pos-amsterdam", buy))["purchase"]
    assert replay == bought  # the first answer; nothing credited again

    adjusted = await run(api, "mia-marketing", goodwill)
    assert adjusted["entry"] == {
        "kind": "ADJUST",
        "status": "POSTED",
        "points": 250,
        "reason": "Late parcel",
    }
    assert adjusted["member"]["points"]["balance"] == before["balance"] + 250

    me = await run(api, "demo-member", dashboard)
    assert me["points"]["balance"] == before["balance"] + 250
    assert me["points"]["pending"] == before["pending"] + bought["points"]
    latest = [e["node"] for e in me["history"]["edges"][:2]]
    assert [(e["kind"], e["status"], e["points"]) for e in latest] == [
        ("ADJUST", "POSTED", 250),
        ("EARN", "PENDING", bought["points"]),
    ]

    found = await run(api, "sam-support", find)
    assert found["displayName"] == "Daria" and found["status"] == "active"
    assert found["points"] == {k: me["points"][k] for k in ("balance", "pending")}
    assert found["history"]["edges"][0]["node"]["kind"] == "ADJUST"
    async with database.reader.connect() as conn:
        audits = (await conn.execute(select(AuditLog).order_by(AuditLog.id))).all()
    assert [(a.actor_uid, a.action, a.reason) for a in audits] == [
        ("mia-marketing", "adjust_points", "Late parcel"),
        ("sam-support", "read_member", "Ticket 4711: parcel arrived late"),
    ]


async def test_the_readme_style_id_operations_run_as_written(api):
    documents = {name: document for name, _, document in operations()}
    options = await run(api, "demo-member", documents["StyleOptions"])
    assert options["locale"] == "nl" and {"code": "tea", "label": "Thee"} in options["categories"]
    before = (await run(api, "demo-member", documents["Dashboard"]))["points"]["balance"]

    saved = await run(api, "demo-member", documents["StyleId"])
    assert saved["pointsAwarded"] == 100 and saved["styleProfile"]["completion"] == 100
    assert saved["styleProfile"]["dislikedCategories"] == ["coffee"]
    again = await run(api, "demo-member", documents["StyleId"])
    assert again["pointsAwarded"] == 0 and again["styleProfile"] == saved["styleProfile"]
    after = (await run(api, "demo-member", documents["Dashboard"]))["points"]["balance"]
    assert after == before + 100


async def test_the_readme_club_operations_run_as_written_after_the_others(api, clock):
    for _, caller, document in operations()[:4]:
        await run(api, caller, document)
    documents = {name: document for name, _, document in operations()}
    set_up, clubs, join = (documents[name] for name in ("SetUpClub", "Clubs", "JoinClub"))

    club = (await run(api, "mia-marketing", set_up))["club"]
    listed = (await run(api, "demo-member", clubs))["edges"]
    joined = (await run(api, "demo-member", join))["membership"]

    assert club["id"] == "Q2x1Yjox" and f'clubId: "{club["id"]}"' in join
    assert [(c["node"]["name"], c["node"]["status"]) for c in listed] == [
        ("Клуб кросівок", "NOT_MEMBER")  # the demo member reads Ukrainian
    ]
    assert (joined["source"], joined["points"], joined["club"]["status"]) == (
        "POINTS",
        400,
        "MEMBER",
    )
    assert await run(api, "demo-member", join) == {"membership": joined, "errors": []}


async def test_the_readme_redeem_flow_runs_as_written_after_the_first_operations(api, database):
    for _, caller, document in operations()[:4]:
        await run(api, caller, document)
    documents = {name: document for name, _, document in operations()}
    new_offer, offers, redeem, vouchers, use = (
        documents[name] for name in ("NewOffer", "Offers", "Redeem", "MyVouchers", "UseVoucher")
    )

    created = (await run(api, "mia-marketing", new_offer))["offer"]
    assert created["id"] in redeem  # the id the README names is the one fresh demo data gives
    body = await api(offers, token="member:demo-member")
    assert "errors" not in body, body
    (node,) = [e["node"] for e in body["data"]["offers"]["edges"]]
    assert (node["title"], node["redeemable"]) == ("Знижка 20% на кросівки", True)
    assert body["data"]["me"] == {"activeVoucherCount": 2, "redeemableOfferCount": 1}

    voucher = (await run(api, "demo-member", redeem))["voucher"]
    assert voucher["pointsSpent"] == 200 and voucher["status"] == "ACTIVE"
    assert (await run(api, "demo-member", redeem))["voucher"] == voucher  # the same key again
    listed = (await run(api, "demo-member", vouchers))["edges"]
    assert [e["node"]["origin"] for e in listed] == ["REDEMPTION", "MILESTONE", "WELCOME"]

    example = re.search(r'code: "([^"]+)"', use).group(1)
    used = (await run(api, "pos-amsterdam", use.replace(example, voucher["code"])))["voucher"]
    assert (used["code"], used["status"]) == (voucher["code"], "USED")


async def test_the_readme_personalization_and_early_access_operations_run_as_written(api, clock):
    for _, caller, document in operations()[:4]:
        await run(api, caller, document)
    documents = {name: document for name, _, document in operations()}
    await run(api, "mia-marketing", documents["NewOffer"])

    viewed = (await run(api, "demo-member", documents["ViewProduct"]))["action"]
    assert (viewed["action"], viewed["category"], viewed["views"]) == (
        "PRODUCT_VIEWED",
        "outerwear",
        1,
    )
    assert (await run(api, "demo-member", documents["ViewProduct"]))["action"] == viewed
    me = await run(api, "demo-member", documents["Dashboard"])
    assert me["featuredOffer"]["title"] == "Знижка 20% на кросівки"  # the demo member reads uk
    assert (me["redeemableOfferCount"], me["styleProfile"]) == (1, {"completion": 0})

    await run(api, "mia-marketing", documents["SetUpClub"])
    await run(api, "demo-member", documents["JoinClub"])
    drop = (await run(api, "mia-marketing", documents["ClubDrop"]))["offer"]
    assert (drop["stock"], drop["clubStock"], drop["audience"]["clubId"]) == (450, 50, "Q2x1Yjox")
    offers = await readme_offers(api, documents["Offers"])
    assert [e["node"]["title"] for e in offers] == ["Знижка 20% на кросівки"]
    clock.advance(days=6)  # 7 June 12:00: three days before the public start
    offers = await readme_offers(api, documents["Offers"])
    assert (offers[0]["node"]["reasonCode"], offers[0]["node"]["reason"]) == (
        "EARLY_ACCESS",
        "Ранній доступ для учасників клубу «Клуб кросівок»",
    )


async def readme_offers(api: Api, document: str) -> list[dict]:
    """The README's `Offers` query as `demo-member`: its offers' edges."""
    body = await api(document, token="member:demo-member")
    assert "errors" not in body, body
    return body["data"]["offers"]["edges"]


async def test_the_readme_notification_operations_run_as_written_after_the_first_operations(
    api, clock
):
    for _, caller, document in operations()[:4]:
        await run(api, caller, document)
    documents = {name: document for name, _, document in operations()}
    register, inbox, opened = (documents[n] for n in ("RegisterDevice", "Inbox", "Opened"))

    device = (await run(api, "demo-member", register))["device"]
    assert (device["platform"], device["appVersion"]) == ("ANDROID", "3.2.1")
    body = await api(inbox, token="member:demo-member")
    assert "errors" not in body, body
    nodes = [e["node"] for e in body["data"]["notifications"]["edges"]]
    # the welcome gift, three demo orders, the `Buy` order and its milestone gift (4th purchase)
    assert body["data"]["me"]["unreadNotificationCount"] == 6
    assert [n["kind"] for n in nodes[:2]] == ["VOUCHER_ISSUED", "POINTS_EARNED"]
    assert nodes[1]["title"].startswith("Ви отримали")  # the demo member reads Ukrainian
    assert body["data"]["notifications"]["pageInfo"]["hasNextPage"]
    clock.advance(minutes=1)
    marked = (await run(api, "demo-member", opened))["notification"]
    assert marked["kind"] == "VOUCHER_ISSUED"  # the welcome gift's, the oldest
    assert marked["readAt"] == marked["openedAt"] == clock.now().isoformat()
    body = await api(inbox, token="member:demo-member")
    assert body["data"]["me"]["unreadNotificationCount"] == 5


async def test_the_readme_hunt_operations_run_as_written(api, clock):
    documents = {name: document for name, _, document in operations()}
    before = await run(api, "demo-member", documents["Dashboard"])

    hunt = (await run(api, "demo-member", documents["StartHunt"]))["hunt"]
    assert f'sessionId: "{hunt["id"]}"' in documents["FinishHunt"]
    assert (hunt["huntsLeftToday"], len(hunt["spawns"])) == (4, 12)
    assert await run(api, "demo-member", documents["StartHunt"]) == {"hunt": hunt, "errors": []}
    clock.advance(seconds=31)
    result = (await run(api, "demo-member", documents["FinishHunt"]))["result"]
    assert result["huntId"] == hunt["id"]
    assert len(result["caught"]) + len(result["rejected"]) == 2
    after = await run(api, "demo-member", documents["Dashboard"])
    assert after["points"]["balance"] == before["points"]["balance"] + result["pointsAwarded"]
    assert after["mascotHuntsLeftToday"] == 4
    flagged = await run(api, "sam-support", documents["FlaggedHunts"])
    assert flagged["edges"] == []


async def test_the_readme_leaderboard_and_draw_operations_run_as_written(api, clock):
    documents = {name: document for name, _, document in operations()}

    board = await run(api, "demo-member", documents["Leaderboard"])
    mine = [e["node"] for e in board["entries"]["edges"] if e["node"]["isMe"]]
    assert board["myRank"] == mine[0]["rank"] and mine[0]["anonymous"]
    shown = await run(api, "demo-member", documents["ShowMyName"])
    assert shown["member"] == {"displayName": "Daria", "leaderboardOptIn": True}
    board = await run(api, "demo-member", documents["Leaderboard"])
    assert [e["node"]["name"] for e in board["entries"]["edges"] if e["node"]["isMe"]] == ["Daria"]

    draw = (await run(api, "mia-marketing", documents["NewDraw"]))["draw"]
    assert f'drawId: "{draw["id"]}"' in documents["EnterDraw"] and draw["status"] == "OPEN"
    entered = await run(api, "demo-member", documents["EnterDraw"])
    assert entered["ticket"] == {"number": 1, "holder": 1} and entered["draw"]["myTickets"] == [1]
    clock.advance(days=207)  # past the close on 24 December
    ran = (await run(api, "mia-marketing", documents["RunDraw"]))["draw"]
    listed = (await run(api, "demo-member", documents["Draws"]))["edges"][0]["node"]
    assert (ran["status"], ran["winningTickets"], listed["won"]) == ("DRAWN", [1], True)
    assert listed["seed"] == ran["seed"] and listed["prize"] == "A weekend in Paris for two"


async def test_the_readme_wheel_operations_run_as_written(api):
    documents = {name: document for name, _, document in operations()}
    wheel = (await run(api, "mia-marketing", documents["SetUpWheel"]))["wheel"]
    shown = await run(api, "demo-member", documents["Wheel"])

    spun = await run(api, "demo-member", documents["Spin"])

    assert wheel["segments"][0]["chance"] == {"numerator": 1, "denominator": 4}
    assert sum(o["chance"]["numerator"] / o["chance"]["denominator"] for o in shown["odds"]) == 1
    assert spun["spin"]["paidWith"] == "FREE"  # the free spin goes first, nothing is bought
    assert problems(spun["spin"], shown["spins"]["nextCommitment"]) == []
    assert await run(api, "demo-member", documents["Spin"]) == spun  # a replay: the first spin


async def test_the_readme_surprise_operations_run_as_written_after_the_first_operations(api, uows):
    from backend.rewards.marketing.campaigns import run_due_campaigns

    for _, caller, document in operations()[:4]:
        await run(api, caller, document)
    documents = {name: document for name, _, document in operations()}
    save, preview, send, campaigns = (
        documents[n] for n in ("SaveSegment", "PreviewSegment", "SendSurprise", "Campaigns")
    )

    segment = (await run(api, "mia-marketing", save))["segment"]
    assert f'segmentId: "{segment["id"]}"' in send and segment["id"] in preview
    counted = await run(api, "mia-marketing", preview)
    assert counted["members"] == 2  # Daria (uk) and Sanne (nl-NL) bought this year
    campaign = (await run(api, "mia-marketing", send))["campaign"]
    assert (await run(api, "mia-marketing", send))["campaign"] == campaign  # the same key again
    assert (campaign["status"], campaign["holdoutPercent"]) == ("SCHEDULED", 10)
    await run_due_campaigns(uows)
    body = await api(campaigns, token="marketing:mia-marketing")
    assert "errors" not in body, body
    (edge,) = body["data"]["campaigns"]["edges"]
    results = edge["node"]["results"]
    assert edge["node"]["status"] == "DONE" and results["targeted"] == counted["members"]
    assert results["rewarded"] + results["heldOut"] == 2


async def test_the_readme_earning_operations_run_as_written(api, clock):
    documents = {name: document for name, _, document in operations()}
    rules = (await api(documents["EarningRules"], token="member:demo-member"))["data"]
    assert len(rules["earningRules"]) == 9
    shared = (await run(api, "demo-member", documents["Share"]))["action"]
    assert (shared["action"], shared["pointsAwarded"]) == ("SOCIAL_SHARE", 5)
    steps = (await run(api, "pos-amsterdam", documents["Steps"]))["action"]
    assert (steps["quantity"], steps["pointsAwarded"]) == (8250, 8)
    rule = (await run(api, "mia-marketing", documents["DoubleShares"]))["rule"]
    assert (rule["points"], rule["dailyCap"]) == (10, 30)
    event = (await run(api, "mia-marketing", documents["BonusWeekend"]))["bonusEvent"]
    assert (event["multiplier"], event["activeNow"]) == ("2.000", False)
    coming = await run(api, "demo-member", documents["BonusEvents"])
    assert [e["node"]["name"] for e in coming["edges"]] == ["Double points weekend"]
    referrals = (await run(api, "demo-member", documents["Referrals"]))["referrals"]
    assert referrals["shareLink"].endswith(referrals["code"]) and referrals["invited"] == 0
