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
