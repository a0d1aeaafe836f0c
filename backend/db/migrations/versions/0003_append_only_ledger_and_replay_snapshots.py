"""append-only ledger triggers; idempotency rows hold answer snapshots; one refund scope

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01

- `ledger_entry` and `lot_allocation` refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL).
  SQLite drops a table's triggers with the table: a later batch alter of either table on SQLite
  must create them again.
- `idempotency_key.key` widens from 200 to 300 characters. Refunds move from the scope
  `refund:<order id>` (which overflowed the 64-character scope) to the scope `refund` with the key
  `<length of order id>:<order id>:<refund id>`.
- Purchase and refund rows store a snapshot of the purchase as the first answer instead of its id:
  a recorded order as it was then (nothing refunded yet), a refund as the purchase is now (the
  answer the old code gave).
"""

from collections.abc import Sequence
from datetime import UTC
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

APPEND_ONLY = ("ledger_entry", "lot_allocation")
PG_FUNCTION = """
CREATE FUNCTION refuse_append_only_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % refused', TG_TABLE_NAME, TG_OP
        USING ERRCODE = 'restrict_violation';
END
$$
"""

IDEMPOTENCY = sa.table(
    "idempotency_key",
    sa.column("id", sa.Integer),
    sa.column("scope", sa.String),
    sa.column("key", sa.String),
    sa.column("result", sa.JSON),
)
PURCHASE = sa.table(
    "purchase",
    sa.column("id", sa.Integer),
    sa.column("order_id", sa.String),
    sa.column("member_id", sa.Integer),
    sa.column("amount", sa.Numeric(18, 4)),
    sa.column("currency", sa.String),
    sa.column("channel", sa.String),
    sa.column("occurred_at", sa.DateTime),
    sa.column("points", sa.BigInteger),
    sa.column("refunded_amount", sa.Numeric(18, 4)),
    sa.column("reversed_points", sa.BigInteger),
)


def upgrade() -> None:
    """Widen the key, convert the stored answers and refund keys, install the triggers."""
    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.alter_column(
            "key", existing_type=sa.String(length=200), type_=sa.String(length=300)
        )
    _convert_rows(upgrade=True)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        for table in APPEND_ONLY:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION refuse_append_only_change()"
            )
            op.execute(
                f"CREATE TRIGGER {table}_no_truncate BEFORE TRUNCATE ON {table} "
                "FOR EACH STATEMENT EXECUTE FUNCTION refuse_append_only_change()"
            )
        return
    for table in APPEND_ONLY:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON {table} "
                f"BEGIN SELECT RAISE(ABORT, '{table} is append-only: {action} refused'); END"
            )


def downgrade() -> None:
    """Drop the triggers, restore the old refund keys and stored ids, narrow the key again."""
    if op.get_bind().dialect.name == "postgresql":
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER {table}_append_only ON {table}")
            op.execute(f"DROP TRIGGER {table}_no_truncate ON {table}")
        op.execute("DROP FUNCTION refuse_append_only_change()")
    else:
        for table in APPEND_ONLY:
            op.execute(f"DROP TRIGGER {table}_no_update")
            op.execute(f"DROP TRIGGER {table}_no_delete")
    _convert_rows(upgrade=False)
    with op.batch_alter_table("idempotency_key", schema=None) as batch_op:
        batch_op.alter_column(
            "key", existing_type=sa.String(length=300), type_=sa.String(length=200)
        )


def _convert_rows(*, upgrade: bool) -> None:
    """Rewrite the purchase and refund rows of idempotency_key to the new (or old) form."""
    bind = op.get_bind()
    rows = bind.execute(
        sa.select(IDEMPOTENCY).where(
            sa.or_(IDEMPOTENCY.c.scope == "purchase", IDEMPOTENCY.c.scope.like("refund%"))
        )
    ).all()
    for row in rows:
        if upgrade:
            values = _upgraded(bind, row)
        else:
            values = {"result": {"purchase_id": row.result["id"]}}
            if row.scope == "refund":
                length, _, rest = row.key.partition(":")
                order_id, refund_id = rest[: int(length)], rest[int(length) + 1 :]
                values.update(scope=f"refund:{order_id}", key=refund_id)
        bind.execute(IDEMPOTENCY.update().where(IDEMPOTENCY.c.id == row.id).values(**values))


def _upgraded(bind: Any, row: Any) -> dict[str, Any]:
    """The new scope, key and snapshot of one old row."""
    purchase = bind.execute(
        sa.select(PURCHASE).where(PURCHASE.c.id == row.result["purchase_id"])
    ).one()
    fresh = row.scope == "purchase"
    snapshot = {
        "id": purchase.id,
        "order_id": purchase.order_id,
        "member_id": purchase.member_id,
        "amount": str(purchase.amount),
        "currency": purchase.currency,
        "channel": purchase.channel,
        "occurred_at": purchase.occurred_at.replace(tzinfo=UTC).isoformat(),
        "points": purchase.points,
        "refunded_amount": "0" if fresh else str(purchase.refunded_amount),
        "reversed_points": 0 if fresh else purchase.reversed_points,
    }
    if fresh:
        return {"result": snapshot}
    order_id = row.scope.removeprefix("refund:")
    return {"scope": "refund", "key": f"{len(order_id)}:{order_id}:{row.key}", "result": snapshot}
