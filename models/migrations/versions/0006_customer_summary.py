"""Each customer's authorizations and procedures summed up on the customer's row, kept by the database.

The digest judges a million customers at once; joining each not-connected customer to its
authorizations and its procedures was most of its time. What the rules read of them (how many
authorizations are pending or active, the newest grant, their function blocks, the earliest consent
end; the first and last procedure sent) only changes when one of those rows does, so triggers rewrite
the summary in the same transaction as every insert, update and delete: no writer, the importer, the
ORM or a hand-run SQL statement, can leave it behind. What is live also depends on the moment (consent
ended, grant or procedure still in the future, the repeat window); the digest reads the rows themselves
for the few customers where the moment matters.

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

from typing import Any, NamedTuple

import sqlalchemy as sa
from alembic import op

from models.base import UTCDateTime

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


class Summary(NamedTuple):
    table: str
    columns: tuple[tuple[str, type[sa.types.TypeEngine[Any]], str | None], ...]  # name, type, default
    aggregates: str  # one per column, over the customer's rows
    where: str = "TRUE"
    summed: tuple[str, ...] = ()  # the columns whose change changes the summary

    def assignment(self, customer: str) -> str:
        names = ", ".join(name for name, _, _ in self.columns)
        return (f"({names}) = (SELECT {self.aggregates} FROM {self.table} "
                f"WHERE {self.table}.customer_id = {customer} AND {self.where})")


# Written here, not imported: a migration must not change when the code does.
SUMMARIES = (
    Summary(
        "authorizations",
        (
            ("live_authorizations", sa.Integer, "0"),
            ("live_newest_grant", UTCDateTime, None),
            ("live_function_blocks", sa.BigInteger, "0"),
            ("live_earliest_end", UTCDateTime, None),
        ),
        "count(*), max(granted_at), coalesce(max(function_blocks), 0), min(authorized_end)",
        "status IN ('active', 'pending')",
        ("customer_id", "status", "granted_at", "function_blocks", "authorized_end"),
    ),
    Summary(
        "procedures",
        (("first_procedure_at", UTCDateTime, None), ("last_procedure_at", UTCDateTime, None)),
        "min(sent_at), max(sent_at)",
        summed=("customer_id", "sent_at"),
    ),
)


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for summary in SUMMARIES:
        for name, kind, default in summary.columns:
            op.add_column("customers", sa.Column(name, kind(), nullable=default is None, server_default=default))
    for summary in SUMMARIES:
        if postgresql:
            _postgresql_triggers(summary)
        else:
            _sqlite_triggers(summary)
        # Existing customers: the statement the triggers run, for everyone at once.
        op.execute(f"UPDATE customers SET {summary.assignment('customers.id')} WHERE EXISTS "
                   f"(SELECT 1 FROM {summary.table} WHERE {summary.table}.customer_id = customers.id)")


def _sqlite_triggers(summary: Summary) -> None:
    # SQLite writes one transaction at a time, so a row trigger always sees every earlier write.
    def refresh(row: str, only_if: str = "") -> str:
        return (f"UPDATE customers SET {summary.assignment(f'{row}.customer_id')} "
                f"WHERE id = {row}.customer_id{only_if};")

    moved = " AND OLD.customer_id IS NOT NEW.customer_id"
    for event, body in (
        ("INSERT", refresh("NEW")),
        ("DELETE", refresh("OLD")),
        # Only the columns the summary is made of; a row moved to another customer changes two summaries.
        (f"UPDATE OF {', '.join(summary.summed)}", refresh("OLD", moved) + " " + refresh("NEW")),
    ):
        name = f"{summary.table}_summary_{event.split()[0].lower()}"
        op.execute(f"CREATE TRIGGER {name} AFTER {event} ON {summary.table} FOR EACH ROW BEGIN {body} END")


def _postgresql_triggers(summary: Summary) -> None:
    # Once per statement over the rows it changed: a bulk import is one trigger call per batch, not per
    # row. The customers are locked first, in id order, and summed up by a second statement: under READ
    # COMMITTED its snapshot includes what a concurrent writer committed while this one waited for the
    # lock, so two imports for one customer cannot leave a stale summary.
    def refresh(changed: str) -> str:
        return (f"PERFORM 1 FROM customers WHERE id IN (SELECT customer_id FROM {changed}) ORDER BY id FOR UPDATE; "
                f"UPDATE customers SET {summary.assignment('customers.id')} "
                f"WHERE id IN (SELECT customer_id FROM {changed});")

    both = "(SELECT customer_id FROM changed_old UNION SELECT customer_id FROM changed_new) AS changed"
    function = f"{summary.table}_summary"
    op.execute(f"""
CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {refresh("changed_new")}
    ELSIF TG_OP = 'DELETE' THEN
        {refresh("changed_old")}
    ELSIF TG_OP = 'UPDATE' THEN
        {refresh(both)}
    ELSE  -- TRUNCATE: nobody has any left
        UPDATE customers SET {summary.assignment('customers.id')};
    END IF;
    RETURN NULL;
END
$$""")
    for event, tables in (("INSERT", "NEW TABLE AS changed_new"), ("DELETE", "OLD TABLE AS changed_old"),
                          ("UPDATE", "OLD TABLE AS changed_old NEW TABLE AS changed_new")):
        op.execute(f"CREATE TRIGGER {function}_{event.lower()} AFTER {event} ON {summary.table} "
                   f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION {function}()")
    # SQLite has no TRUNCATE (and turns off its truncate shortcut for a table with triggers).
    op.execute(f"CREATE TRIGGER {function}_truncate AFTER TRUNCATE ON {summary.table} "
               f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for summary in SUMMARIES:
        for event in ("insert", "delete", "update", "truncate"):
            on = f" ON {summary.table}" if postgresql else ""
            op.execute(f"DROP TRIGGER IF EXISTS {summary.table}_summary_{event}{on}")
        if postgresql:
            op.execute(f"DROP FUNCTION IF EXISTS {summary.table}_summary()")
    # ALTER TABLE, never a batch copy: on SQLite a copy drops the old customers table, and with foreign
    # keys on, dropping it deletes every authorization and procedure.
    for summary in reversed(SUMMARIES):
        for name, _, _ in reversed(summary.columns):
            op.execute(f"ALTER TABLE customers DROP COLUMN {name}")
