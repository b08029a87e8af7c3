"""History: transitions recorded from the state imports leave, idempotent, ids only, pruned."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select, update

from models import Database
from models.customers import AuthorizationRow, CustomerRow
from models.history import (
    TransitionRow,
    history_started_at,
    prune_history,
    record_transitions,
)
from models.imports import import_files

T0 = datetime(2026, 9, 1, 16, 0, tzinfo=UTC)
FULL_SCOPE = "FB=1_3_4_5_13_14;IntervalDuration=900;"


def _transitions(db: Database) -> list[tuple[str, str | None, str, datetime]]:
    with db.reading() as session:
        rows = session.execute(
            select(TransitionRow.customer_id, TransitionRow.authorization_id, TransitionRow.kind, TransitionRow.at)
            .order_by(TransitionRow.id)
        ).all()
    return [tuple(row) for row in rows]  # type: ignore[misc]


def test_first_observation_is_the_baseline_then_changes_become_transitions(db: Database) -> None:
    with db.transaction() as session:
        session.add(CustomerRow(id="C1", utility="SCE", enrollment_status="verified",
                                last_data_at=T0 - timedelta(days=30)))
        session.flush()
        session.add(AuthorizationRow(id="A1", customer_id="C1", status="active", granted_at=T0 - timedelta(days=90)))
        session.flush()
        assert record_transitions(session, T0) == 0
    with db.reading() as session:
        assert history_started_at(session) == T0
    assert _transitions(db) == []

    granted = T0 + timedelta(days=1)
    with db.transaction() as session:
        session.execute(update(AuthorizationRow).values(status="revoked", revoked_at=granted))
        session.add(AuthorizationRow(id="A2", customer_id="C1", status="pending", granted_at=granted))
        session.flush()
        assert record_transitions(session, granted + timedelta(hours=1)) == 2
    data = T0 + timedelta(days=6)
    with db.transaction() as session:
        session.execute(update(CustomerRow).values(last_data_at=data))
        assert record_transitions(session, data + timedelta(hours=3)) == 1
        # Nothing changed since: nothing written.
        assert record_transitions(session, data + timedelta(hours=4)) == 0
    # A week and more without data: the customer is no longer connected.
    later = data + timedelta(days=8)
    with db.transaction() as session:
        assert record_transitions(session, later) == 1
    assert _transitions(db) == [
        ("C1", "A2", "granted", granted),
        ("C1", "A1", "revoked", granted),
        ("C1", None, "connected", data),
        ("C1", None, "disconnected", later),
    ]


def test_reimporting_the_same_files_adds_no_history(db: Database, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    customers = tmp_path / "customers.csv"
    customers.write_text(
        "customer_id,email,name,utility,enrollment_status,last_data_at\n"
        f"C1,a@example.com,A,SCE,verified,{(now - timedelta(days=1)).isoformat()}\n"
        "C2,b@example.com,B,PGE,pending,\n", encoding="utf-8")
    authorizations = tmp_path / "authorizations.csv"
    authorizations.write_text(
        "authorization_id,customer_id,status,granted_at,scope,authorized_end,revoked_at\n"
        f"A1,C1,active,2026-01-01T00:00:00Z,{FULL_SCOPE},,\n"
        f"A2,C2,pending,{(now - timedelta(days=2)).isoformat()},{FULL_SCOPE},,\n", encoding="utf-8")
    # The first import is the baseline; a second customer file then brings a customer and a grant.
    import_files(db, [customers])
    import_files(db, [authorizations])
    first = _transitions(db)
    assert [(c, a, k) for c, a, k, _ in first] == [("C1", "A1", "granted"), ("C2", "A2", "granted")]
    for _ in range(2):
        import_files(db, [customers, authorizations])
    assert _transitions(db) == first


def test_transitions_hold_ids_only(db: Database) -> None:
    columns = set(TransitionRow.__table__.columns.keys())
    assert columns == {"id", "customer_id", "authorization_id", "kind", "at", "observed_at"}


def test_prune_keeps_the_retention_window(db: Database) -> None:
    with db.transaction() as session:
        record_transitions(session, T0)  # baseline on an empty database
        session.add(CustomerRow(id="C1", utility="SCE"))
        session.flush()
        for days, name in ((800, "old"), (729, "kept"), (1, "new")):
            session.add(AuthorizationRow(id=name, customer_id="C1", status="active",
                                         granted_at=T0 - timedelta(days=days)))
        session.flush()
        assert record_transitions(session, T0) == 3
    with db.transaction() as session:
        assert prune_history(session, T0, timedelta(days=730)) == 1
        assert prune_history(session, T0, timedelta(days=730)) == 0
    assert [a for _, a, _, _ in _transitions(db)] == ["kept", "new"]


def test_the_periodic_pass_prunes_with_history_retention_days(sqlite_db: Database) -> None:
    from bot.app import build_context
    from bot.features.outcomes.service import prune_expired_history
    from bot.settings import Settings

    with sqlite_db.transaction() as session:
        record_transitions(session, T0)
        session.add(CustomerRow(id="C1", utility="SCE"))
        session.flush()
        for days in (40, 20):
            session.add(AuthorizationRow(id=f"A{days}", customer_id="C1", status="active",
                                         granted_at=T0 - timedelta(days=days)))
        session.flush()
        record_transitions(session, T0)
    settings = Settings.from_env({"HISTORY_RETENTION_DAYS": "30"})
    context = build_context(settings, db=sqlite_db, clock=lambda: T0)
    assert prune_expired_history(context) == 1
    assert [a for _, a, _, _ in _transitions(sqlite_db)] == ["A20"]


def _customers_file(tmp_path: Path, name: str, *rows: tuple[str, str, datetime | None]) -> Path:
    path = tmp_path / f"{name}.csv"
    lines = ["customer_id,email,name,utility,enrollment_status,last_data_at"]
    lines += [f"{customer},{customer.lower()}@example.com,{label},SCE,verified,{data.isoformat() if data else ''}"
              for customer, label, data in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_an_import_observes_a_connection_that_lapsed_with_time_though_it_did_not_touch_it(
    db: Database, tmp_path: Path,
) -> None:
    import_files(db, [_customers_file(tmp_path, "all", ("C1", "A", T0 - timedelta(days=1)), ("C2", "B", None))],
                 now=T0)
    # Ten days on, an import about C2 only: C1's data is older than a week, so it is no longer connected.
    lapsed = T0 + timedelta(days=10)
    import_files(db, [_customers_file(tmp_path, "c2", ("C2", "B renamed", None))], now=lapsed)
    assert _transitions(db) == [("C1", None, "disconnected", lapsed)]
    # Data again: the first meter data after the gap connects it.
    resumed = T0 + timedelta(days=11)
    import_files(db, [_customers_file(tmp_path, "c1", ("C1", "A", resumed))], now=resumed + timedelta(hours=1))
    assert _transitions(db)[1:] == [("C1", None, "connected", resumed)]
    # The same file again: nothing new.
    import_files(db, [_customers_file(tmp_path, "c1", ("C1", "A", resumed))], now=resumed + timedelta(hours=2))
    assert len(_transitions(db)) == 2


def test_data_resuming_after_an_unobserved_gap_is_a_disconnection_then_a_connection(
    db: Database, tmp_path: Path,
) -> None:
    import_files(db, [_customers_file(tmp_path, "first", ("C1", "A", T0 - timedelta(days=1)))], now=T0)
    # Nothing imported for three weeks, then new data: the gap is history too.
    resumed = T0 + timedelta(days=20)
    now = resumed + timedelta(hours=1)
    import_files(db, [_customers_file(tmp_path, "again", ("C1", "A", resumed))], now=now)
    assert _transitions(db) == [("C1", None, "disconnected", now), ("C1", None, "connected", resumed)]


def test_an_import_compares_only_what_it_wrote_and_a_whole_comparison_the_rest(
    db: Database, tmp_path: Path,
) -> None:
    import_files(db, [_customers_file(tmp_path, "all", ("C1", "A", None), ("C2", "B", None))], now=T0)
    data = T0 + timedelta(days=1)
    with db.transaction() as session:  # a hand-run statement, not an import
        session.execute(update(CustomerRow).where(CustomerRow.id == "C2").values(last_data_at=data))
    import_files(db, [_customers_file(tmp_path, "c1", ("C1", "A", data))], now=data)
    assert _transitions(db) == [("C1", None, "connected", data)]
    # Whoever runs statements by hand calls the whole comparison; it finds C2, and C1 only once.
    with db.transaction() as session:
        assert record_transitions(session, data) == 1
    assert _transitions(db)[1:] == [("C2", None, "connected", data)]
