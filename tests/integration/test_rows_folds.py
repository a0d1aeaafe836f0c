"""Row-set reads carried by the member's statement as JSON (`queries.RowsFold`) answer exactly
what their own statements answer: the same rows, order, limit, values and value types."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import pytest
from sqlalchemy import Connection, bindparam, insert, select

from backend.db.json_rows import JsonRows
from backend.db.tables import Club, MemberCategory, Offer, TierMonth, Voucher
from backend.rewards.offers.facts import INTERESTS, OFFERS, OPEN_OFFERS, FactsFold, MemberOffers
from backend.rewards.queries import (
    DUE_LOTS,
    ENTRIES_BEFORE,
    ENTRY,
    LOT,
    NEWEST_ENTRIES,
    EntriesPage,
    MemberByUid,
    MemberWith,
    PointsAsOf,
    run_batch,
)
from backend.rewards.tiers.services import TIER_MONTHS, QualifyingNow
from tests.api.test_query_plans import capturing
from tests.helpers import new_member

CLUB = Club.__table__  # type: ignore[attr-defined]
OFFER = Offer.__table__  # type: ignore[attr-defined]
VOUCHER = Voucher.__table__  # type: ignore[attr-defined]
# Text that JSON must escape or carry as is: quotes, backslashes, a line break, non-ASCII.
ODD = 'a "quoted" \\ back\nslash — ünï 🎉 \u2028 <&>'
WARNING_DAYS, WINDOW = 30, 12


def moment(now: datetime, days: float, micro: int) -> datetime:
    """A time `days` from `now` with exactly `micro` microseconds."""
    return (now + timedelta(days=days)).replace(microsecond=micro)


async def insert_rows(database: Any, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Insert rows straight into a table (edge values the services would not write); their ids."""
    async with database.writer.begin() as conn:
        if "id" not in table.c:
            await conn.execute(insert(table), rows)
            return []
        return [
            (await conn.execute(insert(table).returning(table.c.id), row)).scalar_one()
            for row in rows
        ]


def entry(member_id: int, n: int, now: datetime) -> dict[str, Any]:
    """A ledger entry with NULLs, widest strings and microseconds depending on `n`."""
    return {
        "member_id": member_id,
        "kind": "earn" if n % 3 else "adjust",
        "amount": n * 2**33 if n % 7 == 0 else n,
        "pending_delta": -n if n % 2 else 0,
        "balance_after": n * 10,
        "pending_after": 0,
        "reason": (ODD * 10)[:200] if n % 5 == 0 else f"reason {n}",
        "source": "x" * 16,
        "source_ref": None if n % 2 else "r" * 128,
        "related_entry_id": None,
        "actor": None if n % 4 else "staff:ü" + "a" * 121,
        "created_at": moment(now, -n, (0, 1, 999_999, 123_456)[n % 4]),
    }


def lot(member_id: int, entry_id: int, n: int, now: datetime) -> dict[str, Any]:
    """A lot with points left: pending and due, or released and expiring soon."""
    released = n % 2 == 0
    return {
        "member_id": member_id,
        "entry_id": entry_id,
        "amount": 100,
        "remaining": 100 - n,  # the open-lots index reads them newest first: ORDER BY id counts
        "expired": 0,
        "earned_at": moment(now, -40, n),
        "available_at": moment(now, -1 if not released else -30, (0, 1, 999_999)[n % 3]),
        "expires_at": moment(now, n, 999_999 - n),
        "released": released,
        "expiry_warned": False,
    }


async def a_member_with_everything(database: Any, uows: Any, now: datetime) -> int:
    """Alice: 60 entries (half of the earns with lots), categories, tier months."""
    member = await new_member(uows, "alice")
    entries = await insert_rows(database, ENTRY, [entry(member.id, n, now) for n in range(1, 61)])
    lots = [lot(member.id, entry_id, n, now) for n, entry_id in enumerate(entries) if n % 3 == 1]
    await insert_rows(database, LOT, lots)
    categories = [
        {"category": "é" * 64, "bought": 2**40, "viewed": 0, "last_viewed_at": None},
        {"category": "shoes", "bought": 0, "viewed": 3, "last_viewed_at": moment(now, -1, 1)},
        {"category": ODD[:64], "bought": 1, "viewed": 1, "last_viewed_at": moment(now, -2, 0)},
    ]
    await insert_rows(
        database, MemberCategory.__table__, [{"member_id": member.id, **c} for c in categories]
    )  # type: ignore[attr-defined]
    months = [
        {
            "member_id": member.id,
            "month": (now - timedelta(days=31 * n)).date().replace(day=1),
            "points": p,
        }
        for n, p in enumerate((5, 0, 2**45, 7, 1, 3, 9, 11, 13, 17, 19, 23, 29, 31))
    ]
    await insert_rows(database, TierMonth.__table__, months)  # type: ignore[attr-defined]
    return member.id


