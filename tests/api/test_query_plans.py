"""Every statement of the dashboard and of `recordPurchase` finds its rows through an index."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import event

from backend.rewards.jobs import settle_due
from scripts.bench.run import readme_operation
from tests.api.operations import ME, RECORD
from tests.api.test_purchases_api import ALICE, POS, enrolled, order
from tests.api.test_staff_api import BY_EMAIL

# Tables that grow with members and their history: a full scan of one is a defect.
HOT = (
    "member",
    "ledger_entry",
    "lot",
    "lot_allocation",
    "purchase",
    "idempotency_key",
    "tier_month",
)
DASHBOARD = readme_operation(0)
NOT_PLANNED = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA", "SET", "SHOW")


@contextmanager
def capturing(database) -> Iterator[list[tuple[str, object]]]:
    """Record the statements and parameters sent through both pools while a block runs."""
    sent: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, _context, executemany):
        if not statement.lstrip().upper().startswith(NOT_PLANNED):
            sent.append((statement, parameters[0] if executemany else parameters))

    for engine in database.engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        yield sent
    finally:
        for engine in database.engines:
            event.remove(engine, "before_cursor_execute", record)


async def plan_lines(database, sent: list[tuple[str, object]]) -> list[tuple[str, str]]:
    """Explain each statement: (statement, plan line) for every line of its plan."""
    postgres = database.reader.dialect.name == "postgresql"
    found = []
    async with database.writer.connect() as conn:
        if postgres:  # tiny tables: make the planner prefer any usable index to a scan
            await conn.exec_driver_sql("SET enable_seqscan = off")
        for statement, parameters in sent:
            prefix = "EXPLAIN " if postgres else "EXPLAIN QUERY PLAN "
            rows = (await conn.exec_driver_sql(prefix + statement, parameters)).all()
            found += [(statement, row[0] if postgres else row[-1]) for row in rows]
        await conn.rollback()
    return found


async def full_scans(
    database, sent: list[tuple[str, object]], hot: tuple[str, ...] = HOT
) -> list[tuple[str, str]]:
    """Explain each statement; return (statement, plan line) for every full scan of a hot table."""
    postgres = database.reader.dialect.name == "postgresql"
    return [
        (statement, line)
        for statement, line in await plan_lines(database, sent)
        if _scanned_table(line, postgres=postgres) in hot
    ]


def _scanned_table(line: str, *, postgres: bool) -> str | None:
    """The table a plan line reads in full, if it does (SQLite `SCAN t`, PostgreSQL `Seq Scan on t`)."""
    pattern = r"Seq Scan on (\w+)" if postgres else r"^SCAN (\w+)"
    match = re.search(pattern, line.strip())
    return match.group(1) if match else None


async def a_member_with_history(api, clock, uows) -> str:
    """Alice with purchases released, pending and one spent on: a dashboard with every part."""
    _, card = await enrolled(api)
    for n in range(3):
        await api(RECORD, order(card, f"H-{n}"), POS)
    clock.advance(days=15)
    await settle_due(uows)
    await api(RECORD, order(card, "H-pending"), POS)
    await api(ME, token=ALICE)  # the shared program rules are read once, not per request
    return card


async def test_the_dashboard_reads_only_through_indexes(api, clock, uows, database):
    await a_member_with_history(api, clock, uows)
    with capturing(database) as sent:
        body = await api(ME, token=ALICE)
    assert body["data"]["me"]["tier"]["qualifyingPoints"] == 360
    assert len(sent) == 1, sent  # the member, with points, tier months and history folded in
    assert await full_scans(database, sent) == []


# Member-scoped tables the README dashboard reads as columns of the member's statement.
MEMBER_SCOPED = (
    "style_profile",
    "voucher",
    "featured_offer",
    "club_membership",
    "notification",
    "mascot_hunt",
    "earned_month",
    "earned_score",
    "wheel_player",
    "member_category",
)


async def test_the_readme_dashboard_reads_only_through_indexes(api, clock, uows, database):
    await a_member_with_history(api, clock, uows)
    await api(DASHBOARD, token=ALICE)
    with capturing(database) as sent:
        body = await api(DASHBOARD, token=ALICE)
    assert "errors" not in body and body["data"]["me"]["leaderboardRank"] == 1, body
    assert len(sent) == 1, sent  # the member, its other reads folded into its statement
    assert await full_scans(database, sent, HOT + MEMBER_SCOPED) == []


async def test_recording_a_purchase_uses_indexes_only(api, clock, uows, database):
    card = await a_member_with_history(api, clock, uows)
    clock.advance(days=400)  # lots expire and tiers are re-evaluated inside the purchase
    data = order(card, "NEW-1", occurredAt=(clock.now() - timedelta(hours=1)).isoformat())
    with capturing(database) as sent:
        body = await api(RECORD, data, POS)
    assert body["data"]["recordPurchase"]["errors"] == []
    assert any("tier_month" in statement for statement, _ in sent)
    assert await full_scans(database, sent) == []


async def test_the_settle_job_finds_due_members_through_indexes(api, clock, uows, database):
    await a_member_with_history(api, clock, uows)
    clock.advance(days=400)  # the pending purchase is released, lots expire, the tier is due
    with capturing(database) as sent:
        report = await settle_due(uows)
    assert report.entries > 0 and report.members == 1
    due = [statement for statement, _ in sent if "UNION" in statement]
    assert len(due) == 1, due  # one batch: fewer members than the batch size
    assert await full_scans(database, sent) == []


async def test_staff_find_a_member_by_email_through_an_index(api, database):
    await enrolled(api)
    with capturing(database) as sent:
        body = await api(
            BY_EMAIL, {"email": " Alice@EXAMPLE.com", "reason": "Ticket 7"}, "support:sam"
        )
    assert body["data"]["memberByEmail"]["email"] == "alice@example.com"
    assert any("lower(" in statement for statement, _ in sent)
    assert await full_scans(database, sent) == []


def test_the_plan_reader_recognises_full_scans():
    assert _scanned_table("SCAN ledger_entry", postgres=False) == "ledger_entry"
    assert (
        _scanned_table("SEARCH lot USING INDEX ix_lot_member_open (member_id=?)", postgres=False)
        is None
    )
    assert (
        _scanned_table("  ->  Seq Scan on purchase  (cost=0.00..1.01)", postgres=True) == "purchase"
    )
    assert _scanned_table("Index Scan using member_pkey on member", postgres=True) is None


async def test_a_statement_without_an_index_is_caught(database):
    sent = [("SELECT id FROM ledger_entry WHERE reason = 'x'", ())]
    assert [line for _, line in await full_scans(database, sent)] != []
