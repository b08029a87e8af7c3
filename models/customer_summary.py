"""The customer summary of migration 0006, refreshed for many customers in one statement.

The database's triggers keep the summary right for every writer. An import of a million authorizations defers
them inside its own transaction (`deferred`) and then refreshes the summaries of the customers it touched at
once (`refresh`): on SQLite the triggers fire per row, a million small UPDATEs; PostgreSQL's fire once per
statement but recompute each customer with a correlated aggregate of its own (19 s of a million-row import,
measured), where one grouped join does them all.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import text
from sqlalchemy.orm import Mapped, Session, mapped_column

from models.base import Base


class SummaryDeferralRow(Base):
    """Present only inside an import's transaction (so no other writer ever sees it): SQLite's summary
    triggers (migration 0008) skip their per-row work while it exists."""

    __tablename__ = "summaries_deferred"

    id: Mapped[int] = mapped_column(primary_key=True)


# What the triggers sum up, per table: (summary columns, their aggregates, their values when the customer has no
# such row, which rows count).
_SUMMARIES = (
    (("live_authorizations", "live_newest_grant", "live_function_blocks", "live_earliest_end"),
     ("count(*)", "max(granted_at)", "coalesce(max(function_blocks), 0)", "min(authorized_end)"),
     ("0", "NULL", "0", "NULL"), "authorizations", "status IN ('active', 'pending')"),
    (("first_procedure_at", "last_procedure_at"), ("min(sent_at)", "max(sent_at)"), ("NULL", "NULL"),
     "procedures", "1 = 1"),
)


@contextlib.contextmanager
def deferred(session: Session) -> Iterator[bool]:
    """Suspend the summary triggers for the rest of this transaction's block; yields True (the caller then
    owes a `refresh`). No other transaction sees the suspension: on SQLite a row it cannot see before this
    one commits (and it is gone by then), on PostgreSQL a transaction-local setting (migration 0017)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("INSERT INTO summaries_deferred (id) VALUES (1)"))
        yield True
        session.execute(text("DELETE FROM summaries_deferred"))
        return
    session.execute(text("SELECT set_config('reauth.summaries_deferred', 'on', true)"))
    yield True
    session.execute(text("SELECT set_config('reauth.summaries_deferred', 'off', true)"))


def of_new_customers(customer: str, authorizations: str | None, procedures: str | None) -> tuple[str, str, str]:
    """The summary of customers about to be inserted, from the staged rows that will be all of theirs
    (no stored row can name a customer that does not exist yet): (columns, values, joins) for an
    INSERT ... SELECT whose customer id is `customer`, given the staging tables of the authorizations and
    procedures written in the same transaction (None: none). Such customers then need no `refresh`."""
    columns: list[str] = []
    values: list[str] = []
    joins = ""
    for n, (names, aggregates, empty, _, where) in enumerate(_SUMMARIES):
        staged = (authorizations, procedures)[n]
        columns += names
        if staged is None:
            values += empty
            continue
        alias = f"summary{n}"
        summed = ", ".join(f"{a} AS s{i}" for i, a in enumerate(aggregates))
        joins += (f" LEFT JOIN (SELECT customer_id, {summed} FROM {staged} WHERE {where} GROUP BY customer_id) "
                  f"AS {alias} ON {alias}.customer_id = {customer}")
        values += [f"coalesce({alias}.s{i}, {e})" if e != "NULL" else f"{alias}.s{i}" for i, e in enumerate(empty)]
    return ", ".join(columns), ", ".join(values), joins


def refresh(session: Session, customers: str, *, authorizations: bool = True, procedures: bool = True) -> None:
    """Recompute the summary of the customers whose ids the SQL query `customers` selects, with one grouped
    join per summed table."""
    # Gathered once: the query is a union over a million staged rows, and often finds nobody.
    session.execute(text("CREATE TEMPORARY TABLE summaries_owed (id VARCHAR(64))"))
    session.execute(text(f"INSERT INTO summaries_owed (id) SELECT * FROM ({customers}) AS owed"))
    if session.execute(text("SELECT 1 FROM summaries_owed LIMIT 1")).first() is not None:
        _refresh(session, authorizations, procedures)
    session.execute(text("DROP TABLE summaries_owed"))


def _refresh(session: Session, authorizations: bool, procedures: bool) -> None:
    customers = "SELECT id FROM summaries_owed"
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("ANALYZE summaries_owed"))  # a temporary table has no statistics of its own
        # What the trigger does first: lock the customers in id order, so that a concurrent writer's trigger
        # waits for this transaction and this statement's successor sees what such a writer committed while
        # this one waited.
        session.execute(text(f"SELECT 1 FROM customers WHERE id IN ({customers}) ORDER BY id FOR UPDATE"))
    for (columns, aggregates, empty, table, where), wanted in zip(
        _SUMMARIES, (authorizations, procedures), strict=True
    ):
        if not wanted:
            continue
        names = [f"s{n}" for n in range(len(columns))]
        summed = ", ".join(f"{a} AS {n}" for a, n in zip(aggregates, names, strict=True))
        assignments = ", ".join(f"{c} = coalesce(g.{n}, {e})" if e != "NULL" else f"{c} = g.{n}"
                                for c, n, e in zip(columns, names, empty, strict=True))
        session.execute(text(
            f"UPDATE customers SET {assignments} FROM (SELECT c.id, {', '.join(f'a.{n}' for n in names)} "
            f"FROM customers c LEFT JOIN (SELECT customer_id, {summed} FROM {table} WHERE {where} "
            f"AND customer_id IN ({customers}) GROUP BY customer_id) AS a ON a.customer_id = c.id "
            f"WHERE c.id IN ({customers})) AS g WHERE customers.id = g.id"
        ))