def offer(n: int, now: datetime, **fields: Any) -> dict[str, Any]:
    """An open listed offer; `fields` change it."""
    return {
        "kind": "discount",
        "texts": {
            "en": {"title": f"Offer {n} {ODD}", "description": ODD},
            "uk": {"title": "Пропозиція"},
        },
        "points_cost": 100 * n,
        "percent": None,
        "discount_amount": None,
        "discount_currency": None,
        "categories": ["shoes", ODD[:10]],
        "min_tier": None,
        "club_id": None,
        "club_only": False,
        "style_tags": [],
        "audience_categories": ["é" * 64],
        "starts_at": moment(now, -((n * 7) % 11) - 1, n),  # not in the order of ids
        "ends_at": None,
        "stock": None,
        "club_stock": None,
        "per_member_limit": None,
        "image_url": None,
        "voucher_valid_days": 30,
        "listed": True,
        "created_by": "c" * 128,
        "created_at": moment(now, -50, 999_999),
        "updated_at": moment(now, -1, 1),
        **fields,
    }


async def offers_of_every_shape(database: Any, member_id: int, now: datetime) -> None:
    """Open offers with every nullable column set and unset, exact and wide amounts, a club's
    early access, a closed and an unlisted one, and vouchers the member holds of one."""
    club = {
        "name": {"en": "Club"},
        "description": {},
        "perks": [],
        "points_price": 10,
        "term_months": 12,
    }
    active, inactive = await insert_rows(
        database,
        CLUB,
        [
            {
                **club,
                "code": "on",
                "early_access_days": 5,
                "active": True,
                "created_at": now,
                "updated_at": now,
            },
            {
                **club,
                "code": "off",
                "early_access_days": 9,
                "active": False,
                "created_at": now,
                "updated_at": now,
            },
        ],
    )
    amounts = [
        Decimal("12.3456"),
        Decimal("0.0001"),
        Decimal("99999999999999.9999"),
        Decimal("-5.5"),
        Decimal("10"),
        Decimal("0.1"),
        Decimal("123456789012.3456"),  # 16 digits: more than SQLite writes a JSON float with
    ]
    shapes = [
        {"discount_amount": amount, "discount_currency": "EUR", "percent": n}
        for n, amount in enumerate(amounts)
    ] + [
        {
            "image_url": "https://example.com/" + "i" * 2028,
            "ends_at": moment(now, 3, 999_999),
            "stock": 0,
        },
        {"club_id": active, "starts_at": moment(now, 2, 1), "club_stock": 5, "club_only": True},
        {"club_id": inactive, "min_tier": "gold", "per_member_limit": 2, "style_tags": ["casual"]},
        {"ends_at": moment(now, -1, 0)},  # closed
        {"listed": False},
        {"starts_at": moment(now, 20, 0)},  # not open yet
    ]
    ids = await insert_rows(
        database, OFFER, [offer(n + 1, now, **shape) for n, shape in enumerate(shapes)]
    )
    voucher = {"offer_id": ids[0], "member_id": member_id, "origin": "redeem", "points_spent": 1}
    times = {"issued_at": now, "expires_at": now + timedelta(days=30)}
    await insert_rows(
        database, VOUCHER, [{**voucher, **times, "code": f"CODE{n}"} for n in range(3)]
    )


def exactly(rows: Any) -> Any:
    """Rows as comparable values that tell types apart (1 from True, 12.5 from 12.5000, aware
    from naive times), with their column names."""
    return [(row._fields, [(type(v), repr(v)) for v in row]) for row in rows]


READS = [
    (INTERESTS, {}),
    (OPEN_OFFERS, "open"),
    (DUE_LOTS, "due"),
    (TIER_MONTHS, "months"),
    (NEWEST_ENTRIES, {"limit": 6}),
    # Two more of one kind: the member's statement carries the first, these send their own.
    (NEWEST_ENTRIES, {"limit": 60}),  # every entry: the limit reached exactly
    (NEWEST_ENTRIES, {"limit": 61}),
    (ENTRIES_BEFORE, {"limit": 51, "before_id": "middle"}),
]


