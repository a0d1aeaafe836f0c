"""Offer and voucher lists cost a constant, small number of statements, however long they are."""

from __future__ import annotations

import pytest
from strawberry.relay import GlobalID

from backend.rewards.offers.services import redeem_offer
from tests.api.offers_support import create, member, redeem
from tests.api.test_query_counts import counting_checkouts
from tests.helpers import give


@pytest.fixture
def api(steady_api):
    """Here every request's statements and checkouts are counted: no background re-reads."""
    return steady_api


LIST = """
query($first: Int!) {
  me { activeVoucherCount redeemableOfferCount }
  offers(first: $first) { edges { node { id title redeemable unavailableReason } } }
  vouchers(first: $first) { edges { node { code status offer { title kind } } } }
}"""


async def costs(api, database, count_queries, uid: str, first: int) -> tuple[int, dict[str, int]]:
    """Statements and checkouts of the lists for a member, `first` per page."""
    await api(LIST, {"first": first}, f"member:{uid}")  # the shared program rules read first
    count_queries.count = 0
    with counting_checkouts(database) as checkouts:
        body = await api(LIST, {"first": first}, f"member:{uid}")
    assert "errors" not in body, body
    return count_queries.count, checkouts


async def test_lists_cost_the_same_statements_for_2_or_40_rows(api, uows, database, count_queries):
    for uid in ("few", "many"):
        await give(uows, await member(api, uid), 10_000)
    for n in range(40):
        await create(api, pointsCost=10, perMemberLimit=5 if n % 2 else None)
    offer_id = int(GlobalID.from_id(await create(api, pointsCost=10)).node_id)
    for n in range(40):  # through the service: the API's redemption budget is 30 a minute
        await uows.run(
            lambda uow, n=n: redeem_offer(
                uow, uid="many", offer_id=offer_id, idempotency_key=f"{n}"
            )
        )
    few = await costs(api, database, count_queries, "few", 2)
    many = await costs(api, database, count_queries, "many", 40)
    assert few == many, (few, many)
    statements, checkouts = many
    # member, with as columns the member's offer facts (StyleID, clubs, active vouchers, last
    # featured), their categories, the open offers with the vouchers taken and points as of now;
    # the vouchers page and its offers.
    assert statements == 3, statements
    assert checkouts["reader"] <= statements and checkouts["writer"] == 0, checkouts


async def test_redeem_offer_costs_the_same_statements_however_many_vouchers(
    api, uows, database, count_queries
):
    await give(uows, await member(api, "alice"), 10_000)
    offer_id = await create(api, pointsCost=10, stock=1000, perMemberLimit=500)
    counts = []
    for n in range(12):
        count_queries.count = 0
        assert (await redeem(api, "alice", offer_id, f"k-{n}"))["errors"] == []
        counts.append(count_queries.count)
    assert counts[1] == counts[-1], counts
    # Read: member id, key, member lock, offer, the rules' version, due lots, the member's offer
    # facts (StyleID, clubs), their categories, the offer with the vouchers taken and its club's
    # early access, open lots. Write: key, stock, entry, member, lots, allocations, voucher, the
    # key's answer; the payload's member; the voucher-issued notification (the member's devices,
    # the inbox row). SQLite adds its `BEGIN IMMEDIATE`.
    assert counts[-1] <= {"sqlite": 24, "postgresql": 23}[database.writer.dialect.name], counts
