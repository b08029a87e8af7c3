"""The full list's CSV lines, built by the database, are byte for byte what `csv.writer` writes of the same
customers one at a time: quoting, days on their boundaries, microseconds, unknown dates, on both databases."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest

from bot.features.digest.blocks import CSV_HEADER, ListWriter
from commands.digest import StuckCustomer
from models import Database
from models.digest.queries import stuck_snapshot
from tests.digest.conftest import FULL_SCOPE, NOW, PARTIAL_SCOPE, Customers
from tests.digest.oracle import csv_document, every_stuck_customer

US = timedelta(microseconds=1)
DAY = timedelta(days=1)


@pytest.fixture
def awkward(customers: Customers) -> Customers:
    """Stuck customers whose CSV lines take every branch: ids that need quoting, grants on whole-day
    boundaries and with microseconds, no date at all, meter data after the grant, several utilities."""
    grant = NOW - 9 * DAY
    customers.add("plain", authorizations=(("active", grant, FULL_SCOPE, None),))
    customers.add('quo"te', utility="PGE", authorizations=(("active", grant - US, FULL_SCOPE, None),))
    customers.add("com,ma", utility="SDGE", authorizations=(("active", grant + US, FULL_SCOPE, None),))
    customers.add("new\nline", authorizations=(("active", grant + timedelta(microseconds=120), FULL_SCOPE, None),))
    customers.add("carriage\rreturn é", authorizations=(("active", NOW - 40 * DAY, PARTIAL_SCOPE, None),))
    customers.add("no-date", authorizations=(("active", None, FULL_SCOPE, None),))
    customers.add("data-no-grant", last_data_at=NOW - 12 * DAY - 3 * US,
                  authorizations=(("active", None, FULL_SCOPE, None),))
    customers.add("two-live", authorizations=(("active", NOW - 2 * DAY, FULL_SCOPE, None),
                                              ("pending", NOW - 3 * DAY, FULL_SCOPE, None)))
    customers.add("data-later", enrollment="verified", last_data_at=NOW - 10 * DAY + timedelta(seconds=1),
                  authorizations=(("active", NOW - 60 * DAY, FULL_SCOPE, None),))
    customers.add("repeated", authorizations=(("active", NOW - 20 * DAY, FULL_SCOPE, None),),
                  procedures=(NOW - 10 * DAY, NOW - 5 * DAY, NOW - DAY))
    return customers


def full_list(db: Database, now: datetime, keep: int) -> tuple[ListWriter, list[StuckCustomer]]:
    """The list as the digest builds it (lines from SQL), and the same customers one at a time."""
    listing = ListWriter(keep=keep)
    with db.transaction() as session:
        listed = stuck_snapshot(session, now, listing=listing)
        snapshot = stuck_snapshot(session, now)
        one_by_one = every_stuck_customer(session, now)
    assert listed == snapshot
    assert listed.longest == one_by_one[: len(listed.longest)]
    return listing, one_by_one


@pytest.mark.parametrize("later", [timedelta(0), 9 * DAY - US, 9 * DAY, 9 * DAY + US, -2 * DAY])
def test_the_database_writes_the_same_csv_as_python(db: Database, awkward: Customers, later: timedelta) -> None:
    now = NOW + later
    listing, one_by_one = full_list(db, now, keep=3)

    assert listing.count == len(one_by_one) > 0
    assert listing.customers == one_by_one[:3]
    assert listing.csv_bytes() == csv_document(one_by_one, now)


def test_quoted_ids_and_unknown_dates_read_back(db: Database, awkward: Customers) -> None:
    listing, one_by_one = full_list(db, NOW, keep=1000)

    rows = list(csv.reader(io.StringIO(listing.csv_bytes().decode(), newline="")))
    assert tuple(rows[0]) == CSV_HEADER
    by_id = {row[0]: row for row in rows[1:]}
    # csv.writer leaves a lone carriage return unquoted (as it always has): that id reads back split.
    readable = {c.customer_id for c in one_by_one} - {"carriage\rreturn é"}
    assert readable <= set(by_id)
    assert {'quo"te', "com,ma", "new\nline"} <= readable
    assert by_id["plain"][4:] == ["9", "2026-11-21 17:00"]
    assert by_id["com,ma"][4:] == ["8", "2026-11-21 17:00"]  # the exact age is in days_stuck
    assert by_id["no-date"][3:] == ["ESCALATE", "", ""]
    assert listing.complete and listing.customers == one_by_one
