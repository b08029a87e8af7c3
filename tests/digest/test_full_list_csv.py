"""The full list's CSV lines, built by the database, are byte for byte what `csv.writer` writes of the same
customers one at a time: quoting, days on their boundaries, microseconds, unknown dates, on both databases."""

from __future__ import annotations

import csv
import io
from datetime import datetime, timedelta

import pytest
from psycopg import capabilities

from bot.demo.population import insert_population
from bot.features.digest.blocks import CSV_HEADER, ListWriter
from commands.digest import StuckCustomer
from models import Database
from models.digest.queries import count_stuck, stuck_snapshot
from tests.digest.conftest import FULL_SCOPE, NOW, PARTIAL_SCOPE, Customers, url_of
from tests.digest.oracle import csv_document, every_stuck_customer

US = timedelta(microseconds=1)
DAY = timedelta(days=1)


@pytest.fixture
def awkward(customers: Customers) -> Customers:
    return add_awkward(customers)


def add_awkward(customers: Customers) -> Customers:
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


class BrokenList(ListWriter):
    """A reader that fails after its first batch of lines, as a full disk or a bug would."""

    def write_lines(self, lines: list[str]) -> None:
        super().write_lines(lines)
        raise BrokenListError(self.count)


class BrokenListError(Exception):
    pass


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


@pytest.mark.postgres
def test_postgresql_lists_the_same_whatever_the_sessions_time_zone(postgres_db: Database) -> None:
    """The list reads PostgreSQL's moments as text: a server in another time zone (Chatham Islands, +13:45)
    changes nothing, neither the lines nor the customers read back from them."""
    add_awkward(Customers(postgres_db))
    expected, one_by_one = full_list(postgres_db, NOW, keep=1000)
    elsewhere = Database(
        url_of(postgres_db), connect_args={"options": "-c TimeZone=Pacific/Chatham"}
    )
    try:
        listing, _ = full_list(elsewhere, NOW, keep=1000)
    finally:
        elsewhere.dispose()

    assert listing.customers == one_by_one == expected.customers
    assert listing.csv_bytes() == expected.csv_bytes() == csv_document(one_by_one, NOW)


@pytest.mark.postgres
def test_a_reader_failing_halfway_raises_its_own_error_and_the_database_goes_on(postgres_db: Database) -> None:
    """The list streams from PostgreSQL in batches; a reader that fails after the first batch gets its own
    error (not one from the abandoned statement), and the next transaction on the pool works."""
    insert_population(postgres_db, 20_000, now=NOW)
    with postgres_db.transaction() as session:
        stuck = sum(count_stuck(session, NOW).values())
    assert stuck > 5_000  # more than one batch

    with pytest.raises(BrokenListError) as failed, postgres_db.transaction() as session:
        stuck_snapshot(session, NOW, listing=BrokenList())
    assert failed.value.args == (5_000,)

    with postgres_db.transaction() as session:
        assert sum(count_stuck(session, NOW).values()) == stuck
        assert stuck_snapshot(session, NOW, listing=ListWriter()).counts == count_stuck(session, NOW)


@pytest.mark.postgres
def test_postgresql_lists_the_same_row_by_row_on_a_libpq_without_chunks(
    postgres_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Chunked streaming needs libpq 17; with an older one (psycopg built against the system's libpq) the
    rows stream one by one, and the list is the same."""
    add_awkward(Customers(postgres_db))
    chunked, one_by_one = full_list(postgres_db, NOW, keep=3)
    monkeypatch.setattr(capabilities, "has_stream_chunked", lambda check=False: False)

    row_by_row, _ = full_list(postgres_db, NOW, keep=3)

    assert row_by_row.csv_bytes() == chunked.csv_bytes() == csv_document(one_by_one, NOW)
    assert row_by_row.customers == chunked.customers == one_by_one[:3]
