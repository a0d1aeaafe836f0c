"""Operations and helpers shared by the offer tests."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from strawberry.relay import GlobalID

from backend.db.tables import AuditLog, IdempotencyKey, LedgerEntry, Member, Offer, Voucher
from tests.api.operations import ENROLL

MIA = "marketing:mia"
POS = "integration:pos-ams"

CREATE = """
mutation Create($input: CreateOfferInput!) {
  createOffer(input: $input) {
    offer { id kind title description language pointsCost percent discount { amount currency }
            categories stock perMemberLimit imageUrl voucherValidDays listed startsAt endsAt
            texts { language title description }
            audience { minimumTier clubId styleTags categories } }
    errors { code field message }
  }
}"""

UPDATE = """
mutation Update($input: UpdateOfferInput!) {
  updateOffer(input: $input) {
    offer { id title pointsCost stock endsAt imageUrl audience { minimumTier } }
    errors { code field message }
  }
}"""

OFFERS = """
query Offers($first: Int!, $after: String) {
  offers(first: $first, after: $after) {
    edges { cursor node { id title language pointsCost stock redeemable unavailableReason } }
    pageInfo { hasNextPage hasPreviousPage endCursor }
  }
}"""

OFFER = """
query One($id: ID!) { offer(id: $id) { id title language redeemable unavailableReason } }"""

REDEEM = """
mutation Redeem($offerId: ID!, $key: String!) {
  redeemOffer(offerId: $offerId, idempotencyKey: $key) {
    voucher { id code status origin pointsSpent issuedAt expiresAt offer { title } }
    errors { code field message }
  }
}"""

VOUCHERS = """
query Vouchers($first: Int!, $after: String, $status: VoucherStatus) {
  vouchers(first: $first, after: $after, status: $status) {
    edges { cursor node { id code status origin usedAt offer { title kind } } }
    pageInfo { hasNextPage endCursor }
  }
}"""

CONSUME = """
mutation Consume($input: ConsumeVoucherInput!) {
  consumeVoucher(input: $input) {
    voucher { code status usedAt offer { title } }
    errors { code field message }
  }
}"""

MILESTONES = """
mutation Ladder($input: ConfigureMilestonesInput!) {
  configureMilestones(input: $input) {
    steps { purchases offer { id title pointsCost } }
    welcomeOffer { id title }
    errors { code field message }
  }
}"""

DASHBOARD = "{ me { activeVoucherCount redeemableOfferCount points { balance } } }"


def offer_input(**fields: Any) -> dict[str, Any]:
    """A valid createOffer input: 10% off for 100 points, texts in four languages."""
    data: dict[str, Any] = {
        "texts": [
            {"language": "en", "title": "10% off denim", "description": "Any pair of jeans."},
            {"language": "ar", "title": "خصم ١٠٪ على الدنيم", "description": "أي بنطال جينز."},
            {"language": "uk", "title": "Знижка 10% на денім", "description": "Будь-які джинси."},
            {"language": "nl", "title": "10% korting op denim", "description": "Elke jeans."},
        ],
        "kind": "PERCENT_DISCOUNT",
        "percent": 10,
        "pointsCost": 100,
        "categories": ["denim"],
    }
    data.update(fields)
    return {"input": data}


async def create(api, **fields: Any) -> str:
    """Create an offer as marketing and return its global id."""
    body = await api(CREATE, offer_input(**fields), MIA)
    payload = body["data"]["createOffer"]
    assert payload["errors"] == [], payload
    return payload["offer"]["id"]


async def member(api, uid: str, locale: str = "en") -> int:
    """Enrol a member and return their row id."""
    body = await api(
        ENROLL, {"input": {"birthDate": "1990-05-17", "locale": locale}}, f"member:{uid}"
    )
    return int(GlobalID.from_id(body["data"]["enroll"]["member"]["id"]).node_id)


async def redeem(api, uid: str, offer_id: str, key: str = "k-1") -> dict[str, Any]:
    """Redeem an offer as a member; the payload."""
    body = await api(REDEEM, {"offerId": offer_id, "key": key}, f"member:{uid}")
    assert "errors" not in body, body
    return body["data"]["redeemOffer"]


async def state(database) -> tuple[Any, ...]:
    """Everything a refused write must leave as it was: rows, balances and stock."""
    async with database.reader.connect() as conn:
        counted = [
            (await conn.execute(select(func.count()).select_from(t))).scalar_one()
            for t in (Voucher, LedgerEntry, IdempotencyKey, AuditLog, Offer)
        ]
        balances = (await conn.execute(select(Member.id, Member.balance).order_by(Member.id))).all()
        stock = (
            await conn.execute(select(Offer.id, Offer.stock, Offer.updated_at).order_by(Offer.id))
        ).all()
        used = (await conn.execute(select(Voucher.id, Voucher.used_at).order_by(Voucher.id))).all()
    return (
        tuple(counted),
        [tuple(b) for b in balances],
        [tuple(s) for s in stock],
        [tuple(u) for u in used],
    )
