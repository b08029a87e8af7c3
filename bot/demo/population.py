"""A deterministic population of customers for the demo and the benchmarks (about 3 authorizations each)."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from models import Database
from models.customers import AuthorizationRow, CustomerRow, ProcedureRow
from models.function_blocks import function_block_mask

FULL_SCOPE = "FB=1_3_4_5_13_14;IntervalDuration=900_3600;BlockDuration=daily;HistoryLength=63072000;"
PARTIAL_SCOPE = "FB=1_3_13_14;BlockDuration=monthly;"
UTILITIES = ("SCE", "PGE", "SDGE")


@dataclass
class Household:
    customer: dict[str, Any]
    authorizations: list[dict[str, Any]] = field(default_factory=list)
    procedures: list[dict[str, Any]] = field(default_factory=list)


def households(count: int, *, now: datetime, seed: int = 20261129, prefix: str = "G") -> Iterator[Household]:
    """`count` customers in a realistic mix of states: mostly healthy, a tail of each kind of stuck."""
    rng = random.Random(seed)
    width = max(7, len(str(count)))
    for n in range(count):
        customer_id = f"{prefix}-{n:0{width}d}"
        email = f"customer{n:0{width}d}@example.net"
        utility = UTILITIES[rng.randrange(3)]
        roll = rng.random()
        healthy = roll < 0.6
        last_data = now - timedelta(hours=rng.randrange(1, 48)) if healthy else (
            now - timedelta(days=rng.randrange(8, 90)) if rng.random() < 0.5 else None
        )
        house = Household({
            "id": customer_id, "email": email, "email_key": email, "name": None, "utility": utility,
            "enrollment_status": "verified" if healthy else "pending", "last_data_at": last_data,
        })
        # About 3 authorizations each: older revoked ones and one or more live ones.
        for k in range(rng.choice((2, 3, 3, 3, 4))):
            age = timedelta(days=rng.randrange(0, 400), hours=rng.randrange(24))
            newest = k == 0
            status = "active" if newest and healthy else (
                rng.choice(("pending", "active", "revoked")) if newest or rng.random() < 0.15 else "revoked"
            )
            house.authorizations.append({
                "id": f"{customer_id}-A{k}", "customer_id": customer_id, "status": status,
                "granted_at": now - age, "scope": PARTIAL_SCOPE if rng.random() < 0.08 else FULL_SCOPE,
                "authorized_end": None, "revoked_at": now - age / 2 if status == "revoked" else None,
            })
        if not healthy and rng.random() < 0.3:
            for p in range(rng.choice((1, 1, 2))):
                house.procedures.append({
                    "customer_id": customer_id, "sent_at": now - timedelta(days=rng.randrange(1, 40), minutes=p),
                    "ticket_id": str(100000 + n), "agent": "U0AGENT",
                })
        yield house


def insert_population(db: Database, count: int, *, now: datetime, seed: int = 20261129, prefix: str = "G",
                      batch: int = 5000) -> None:
    """Bulk-insert `count` generated customers with their authorizations and procedures."""
    customers: list[dict[str, Any]] = []
    authorizations: list[dict[str, Any]] = []
    procedures: list[dict[str, Any]] = []
    # COPY is about ten times faster than INSERT on PostgreSQL, which matters at a million customers.
    copy = db.engine.dialect.name == "postgresql"
    if copy:
        batch = max(batch, 20_000)

    def flush() -> None:
        with db.transaction() as session:
            for table, rows in ((CustomerRow, customers), (AuthorizationRow, authorizations),
                                (ProcedureRow, procedures)):
                if rows and copy:
                    _copy_rows(session, table.__tablename__, rows)
                elif rows:
                    session.execute(insert(table), rows)
        customers.clear()
        authorizations.clear()
        procedures.clear()

    for house in households(count, now=now, seed=seed, prefix=prefix):
        customers.append(house.customer)
        authorizations.extend(house.authorizations)
        procedures.extend(house.procedures)
        if len(customers) >= batch:
            flush()
    flush()


def _copy_rows(session: Session, table: str, rows: list[dict[str, Any]]) -> None:
    """COPY rows (dicts with the same keys) into a PostgreSQL table; defaults are not applied, so the
    authorizations' function-block mask is computed here."""
    if table == AuthorizationRow.__tablename__ and "function_blocks" not in rows[0]:
        rows = [{**row, "function_blocks": function_block_mask(row["scope"])} for row in rows]
    columns = list(rows[0])
    cursor = session.connection().connection.cursor()
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([row[c] for c in columns])
