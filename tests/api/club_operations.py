"""Club operations as the app and the marketing console send them, and helpers around them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from strawberry.relay import GlobalID

from backend.db.tables import (
    AuditLog,
    Club,
    ClubInvitation,
    ClubMembership,
    IdempotencyKey,
    LedgerEntry,
    Member,
)

MIA = "marketing:mia"
CLUB_FIELDS = """id code name description perks pointsPrice termMonths invitationOnly
                 earlyAccessDays active status memberUntil invitedUntil"""
CREATE = f"""
mutation Create($input: CreateClubInput!) {{
  createClub(input: $input) {{ club {{ {CLUB_FIELDS} }} errors {{ code field message }} }}
}}"""
UPDATE = f"""
mutation Update($input: UpdateClubInput!) {{
  updateClub(input: $input) {{ club {{ {CLUB_FIELDS} }} errors {{ code field message }} }}
}}"""
INVITE = """
mutation Invite($input: InviteToClubInput!) {
  inviteToClub(input: $input) {
    invitation { createdAt expiresAt acceptedAt memberReference club { code } }
    errors { code field message }
  }
}"""
JOIN = """
mutation Join($club: ID!, $key: String!) {
  joinClub(clubId: $club, idempotencyKey: $key) {
    membership { startedAt endsAt source points club { code status memberUntil } }
    errors { code field message }
  }
}"""
CLUBS = f"""
query Clubs($first: Int!, $after: String) {{
  clubs(first: $first, after: $after) {{
    edges {{ cursor node {{ {CLUB_FIELDS} }} }}
    pageInfo {{ hasNextPage endCursor }}
  }}
}}"""


def club_input(code: str = "sneakers", **fields: Any) -> dict[str, Any]:
    """Variables of a createClub: a points club unless fields say otherwise."""
    data = {
        "code": code,
        "name": {"en": "Sneakers Club", "uk": "Клуб кросівок", "ar": "نادي الأحذية"},
        "description": {"en": "New drops before everyone else."},
        "perks": [{"en": "Early access to drops", "nl": "Eerder toegang tot drops"}],
        "pointsPrice": 400,
        "termMonths": 12,
        **fields,
    }
    return {"input": {k: v for k, v in data.items() if v is not None}}


async def create(api, code: str = "sneakers", **fields: Any) -> dict[str, Any]:
    """Create a club as marketing and return it."""
    body = await api(CREATE, club_input(code, **fields), MIA)
    assert body["data"]["createClub"]["errors"] == [], body
    return body["data"]["createClub"]["club"]


async def join(api, token: str, club_id: str, key: str = "join-1") -> dict[str, Any]:
    """Send joinClub and return its payload."""
    body = await api(JOIN, {"club": club_id, "key": key}, token)
    assert "errors" not in body, body
    return body["data"]["joinClub"]


def pk(global_id: str) -> int:
    """The row id of a global id."""
    return int(GlobalID.from_id(global_id).node_id)


async def state(database) -> dict[str, Any]:
    """Everything a club write may change: row counts, balances and the clubs' contents."""
    tables = (Club, ClubMembership, ClubInvitation, LedgerEntry, IdempotencyKey, AuditLog)
    async with database.reader.connect() as conn:
        counts = {
            t.__name__: (await conn.execute(select(func.count()).select_from(t))).scalar_one()
            for t in tables
        }
        balances = (await conn.execute(select(Member.id, Member.balance))).all()
        clubs = (await conn.execute(select(Club).order_by(Club.id))).all()
        invitations = (await conn.execute(select(ClubInvitation))).all()
    return {
        **counts,
        "balances": sorted(tuple(b) for b in balances),
        "clubs": [tuple(c) for c in clubs],
        "invitations": [tuple(i) for i in invitations],
    }
