"""rules_version: a counter bumped by triggers on every rules change; buyer's card in purchase answers

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30

- `rules_version` holds one row; triggers on `tier`, `currency_rate` and `program_setting` add one
  to it in the transaction of every insert, update or delete (and TRUNCATE on PostgreSQL), so a
  rules change and its new version commit together whoever writes them (a staff mutation, a
  migration, an operator's SQL). Units of work read the counter instead of the three tables and
  re-read those only when it moved.
- SQLite drops a table's triggers with the table: a later batch alter of one of the three tables
  on SQLite must create its triggers again.
- The stored answers of purchases and refunds (`idempotency_key.result`) gain `member_reference`,
  the buyer's card number, so an answer is built without reading the member again.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

RULE_TABLES = ("tier", "currency_rate", "program_setting")
BUMP = "UPDATE rules_version SET version = version + 1"
PG_FUNCTION = f"""
CREATE FUNCTION bump_rules_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {BUMP};
    RETURN NULL;
END
$$
"""
SQLITE_ACTIONS = ("INSERT", "UPDATE", "DELETE")
ANSWERS = "scope IN ('purchase', 'refund')"
ADD_CARD = {
    "postgresql": f"""
        UPDATE idempotency_key AS k
        SET result = (k.result::jsonb || jsonb_build_object('member_reference', m.card_number))::json
        FROM member AS m WHERE k.{ANSWERS} AND m.id = (k.result->>'member_id')::integer""",
    "sqlite": f"""
        UPDATE idempotency_key SET result = json_set(result, '$.member_reference',
            (SELECT card_number FROM member WHERE id = json_extract(result, '$.member_id')))
        WHERE {ANSWERS}""",
}
DROP_CARD = {
    "postgresql": f"UPDATE idempotency_key SET result = (result::jsonb - 'member_reference')::json WHERE {ANSWERS}",
    "sqlite": f"UPDATE idempotency_key SET result = json_remove(result, '$.member_reference') WHERE {ANSWERS}",
}


def upgrade() -> None:
    """Create the counter at 1 and the triggers that bump it; add the card to stored answers."""
    op.execute(ADD_CARD[op.get_bind().dialect.name])
    table = op.create_table(
        "rules_version",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.bulk_insert(table, [{"id": 1, "version": 1}])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_FUNCTION)
        for name in RULE_TABLES:
            op.execute(
                f"CREATE TRIGGER {name}_bumps_rules_version "
                f"AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {name} "
                "FOR EACH STATEMENT EXECUTE FUNCTION bump_rules_version()"
            )
        return
    for name in RULE_TABLES:
        for action in SQLITE_ACTIONS:
            op.execute(
                f"CREATE TRIGGER {name}_{action.lower()}_bumps_rules_version "
                f"AFTER {action} ON {name} BEGIN {BUMP}; END"
            )


def downgrade() -> None:
    """Drop the triggers and the counter; take the card out of stored answers."""
    op.execute(DROP_CARD[op.get_bind().dialect.name])
    if op.get_bind().dialect.name == "postgresql":
        for name in RULE_TABLES:
            op.execute(f"DROP TRIGGER {name}_bumps_rules_version ON {name}")
        op.execute("DROP FUNCTION bump_rules_version()")
    else:
        for name in RULE_TABLES:
            for action in SQLITE_ACTIONS:
                op.execute(f"DROP TRIGGER {name}_{action.lower()}_bumps_rules_version")
    op.drop_table("rules_version")
