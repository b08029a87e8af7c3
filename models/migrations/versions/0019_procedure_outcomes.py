"""What followed each procedure sent, kept on a row of its own by the database, so the outcomes report only
adds them up.

The report asks, per procedure: the first new authorization after the steps, the first connection after
them, the first connection after that grant (the utility's verification time), the next procedure, the
first escalation. Seeking those in the history for a year of procedures took seconds (hundreds of thousands
of procedures, each a handful of index seeks or a hash join with a million events). They only change when
one of the customer's procedures, transitions or escalations does, so triggers rewrite the customer's rows
in the same transaction as every insert, update and delete of those, as migration 0006 does for the digest's
summary: no writer can leave them behind. They are first moments, with no window applied: the report applies
its windows and its moment (`commands.outcomes`), so no policy number is written here. Pruning old history
refreshes them too: a procedure's outcome is what the history still shows.

Revision ID: 0019
Revises: 0018
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from models.base import UTCDateTime

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

# Written here, not imported: a migration must not change when the code does. (SQLite's triggers take no
# alias for the updated table, hence its full name.)
_FIRST_TRANSITION = ("(SELECT min(t.at) FROM transitions t WHERE t.customer_id = procedure_outcomes.customer_id "
                     "AND t.kind = '{kind}' AND t.at >= {after})")
_GRANTED = _FIRST_TRANSITION.format(kind="granted", after="procedure_outcomes.sent_at")
FACTS = {
    "granted_at": _GRANTED,
    "connected_at": _FIRST_TRANSITION.format(kind="connected", after="procedure_outcomes.sent_at"),
    "verified_at": _FIRST_TRANSITION.format(kind="connected", after=_GRANTED),
    "next_sent_at": ("(SELECT min(p.sent_at) FROM procedures p WHERE p.customer_id = procedure_outcomes.customer_id "
                     "AND p.sent_at > procedure_outcomes.sent_at)"),
    "escalated_at": ("(SELECT min(e.opened_at) FROM escalations e WHERE e.customer_id = procedure_outcomes.customer_id "
                     "AND e.opened_at >= procedure_outcomes.sent_at)"),
}
# The tables whose rows the facts are made of, with the columns whose change changes them.
SOURCES = {
    "procedures": ("customer_id", "sent_at"),
    "transitions": ("customer_id", "kind", "at"),
    "escalations": ("customer_id", "opened_at"),
}


def refresh(customers: str) -> str:
    """The statement that rewrites the facts of the customers `customers` selects."""
    facts = ", ".join(f"{name} = {query}" for name, query in FACTS.items())
    return f"UPDATE procedure_outcomes SET {facts} WHERE customer_id IN ({customers})"


def upgrade() -> None:
    op.create_table(
        "procedure_outcomes",
        sa.Column("procedure_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("utility", sa.String(8), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        *(sa.Column(name, UTCDateTime()) for name in FACTS),
        sa.PrimaryKeyConstraint("procedure_id", name="pk_procedure_outcomes"),
    )
    op.create_index("ix_procedure_outcomes_customer_id", "procedure_outcomes", ["customer_id"])
    op.create_index("ix_procedure_outcomes_sent_at", "procedure_outcomes", ["sent_at"])
    op.execute("INSERT INTO procedure_outcomes (procedure_id, customer_id, utility, sent_at) SELECT p.id, "
               "p.customer_id, c.utility, p.sent_at FROM procedures p JOIN customers c ON c.id = p.customer_id")
    op.execute(refresh("SELECT customer_id FROM procedures"))
    if op.get_bind().dialect.name == "postgresql":
        _postgresql_triggers()
    else:
        _sqlite_triggers()


def _sqlite_triggers() -> None:
    # SQLite writes one transaction at a time, so a row trigger always sees every earlier write.
    utility = "(SELECT utility FROM customers WHERE id = NEW.customer_id)"
    outcome = {
        "INSERT": ("INSERT INTO procedure_outcomes (procedure_id, customer_id, utility, sent_at) "
                   f"VALUES (NEW.id, NEW.customer_id, {utility}, NEW.sent_at);"),
        "DELETE": "DELETE FROM procedure_outcomes WHERE procedure_id = OLD.id;",
        "UPDATE": (f"UPDATE procedure_outcomes SET customer_id = NEW.customer_id, utility = {utility}, "
                   "sent_at = NEW.sent_at WHERE procedure_id = OLD.id;"),
    }
    for table, columns in SOURCES.items():
        for event, customers in (
            ("INSERT", "NEW.customer_id"),
            ("DELETE", "OLD.customer_id"),
            # Only the columns the facts are made of; a row moved to another customer changes both.
            (f"UPDATE OF {', '.join(columns)}", "OLD.customer_id, NEW.customer_id"),
        ):
            kind = event.split()[0]
            body = (outcome[kind] if table == "procedures" else "") + f" {refresh(customers)};"
            op.execute(f"CREATE TRIGGER {table}_outcomes_{kind.lower()} AFTER {event} ON {table} "
                       f"FOR EACH ROW BEGIN {body} END")
    op.execute("CREATE TRIGGER customers_outcomes_utility AFTER UPDATE OF utility ON customers "
               "FOR EACH ROW WHEN OLD.utility IS NOT NEW.utility BEGIN "
               "UPDATE procedure_outcomes SET utility = NEW.utility WHERE customer_id = NEW.id; END")


def _postgresql_triggers() -> None:
    # Once per statement over the rows it changed (transition tables), as migration 0006 does: the customers
    # are locked first, in id order, and the facts rewritten by a second statement, whose snapshot under READ
    # COMMITTED includes what a concurrent writer committed while this one waited for the lock.
    def rewrite(changed: str) -> str:
        return (f"PERFORM 1 FROM customers WHERE id IN ({changed}) ORDER BY id FOR UPDATE; {refresh(changed)};")

    procedures = """
        IF TG_OP = 'DELETE' THEN
            DELETE FROM procedure_outcomes WHERE procedure_id IN (SELECT id FROM changed_old);
        ELSIF TG_OP = 'INSERT' THEN
            INSERT INTO procedure_outcomes (procedure_id, customer_id, utility, sent_at)
            SELECT n.id, n.customer_id, c.utility, n.sent_at
            FROM changed_new n JOIN customers c ON c.id = n.customer_id;
        ELSIF TG_OP = 'UPDATE' THEN
            UPDATE procedure_outcomes AS o SET customer_id = n.customer_id, utility = c.utility, sent_at = n.sent_at
            FROM changed_new n JOIN customers c ON c.id = n.customer_id
            WHERE o.procedure_id = n.id AND (o.customer_id, o.sent_at) IS DISTINCT FROM (n.customer_id, n.sent_at);
        END IF;"""
    for table, columns in SOURCES.items():
        function = f"{table}_outcomes"
        # A statement trigger with transition tables takes no column list: the rows whose columns did not
        # change (an escalation taken, its thread posted) are left out here instead.
        differs = (f"({', '.join(f'o.{c}' for c in columns)}) IS DISTINCT FROM "
                   f"({', '.join(f'n.{c}' for c in columns)})")
        updated = " UNION ".join(f"SELECT {side}.customer_id FROM changed_old o JOIN changed_new n USING (id) "
                                 f"WHERE {differs}" for side in ("o", "n"))
        op.execute(f"""
CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        {"DELETE FROM procedure_outcomes;" if table == "procedures" else ""}
        {refresh("SELECT customer_id FROM procedure_outcomes")};
        RETURN NULL;
    END IF;
    {procedures if table == "procedures" else ""}
    IF TG_OP = 'INSERT' THEN
        {rewrite("SELECT customer_id FROM changed_new")}
    ELSIF TG_OP = 'DELETE' THEN
        {rewrite("SELECT customer_id FROM changed_old")}
    ELSE
        {rewrite(updated)}
    END IF;
    RETURN NULL;
END
$$""")
        for event, tables in (("INSERT", "NEW TABLE AS changed_new"), ("DELETE", "OLD TABLE AS changed_old"),
                              ("UPDATE", "OLD TABLE AS changed_old NEW TABLE AS changed_new")):
            op.execute(f"CREATE TRIGGER {function}_{event.lower()} AFTER {event} ON {table} "
                       f"REFERENCING {tables} FOR EACH STATEMENT EXECUTE FUNCTION {function}()")
        op.execute(f"CREATE TRIGGER {function}_truncate AFTER TRUNCATE ON {table} "
                   f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()")
    # A row trigger with a WHEN costs nothing for the rows whose utility did not change (an import rewrites
    # every customer it reads; a statement trigger would collect them all).
    op.execute("""
CREATE FUNCTION customers_outcomes_utility() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE procedure_outcomes SET utility = NEW.utility WHERE customer_id = NEW.id;
    RETURN NULL;
END
$$""")
    op.execute("CREATE TRIGGER customers_outcomes_utility AFTER UPDATE OF utility ON customers FOR EACH ROW "
               "WHEN (OLD.utility IS DISTINCT FROM NEW.utility) EXECUTE FUNCTION customers_outcomes_utility()")


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table in SOURCES:
        for event in ("insert", "delete", "update", "truncate"):
            on = f" ON {table}" if postgresql else ""
            op.execute(f"DROP TRIGGER IF EXISTS {table}_outcomes_{event}{on}")
        if postgresql:
            op.execute(f"DROP FUNCTION IF EXISTS {table}_outcomes()")
    op.execute(f"DROP TRIGGER IF EXISTS customers_outcomes_utility{' ON customers' if postgresql else ''}")
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS customers_outcomes_utility()")
    op.drop_table("procedure_outcomes")
