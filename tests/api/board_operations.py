"""Leaderboard and prize-draw operations the tests send, and helpers around them."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from backend.db.tables import (
    AuditLog,
    DrawTicket,
    IdempotencyKey,
    LedgerEntry,
    Member,
    Notification,
)
from backend.db.tables import PrizeDraw as DrawRow
from tests.api.club_operations import pk
from tests.api.operations import ENROLL
from tests.conftest import START

MIA = "marketing:mia"

BOARD = """
query Board($first: Int = 10, $after: String) {
  leaderboard(period: CURRENT_MONTH, first: $first, after: $after) {
    period startsAt endsAt myRank myPoints
    entries { edges { cursor node { rank points name anonymous isMe } } pageInfo { hasNextPage endCursor } }
  }
}"""

MY_RANK = "query { me { leaderboardRank leaderboardOptIn } }"

OPT_IN = """
mutation OptIn($on: Boolean!, $name: String) {
  updateProfile(input: { leaderboardOptIn: $on, displayName: $name }) {
    member { leaderboardOptIn } errors { code }
  }
}"""

DRAW_FIELDS = """
  id prize closesAt winners minTier entryCost maxEntriesPerMember ticketCount status
  seedCommitment seed drawnAt winningTickets myTickets won eligible
"""
CREATE = f"""
mutation Create($input: CreateDrawInput!) {{
  createDraw(input: $input) {{ draw {{ {DRAW_FIELDS} }} errors {{ code field message }} }}
}}"""
ENTER = f"""
mutation Enter($id: ID!, $key: String!) {{
  enterDraw(drawId: $id, idempotencyKey: $key) {{
    ticket {{ number holder mine }} draw {{ {DRAW_FIELDS} }} errors {{ code field message }}
  }}
}}"""
RUN = f"""
mutation Run($id: ID!) {{
  runDraw(drawId: $id) {{ draw {{ {DRAW_FIELDS} }} errors {{ code field message }} }}
}}"""
DRAWS = f"""
query Draws {{ draws(first: 10) {{ edges {{ node {{ {DRAW_FIELDS}
  tickets(first: 100) {{ edges {{ node {{ number holder mine }} }} }} }} }} }} }}"""


def draw_input(**fields: Any) -> dict[str, Any]:
    """A draw closing a day after the tests' start: two winners of a weekend away."""
    return {
        "prize": {"en": "A weekend in Paris", "nl": "Een weekend in Parijs"},
        "closesAt": (START + timedelta(days=1)).isoformat(),
        "winners": 2,
        **fields,
    }


async def create(api, **fields: Any) -> dict[str, Any]:
    """Create a draw as marketing; its fields."""
    body = await api(CREATE, {"input": draw_input(**fields)}, MIA)
    assert body["data"]["createDraw"]["errors"] == [], body
    return body["data"]["createDraw"]["draw"]


async def enter(api, uid: str, draw_id: str, key: str = "ticket-1") -> dict[str, Any]:
    """Enter a draw as a member; the payload."""
    body = await api(ENTER, {"id": draw_id, "key": key}, f"member:{uid}")
    assert "errors" not in body, body
    return body["data"]["enterDraw"]


async def enrolled(api, uid: str, locale: str = "en") -> int:
    """Enrol a member; their row id."""
    variables = {"input": {"birthDate": "1990-05-17", "locale": locale}}
    body = await api(ENROLL, variables, f"member:{uid}")
    return pk(body["data"]["enroll"]["member"]["id"])


async def state(database) -> dict[str, Any]:
    """Everything a draw write may change: row counts, balances and the draws."""
    tables = (DrawRow, DrawTicket, LedgerEntry, IdempotencyKey, AuditLog, Notification)
    async with database.reader.connect() as conn:
        counts = {
            t.__name__: (await conn.execute(select(func.count()).select_from(t))).scalar_one()
            for t in tables
        }
        balances = (await conn.execute(select(Member.id, Member.balance))).all()
        draws = (await conn.execute(select(DrawRow).order_by(DrawRow.id))).all()
    return {**counts, "balances": sorted(map(tuple, balances)), "draws": list(map(tuple, draws))}
