"""A large generated file with a bad row near its end: nothing written, and the importer's memory does not
grow with the file (rows stream from the reader to the staging table; only bad rows are kept)."""

from __future__ import annotations

import threading
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy import func, inspect, select, table

from models import Database
from models.customers import AuthorizationRow, CustomerRow
from models.imports import Imported, ImportFailed, import_files

HEADER = "authorization_id,customer_id,status,granted_at,scope,authorized_end,revoked_at\n"


def generated(directory: Path, rows: int, *, bad_at: int | None = None) -> tuple[Path, Path]:
    customers = directory / f"customers-{rows}.csv"
    customers.write_text("customer_id,email,name,utility,enrollment_status,last_data_at\n"
                         + "".join(f"C{n},,,SCE,pending,\n" for n in range(rows // 4 + 1)))
    lines = [f"A{n},C{n // 4},active,2026-11-{1 + n % 28:02d}T08:00:00Z,FB=1_3_4_5 IntervalDuration=900,,\n"
             for n in range(rows)]
    if bad_at is not None:
        lines[bad_at - 2] = lines[bad_at - 2].replace(",active,", ",lapsed,")
    authorizations = directory / f"authorizations-{rows}.csv"
    authorizations.write_text(HEADER + "".join(lines))
    return customers, authorizations


def peak_of(db: Database, paths: list[Path]) -> tuple[int, ImportFailed | None]:
    tracemalloc.start()
    try:
        import_files(db, paths)
        failed = None
    except ImportFailed as exc:
        failed = exc
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak, failed


def test_a_bad_row_near_the_end_of_a_large_file_writes_nothing_in_flat_memory(
    sqlite_db: Database, tmp_path: Path
) -> None:
    small = generated(tmp_path, 6_000, bad_at=6_000 - 8)  # past one batch (5,000 rows)
    large = generated(tmp_path, 18_000, bad_at=18_000 - 8)
    small_peak, small_failed = peak_of(sqlite_db, list(small))
    large_peak, large_failed = peak_of(sqlite_db, list(large))
    assert small_failed is not None and large_failed is not None
    assert [(e.source, e.line) for e in large_failed.errors] == [("authorizations-18000.csv", 18_000 - 8)]
    with sqlite_db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(CustomerRow)) == 0
        assert session.scalar(select(func.count()).select_from(AuthorizationRow)) == 0
    # Three times the rows, about the same peak: what is held is a batch, not the file.
    assert large_peak < small_peak * 1.2 + 500_000, (small_peak, large_peak)


def test_a_large_file_goes_in_and_again_changes_nothing(db: Database, tmp_path: Path) -> None:
    customers, authorizations = generated(tmp_path, 8_000)
    import_files(db, [customers, authorizations])
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(AuthorizationRow)) == 8_000
        stored = session.execute(select(AuthorizationRow).order_by(AuthorizationRow.id).limit(3)).scalars().all()
        assert [(a.id, a.customer_id, a.function_blocks & 0b111010) for a in stored] == [
            ("A0", "C0", 0b111010), ("A1", "C0", 0b111010), ("A10", "C2", 0b111010)]
    from tests.summaries import assert_in_step

    summaries = assert_in_step(db)  # the set-based refresh left every customer's summary right
    assert summaries["C0"][0] == 4
    import_files(db, [customers, authorizations])
    assert assert_in_step(db) == summaries


def row_counts(db: Database) -> dict[str, int]:
    """Rows in every table but the schema's version, by table name."""
    with db.engine.connect() as connection:
        names = sorted(set(inspect(connection).get_table_names()) - {"alembic_version"})
        return {name: connection.execute(select(func.count()).select_from(table(name))).scalar_one() for name in names}


def at_once(*calls: Callable[[], list[Imported]]) -> list[list[Imported] | BaseException]:
    """Each call in a thread of its own, released at the same moment: what each returned or raised."""
    start = threading.Barrier(len(calls))
    results: list[list[Imported] | BaseException] = [RuntimeError("did not finish")] * len(calls)

    def run(n: int) -> None:
        start.wait()
        try:
            results[n] = calls[n]()
        except BaseException as exc:  # reported by the caller's assertion, not lost in the thread
            results[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


def test_two_instances_importing_the_same_files_at_once_leave_what_one_import_leaves(
    db: Database, tmp_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """Two instances (or an agent clicking twice) import the same files into an empty database at the same
    moment: both succeed, and no table holds a row more than after one import, history included."""
    files = list(generated(tmp_path, 8_000))

    results = at_once(lambda: import_files(db, files), lambda: import_files(db, files))

    assert all(isinstance(result, list) for result in results), results
    assert results[0] == results[1]

    alone = Database(f"sqlite:///{tmp_path_factory.mktemp('alone')}/reauth.db")
    alone.upgrade()
    import_files(alone, files)
    once = row_counts(alone)
    alone.dispose()
    assert once["authorizations"] == 8_000 and once["customers"] == 2_001
    assert row_counts(db) == once


def test_two_imports_changing_the_same_rows_in_opposite_orders_at_once_both_go_in(
    db: Database, tmp_path: Path
) -> None:
    """Two instances import the same changes at once, one file in the opposite order of the other. Row by
    row, their writes would lock the same rows in opposite orders: a deadlock, and PostgreSQL would abort
    one import. Bulk writes take turns instead: both succeed, and the change is recorded once."""
    customers, authorizations = generated(tmp_path, 8_000)
    import_files(db, [customers, authorizations])
    header, *rows = authorizations.read_text().splitlines(keepends=True)
    revoked = [row.replace(",active,", ",revoked,") for row in rows]
    forwards, backwards = tmp_path / "forwards.csv", tmp_path / "backwards.csv"
    forwards.write_text(header + "".join(revoked))
    backwards.write_text(header + "".join(reversed(revoked)))
    before = row_counts(db)

    results = at_once(lambda: import_files(db, [forwards]), lambda: import_files(db, [backwards]))

    assert all(isinstance(result, list) for result in results), results
    with db.sessions() as session:
        statuses = session.execute(select(AuthorizationRow.status, func.count()).group_by(AuthorizationRow.status))
        assert dict(statuses.all()) == {"revoked": 8_000}
    assert row_counts(db)["transitions"] - before["transitions"] == 8_000  # each revocation once, not twice
