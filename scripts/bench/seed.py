"""Scratch databases for the benchmark, filled through the domain services.

Marketing lists a few offers in the categories members buy. Every member is enrolled, buys 3 to 6
times (one line in one of those categories each), spends a third of the balance 20 days later
(once the return window is over) and buys once more 8 days after that, so each has pending and
spendable points, a history of 8 to 14 entries, offers they can redeem (the dashboard's
`featuredOffer`, with a reason naming a category) and a few are silver.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from sqlalchemy.engine import URL, make_url

from backend.db.engine import open_database
from backend.db.migrate import upgrade_to_head
from backend.db.tables import Member
from backend.rewards.clock import ManualClock
from backend.rewards.ledger import Posting, Source, debit, settle
from backend.rewards.members.services import EnrollInput, enroll
from backend.rewards.offers.drafts import OfferDraft, OfferText
from backend.rewards.offers.rules import OfferKind
from backend.rewards.offers.services import create_offer
from backend.rewards.ports import Principal, Role
from backend.rewards.purchases.rules import Line, PurchaseInput
from backend.rewards.purchases.services import record_purchase
from backend.rewards.uow import UnitOfWork, UnitOfWorkFactory
from scripts.pg_admin import pg_execute

LOCAL_HOSTS = {"127.0.0.1", "localhost"}
# One scratch database per run (the process id): runs by other users of a shared server never
# drop each other's.
BENCH_DB = f"rewards_bench_{os.getpid()}"
MAINTENANCE_DB = "test"
BIRTH_DATE = date(1990, 5, 17)
CATEGORIES = ("outerwear", "shoes", "bags", "jeans")
OFFER_COSTS = (50, 100, 150, 250, 400, 600, 900, 1500)  # one per category in turn
MARKETING = Principal(uid="bench-marketing", role=Role.MARKETING)


def member_uid(index: int) -> str:
    """The Firebase uid of the index-th seeded member."""
    return f"bench-{index:05d}"


def purchases_of(index: int) -> int:
    """How many purchases the index-th member makes, the late one included (4 to 7)."""
    return 3 + index % 4 + 1


def order_amount(member: int, order: int) -> Decimal:
    """A varied but reproducible order amount between 15 and 174 EUR."""
    return Decimal(15 + (member * 37 + order * 53) % 160)


async def _list_offers(uows: UnitOfWorkFactory) -> None:
    """List a 10 %-off offer per cost, in the bench categories in turn."""
    for i, cost in enumerate(OFFER_COSTS):
        category = CATEGORIES[i % len(CATEGORIES)]
        draft = OfferDraft(
            texts=(OfferText("en", f"10 % off {category}", f"Bench offer {i}"),),
            kind=OfferKind.PERCENT_DISCOUNT,
            points_cost=cost,
            percent=10,
            categories=(category,),
        )
        await uows.run(lambda uow, draft=draft: create_offer(uow, draft=draft, staff=MARKETING))


async def _enroll(uows: UnitOfWorkFactory, index: int) -> Member:
    """Enrol one adult member."""
    uid = member_uid(index)
    data = EnrollInput(birth_date=BIRTH_DATE, display_name=f"Bench {index}")
    return await uows.run(lambda uow: enroll(uow, uid=uid, email=f"{uid}@example.com", data=data))


async def _purchase(
    uows: UnitOfWorkFactory, card: str, order_id: str, amount: Decimal, category: str
) -> None:
    """Record one store order paid now: one line in a category."""
    data = PurchaseInput(
        order_id=order_id,
        card_number=card,
        amount=amount,
        currency="EUR",
        channel="bench-store",
        occurred_at=uows.clock.now(),
        lines=(Line(sku=f"SKU-{category}", category=category, unit_price=amount),),
    )
    await uows.run(lambda uow: record_purchase(uow, data=data, actor="bench"))


async def _spend_third(uows: UnitOfWorkFactory, member_id: int) -> None:
    """Release due points, then spend a third of the balance through the ledger's debit."""

    async def use_case(uow: UnitOfWork) -> None:
        """Lock, settle and debit one member."""
        member = await uow.lock_member(member_id)
        await settle(uow, member=member)
        points = max(1, member.balance // 3)
        await debit(uow, member=member, points=points, posting=Posting("Bench", Source.OFFER))
        await uow.commit()

    await uows.run(use_case)


async def seed(url: str, members: int) -> list[str]:
    """Migrate and fill the database through the domain services; return the card numbers."""
    db = open_database(url)
    try:
        await upgrade_to_head(db.writer)
        clock = ManualClock(datetime.now(UTC) - timedelta(days=30))
        uows = UnitOfWorkFactory(db.session_factory(), clock)
        await _list_offers(uows)
        enrolled = [await _enroll(uows, i) for i in range(members)]
        for i, member in enumerate(enrolled):
            for j in range(purchases_of(i) - 1):
                category = CATEGORIES[(i + j) % len(CATEGORIES)]
                await _purchase(
                    uows, member.card_number, f"bench-{i}-{j}", order_amount(i, j), category
                )
        clock.advance(days=20)  # past the 14-day return window
        for member in enrolled:
            await _spend_third(uows, member.id or 0)
        clock.advance(days=8)  # day 28: a recent order keeps some points pending
        for i, member in enumerate(enrolled):
            late = order_amount(i, 99)
            await _purchase(uows, member.card_number, f"bench-{i}-late", late, CATEGORIES[i % 4])
        return [member.card_number for member in enrolled]
    finally:
        await db.dispose()


def _check_local(host: str | None) -> None:
    """Refuse any database host but this machine's loopback."""
    if host not in LOCAL_HOSTS:
        raise SystemExit(f"refusing database host {host!r}: the benchmark only targets 127.0.0.1")


def pg_urls(url: str) -> tuple[URL, str]:
    """The maintenance database's URL and the scratch database's, both on the asyncpg driver."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise SystemExit("--postgres-url must be a postgresql URL")
    _check_local(parsed.host)
    parsed = parsed.set(drivername="postgresql+asyncpg")
    if parsed.database in (None, "") or parsed.database.startswith("rewards_bench"):
        parsed = parsed.set(database=MAINTENANCE_DB)
    return parsed, parsed.set(database=BENCH_DB).render_as_string(hide_password=False)


@contextlib.asynccontextmanager
async def scratch_sqlite() -> AsyncIterator[tuple[str, str]]:
    """A fresh SQLite file's URL and a label; the directory goes on the way out."""
    with tempfile.TemporaryDirectory(prefix="rewards-bench-") as tmp:
        yield f"sqlite+aiosqlite:///{Path(tmp) / 'bench.db'}", f"SQLite {sqlite3.sqlite_version}"


@contextlib.asynccontextmanager
async def scratch_postgres(url: str) -> AsyncIterator[tuple[str, str]]:
    """A fresh `rewards_bench_PID` database's URL and a label; it is dropped on the way out."""
    maintenance, bench_url = pg_urls(url)
    drop = f'DROP DATABASE IF EXISTS "{BENCH_DB}" WITH (FORCE)'
    await pg_execute(maintenance, drop)  # a leftover of an interrupted run
    version = await pg_execute(maintenance, f'CREATE DATABASE "{BENCH_DB}"')
    try:
        yield bench_url, f"PostgreSQL {version}"
    finally:
        await pg_execute(maintenance, drop)
