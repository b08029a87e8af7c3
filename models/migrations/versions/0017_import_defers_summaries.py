"""PostgreSQL's summary triggers (migration 0006) step aside while an import refreshes the summaries itself.

An import of a million authorizations upserts them in one statement; the statement trigger then locked and
recomputed every customer touched with one correlated aggregate each: 19 s of a 93 s import, measured. As
SQLite's per-row triggers already do (migration 0008), the trigger now does nothing while the writing
transaction says it defers (`models.customer_summary.deferred`): there a transaction-local setting, which no
other transaction can see, so every other writer keeps its trigger. The import then refreshes the customers
it touched with one grouped join (`models.customer_summary.refresh`).

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

# Written here, not imported (as 0006 does): (table, summary columns, aggregates, which rows).
_SUMMARIES = (
    ("authorizations", "live_authorizations, live_newest_grant, live_function_blocks, live_earliest_end",
     "count(*), max(granted_at), coalesce(max(function_blocks), 0), min(authorized_end)",
     "status IN ('active', 'pending')"),
    ("procedures", "first_procedure_at, last_procedure_at", "min(sent_at), max(sent_at)", "TRUE"),
)
# `current_setting(..., true)` is NULL while nobody set it, so the trigger runs unless told otherwise.
_DEFERRED = "IF current_setting('reauth.summaries_deferred', true) = 'on' THEN RETURN NULL; END IF;"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _functions(_DEFERRED)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _functions("")


def _functions(preamble: str) -> None:
    for table, columns, aggregates, where in _SUMMARIES:
        assignment = (f"({columns}) = (SELECT {aggregates} FROM {table} "
                      f"WHERE {table}.customer_id = customers.id AND {where})")

        def refresh(changed: str, assignment: str = assignment) -> str:
            return (f"PERFORM 1 FROM customers WHERE id IN (SELECT customer_id FROM {changed}) ORDER BY id "
                    f"FOR UPDATE; UPDATE customers SET {assignment} WHERE id IN (SELECT customer_id FROM {changed});")

        both = "(SELECT customer_id FROM changed_old UNION SELECT customer_id FROM changed_new) AS changed"
        op.execute(f"""
CREATE OR REPLACE FUNCTION {table}_summary() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    {preamble}
    IF TG_OP = 'INSERT' THEN
        {refresh("changed_new")}
    ELSIF TG_OP = 'DELETE' THEN
        {refresh("changed_old")}
    ELSIF TG_OP = 'UPDATE' THEN
        {refresh(both)}
    ELSE  -- TRUNCATE: nobody has any left
        UPDATE customers SET {assignment};
    END IF;
    RETURN NULL;
END
$$""")
