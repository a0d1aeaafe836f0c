"""Operations and helpers shared by the personalized-offer, early-access and claimAction tests."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import select, update
from strawberry.relay import GlobalID

from backend.db.tables import Member, MemberCategory
from backend.rewards.clubs.rules import ClubDraft
from backend.rewards.clubs.services import create_club, join_club
from backend.rewards.ports import Principal, Role
from tests.api.offers_support import create
from tests.api.operations import ENROLL, RECORD

POS = "integration:pos-ams"

PERSONAL = """
query Personal($first: Int!, $after: String) {
  offers(first: $first, after: $after) {
    edges { cursor node { id title categories reason reasonCode earlyAccess redeemable
                          unavailableReason } }
    pageInfo { hasNextPage endCursor }
  }
}"""

DASHBOARD = """
query Dashboard {
  me {
    displayName
    points { balance }
    activeVoucherCount redeemableOfferCount
    styleProfile { completion }
    featuredOffer { id title categories reason reasonCode }
  }
}"""

NODE = "query($id: ID!) { node(id: $id) { id ... on Offer { title } } }"

CLAIM = """
mutation Claim($input: ClaimActionInput!) {
  claimAction(input: $input) {
    action { action category sku pointsAwarded views claimedAt }
    errors { code field message }
  }
}"""

STYLE = """
mutation Style($input: UpdateStyleProfileInput!) {
  updateStyleProfile(input: $input) { errors { code field } }
}"""


async def enrol(api, uid: str, locale: str = "en") -> tuple[int, str]:
    """Enrol a member; their row id and card number."""
    body = await api(
        ENROLL, {"input": {"birthDate": "1990-05-17", "locale": locale}}, f"member:{uid}"
    )
    member = body["data"]["enroll"]["member"]
    return int(GlobalID.from_id(member["id"]).node_id), member["cardNumber"]


async def buy(api, card: str, order_id: str, *categories: str) -> None:
    """A store reports a purchase with one line per category."""
    lines = [{"sku": f"SKU-{c}", "category": c, "unitPrice": "10"} for c in categories]
    data = {
        "orderId": order_id,
        "memberReference": card,
        "amount": str(10 * len(categories)),
        "currency": "EUR",
        "channel": "store-ams-01",
        "lines": lines,
    }
    body = await api(RECORD, {"input": data}, POS)
    assert body["data"]["recordPurchase"]["errors"] == [], body


async def view(api, uid: str, category: str, **fields: Any) -> dict[str, Any]:
    """A member's app reports a product view; the payload."""
    variables = {"input": {"action": "PRODUCT_VIEWED", "category": category, **fields}}
    body = await api(CLAIM, variables, f"member:{uid}")
    assert "errors" not in body, body
    return body["data"]["claimAction"]


async def style(api, uid: str, **answers: Any) -> None:
    """Save StyleID answers for a member."""
    body = await api(STYLE, {"input": answers}, f"member:{uid}")
    assert body["data"]["updateStyleProfile"]["errors"] == [], body


async def set_tier(uows, member_id: int, tier: str) -> None:
    """Put a member on a tier (as the tier job would)."""
    async with uows() as uow:
        await uow.session.execute(
            update(Member).where(Member.id == member_id).values(tier_code=tier)
        )
        await uow.commit()


async def offers_of(api, uid: str, first: int = 50, after: str | None = None) -> dict[str, Any]:
    """The member's ranked offers, one page."""
    body = await api(PERSONAL, {"first": first, "after": after}, f"member:{uid}")
    assert "errors" not in body, body
    return body["data"]["offers"]


async def titles(api, uid: str) -> list[str]:
    """Titles of the member's whole list, in rank order."""
    return [e["node"]["title"] for e in (await offers_of(api, uid))["edges"]]


async def dashboard(api, uid: str) -> dict[str, Any]:
    """The app's opening query for a member."""
    body = await api(DASHBOARD, token=f"member:{uid}")
    assert "errors" not in body, body
    return body["data"]["me"]


async def offer_titled(api, title: str, **fields: Any) -> str:
    """Create an offer with an English title; its global id."""
    texts = [{"language": "en", "title": title, "description": ""}]
    return await create(api, texts=texts, **fields)


async def club(uows, code: str = "sneakers", early_days: int = 3) -> int:
    """Set up a points club with `early_days` of early access; its id."""
    draft = ClubDraft(
        code=code,
        name={"en": "Sneakers Club", "uk": "Клуб кросівок"},
        description={},
        perks=(),
        points_price=100,
        term_months=12,
        invitation_only=False,
        early_access_days=early_days,
    )
    staff = Principal(uid="mia", role=Role.MARKETING)
    return (await uows.run(lambda uow: create_club(uow, draft=draft, staff=staff))).id


async def join(uows, uid: str, club_id: int) -> None:
    """A member buys the club (they need 100 points)."""
    await uows.run(lambda uow: join_club(uow, uid=uid, club_id=club_id, idempotency_key="join"))


async def category_rows(database, member_id: int) -> list[tuple[Any, ...]]:
    """The member's per-category counts."""
    async with database.reader.connect() as conn:
        stmt = (
            select(
                MemberCategory.category,
                MemberCategory.bought,
                MemberCategory.viewed,
                MemberCategory.last_viewed_at,
            )
            .where(MemberCategory.member_id == member_id)
            .order_by(MemberCategory.category)
        )
        return [tuple(r) for r in (await conn.execute(stmt)).all()]


def club_gid(club_id: int) -> str:
    """A club's global id."""
    return str(GlobalID("Club", str(club_id)))


def move_to(clock, moment) -> None:
    """Set the manual clock to a moment."""
    clock.advance(microseconds=(moment - clock.now()) / timedelta(microseconds=1))