def binds_of(binds: Any, now: datetime, entry_ids: list[int]) -> dict[str, Any]:
    """A read's bind parameters but the member, as the reads build them."""
    if binds == "open":
        return {"now": now, "early": now + timedelta(days=30)}
    if binds == "due":
        return {"now": now, "until": now + timedelta(days=WARNING_DAYS)}
    if binds == "months":
        return {"first": (now - timedelta(days=31 * WINDOW)).date().replace(day=1)}
    if binds.get("before_id") == "middle":
        return {**binds, "before_id": entry_ids[len(entry_ids) // 2] if entry_ids else 1}
    return dict(binds)


def alone_and_folded(conn: Connection, uid: str, now: datetime) -> tuple[Any, Any, int]:
    """Each read's rows run on its own and answered by the member's statement, and how many
    statements the folded batch sent."""
    ids = [row.id for row in conn.execute(select(ENTRY.c.id).order_by(ENTRY.c.id)).all()]
    reads = [(rows, binds_of(binds, now, ids)) for rows, binds in READS]
    folds = tuple(rows.fold(**binds) for rows, binds in reads)
    row = run_batch(conn, [MemberByUid(uid)])[0]

    def plan(member: Any) -> list[Any]:
        return [rows.of(member.id, **binds) for rows, binds in reads]

    [(found, answered)] = run_batch(conn, [MemberWith(uid, plan, folds)])
    if row is None:
        return None, (found, answered), 0
    alone = run_batch(conn, plan(row))
    return [exactly(rows) for rows in alone], [exactly(a) for _, a in answered], len(alone)


@pytest.mark.parametrize("with_offers", [False, True])
async def test_each_folded_row_set_is_its_statements_rows(database, uows, clock, with_offers):
    # Given a member with every kind of row, one with none, and (or not) offers of every shape
    now = clock.now().replace(microsecond=500_001)
    alice = await a_member_with_everything(database, uows, now)
    await new_member(uows, "empty")
    if with_offers:
        await offers_of_every_shape(database, alice, now)
    for uid in ("alice", "empty", "nobody"):
        # When the reads run alone and folded into the member's statement
        with capturing(database) as sent:
            alone, folded, _ = await database.read(partial(alone_and_folded, uid=uid, now=now))
        if uid == "nobody":  # Then no member: no row and no reads either way
            assert (alone, folded) == (None, (None, []))
            continue
        # Then they answer the same rows, value for value and type for type
        assert folded == alone, uid
        # (the entries' ids, the member alone, the member with the folds and the two left out,
        # then each alone)
        assert len(sent) == 1 + 1 + 1 + 2 + len(alone)
    # And the edge cases were there to see
    full, _, _ = await database.read(partial(alone_and_folded, uid="alice", now=now))
    sizes = [len(rows) for rows in full]
    assert sizes[0] == 3 and sizes[2] > 0 and sizes[3] == WINDOW + 1
    assert sizes[4:] == [6, 60, 60, 30]
    assert sizes[1] == (
        10 if with_offers else 0
    )  # open offers: all but the closed, unlisted and future ones


def domain_reads(member: Any, now: datetime) -> list[Any]:
    """The dashboard's row-set reads of a member, as `me` plans them."""
    return [
        MemberOffers(member.id, member.tier_code, now),
        PointsAsOf.of(member, now=now, warning_days=WARNING_DAYS),
        QualifyingNow(member.id, now, WINDOW),
        EntriesPage(member.id, 5, None),
        EntriesPage(member.id, 50, None),
    ]


def domain_folds(now: datetime) -> tuple[Any, ...]:
    """The folds `me` sends for those reads."""
    return (
        FactsFold(now),
        *MemberOffers.folds(now),
        PointsAsOf.fold(now=now, warning_days=WARNING_DAYS),
        QualifyingNow.fold(now, WINDOW),
        EntriesPage.fold(5, None),
        EntriesPage.fold(50, None),
    )


def domain_alone_and_folded(conn: Connection, now: datetime) -> tuple[Any, Any, int, int]:
    """The dashboard's reads alone and folded, and the offer cache's size after each."""
    [(row, folded)] = run_batch(
        conn, [MemberWith("alice", partial(domain_reads, now=now), domain_folds(now))]
    )
    cached = len(OFFERS)
    alone = run_batch(conn, domain_reads(row, now))
    return alone, [answer for _, answer in folded], cached, len(OFFERS)


async def test_the_dashboards_reads_answer_the_same_folded(database, uows, clock):
    # Given a member with history, lots, months, categories and offers of every shape
    now = clock.now().replace(microsecond=1)
    alice = await a_member_with_everything(database, uows, now)
    await offers_of_every_shape(database, alice, now)
    # When the dashboard's reads run folded into the member's statement, then alone
    with capturing(database) as sent:
        alone, folded, cached, after = await database.read(
            partial(domain_alone_and_folded, now=now)
        )
    # Then one statement answered them all as their own statements do
    assert folded == alone
    assert (
        len(sent) == 1 + 1 + 3 + 1 + 1 + 1 + 1
    )  # member; facts, categories, offers; lots, months, 2 pages
    # And the offers' cache found every offer of the plain statement under the fold's keys
    assert cached == after and len(alone[0].offers) == 10
    assert alone[1].expiring > 0 and alone[2].points > 0 and alone[3][1] is True


def test_a_row_set_without_order_or_with_an_unknown_column_is_refused():
    with pytest.raises(ValueError, match="ORDER BY"):
        JsonRows(select(LOT.c.id).where(LOT.c.member_id == bindparam("member_id")))
    with pytest.raises(TypeError, match="texts"):
        JsonRows(select(OFFER.c.texts).order_by(OFFER.c.id))
