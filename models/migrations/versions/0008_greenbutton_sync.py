"""Green Button sync and imports at scale.

- `greenbutton_subscriptions`: the company's mapping of a Green Button subscription (or retail customer) URI
  to a customer, imported with `reauth-bot import`; `greenbutton_authorizations`: which custodian each synced
  authorization came from, so one that vanishes from that custodian's complete feed can be marked revoked;
  `sync_runs`: one row per utility, the lease that lets one instance at a time sync it.
- Function-block masks recomputed with the one scope parser: space- and `&`-separated, URL-encoded and quoted
  scopes now read right, and an empty or unreadable scope is unknown (mask -1, never incomplete).
- On SQLite the summary triggers of 0006 fire per row; an import of a million rows suspends them inside its
  own transaction (a row in `summaries_deferred`, which no other writer can see) and refreshes the summaries
  of the customers it changed in one statement. PostgreSQL's triggers already run once per statement.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from models.base import UTCDateTime
from models.function_blocks import function_block_mask

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# Written here, not imported (as 0006 does): the triggers of 0006, each now skipped while an import defers.
_SQLITE_SUMMARIES = (
    (
        "authorizations",
        "live_authorizations, live_newest_grant, live_function_blocks, live_earliest_end",
        "count(*), max(granted_at), coalesce(max(function_blocks), 0), min(authorized_end)",
        "status IN ('active', 'pending')",
        "customer_id, status, granted_at, function_blocks, authorized_end",
    ),
    ("procedures", "first_procedure_at, last_procedure_at", "min(sent_at), max(sent_at)", "TRUE",
     "customer_id, sent_at"),
)
_DEFERRED = "NOT EXISTS (SELECT 1 FROM summaries_deferred)"


def upgrade() -> None:
    op.create_table(
        "summaries_deferred",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_summaries_deferred"),
    )
    op.create_table(
        "greenbutton_subscriptions",
        sa.Column("resource_uri", sa.String(1000), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.ForeignKeyConstraint(["customer_id"], ["customers.id"], ondelete="CASCADE",
                                name="fk_greenbutton_subscriptions_customer_id_customers"),
        sa.PrimaryKeyConstraint("resource_uri", name="pk_greenbutton_subscriptions"),
    )
    op.create_index("ix_greenbutton_subscriptions_customer_id", "greenbutton_subscriptions", ["customer_id"])
    op.create_table(
        "greenbutton_authorizations",
        sa.Column("authorization_id", sa.String(64), nullable=False),
        sa.Column("utility", sa.String(8), nullable=False),
        sa.Column("authorization_uri", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["authorization_id"], ["authorizations.id"], ondelete="CASCADE",
                                name="fk_greenbutton_authorizations_authorization_id_authorizations"),
        sa.PrimaryKeyConstraint("authorization_id", name="pk_greenbutton_authorizations"),
    )
    op.create_index("ix_greenbutton_authorizations_utility", "greenbutton_authorizations", ["utility"])
    op.create_table(
        "sync_runs",
        sa.Column("utility", sa.String(8), nullable=False),
        sa.Column("holder", sa.String(64), nullable=False),
        sa.Column("lease_until", UTCDateTime(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.Column("finished_at", UTCDateTime(), nullable=True),
        sa.Column("outcome", sa.String(200), nullable=True),
        sa.PrimaryKeyConstraint("utility", name="pk_sync_runs"),
    )
    _recompute_function_blocks()
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_triggers(deferrable=True)


def _recompute_function_blocks() -> None:
    # Few distinct scope strings exist; one UPDATE per scope whose mask changed. The summary triggers
    # follow (function_blocks is one of their columns).
    connection = op.get_bind()
    rows = connection.execute(sa.text("SELECT DISTINCT scope, function_blocks FROM authorizations")).all()
    for scope, mask in rows:
        wanted = function_block_mask(scope)
        if wanted == mask:
            continue
        where = "scope IS NULL" if scope is None else "scope = :scope"
        connection.execute(sa.text(f"UPDATE authorizations SET function_blocks = :mask WHERE {where} "
                                   "AND function_blocks = :old"), {"mask": wanted, "scope": scope, "old": mask})


def _sqlite_triggers(*, deferrable: bool) -> None:
    when = f" WHEN {_DEFERRED}" if deferrable else ""
    for table, columns, aggregates, where, summed in _SQLITE_SUMMARIES:
        def refresh(row: str, only_if: str = "", table: str = table, columns: str = columns,
                    aggregates: str = aggregates, where: str = where) -> str:
            return (f"UPDATE customers SET ({columns}) = (SELECT {aggregates} FROM {table} "
                    f"WHERE {table}.customer_id = {row}.customer_id AND {where}) "
                    f"WHERE id = {row}.customer_id{only_if};")

        moved = " AND OLD.customer_id IS NOT NEW.customer_id"
        for event, body in (
            ("INSERT", refresh("NEW")),
            ("DELETE", refresh("OLD")),
            (f"UPDATE OF {summed}", refresh("OLD", moved) + " " + refresh("NEW")),
        ):
            name = f"{table}_summary_{event.split()[0].lower()}"
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
            op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {table} FOR EACH ROW{when} BEGIN {body} END")


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        _sqlite_triggers(deferrable=False)
    op.drop_table("sync_runs")
    op.drop_index("ix_greenbutton_authorizations_utility", "greenbutton_authorizations")
    op.drop_table("greenbutton_authorizations")
    op.drop_index("ix_greenbutton_subscriptions_customer_id", "greenbutton_subscriptions")
    op.drop_table("greenbutton_subscriptions")
    op.drop_table("summaries_deferred")
