"""`reauth-bot audit` on both databases, and the retention pass that runs once a day however many instances."""

from __future__ import annotations

import csv
import io
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from bot.audit import prune_audit
from bot.cli import main
from bot.context import BotContext
from bot.settings import Settings
from models import Database
from models.audit import AuditPruneRow, audit_trail, record
from models.check import SqlCaseRecords
from tests.demo_dataset import load_demo_dataset

NOW = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)


def fill(db: Database) -> None:
    load_demo_dataset(db)
    with db.transaction() as session:
        SqlCaseRecords(session).record_lookup("C-1004", agent="U0ALICE", at=NOW - timedelta(days=2), source="slack")
        SqlCaseRecords(session).record_lookup("C-1008", agent="cli:lead", at=NOW - timedelta(days=500), source="cli")
        record(session, at=NOW - timedelta(days=1), agent="U0ALICE", action="post_steps", source="button",
               customer_id="C-1004", detail="ticket 4521")
        record(session, at=NOW, agent="U0MALLORY", action="refused", source="slash_command", detail="not_allowed")
        # Written by another tool: an id that a spreadsheet would run.
        record(session, at=NOW, agent="=cmd|' /C calc'!A0", action="escalate", source="form", customer_id="@SUM(1)")


def run_audit(db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str) -> str:
    monkeypatch.setenv("DATABASE_URL", db.url.render_as_string(hide_password=False))
    assert main(["audit", *args]) == 0
    return capsys.readouterr().out


def test_audit_prints_and_filters_the_trail(
    db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(db)
    rows = json.loads(run_audit(db, monkeypatch, capsys, "--json"))
    assert [(r["agent"], r["action"], r["customer_id"], r["source"]) for r in rows] == [
        ("cli:lead", "lookup", "C-1008", "cli"),
        ("U0ALICE", "lookup", "C-1004", "slash_command"),
        ("U0ALICE", "post_steps", "C-1004", "button"),
        ("=cmd|' /C calc'!A0", "escalate", "@SUM(1)", "form"),
        ("U0MALLORY", "refused", None, "slash_command"),
    ]
    assert rows[1]["at"] == "2026-11-28T17:00:00+00:00"
    only = json.loads(run_audit(db, monkeypatch, capsys, "--json", "--customer", "C-1004", "--agent", "U0ALICE",
                                "--since", "2026-11-29"))
    assert [(r["action"], r["detail"]) for r in only] == [("post_steps", "ticket 4521")]
    text = run_audit(db, monkeypatch, capsys, "--agent", "U0MALLORY")
    assert "refused" in text and "not_allowed" in text and "C-1004" not in text


def test_the_audit_csv_is_spreadsheet_safe(
    db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fill(db)
    rows = list(csv.reader(io.StringIO(run_audit(db, monkeypatch, capsys, "--csv"))))
    assert rows[0] == ["at", "agent", "action", "customer_id", "source", "detail"]
    escalated = next(r for r in rows if r[2] == "escalate")
    assert escalated[1] == "'=cmd|' /C calc'!A0" and escalated[3] == "'@SUM(1)"
    assert ["2026-11-29 17:00:00", "U0ALICE", "post_steps", "C-1004", "button", "ticket 4521"] in rows


def test_a_bad_since_is_a_usage_error(capsys: pytest.CaptureFixture[str], tmp_path: object) -> None:
    assert main(["audit", "--since", "last week"]) == 2
    assert "--since must be a day" in capsys.readouterr().err


def test_retention_prunes_once_a_day_whatever_the_number_of_instances(db: Database) -> None:
    fill(db)
    contexts = [BotContext(settings=Settings(audit_retention_days=400), db=db, client=None,  # type: ignore[arg-type]
                           clock=lambda: NOW) for _ in range(4)]
    results: list[int | None] = []
    threads = [threading.Thread(target=lambda c=c: results.append(prune_audit(c))) for c in contexts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results, key=lambda r: r is None) == [1, None, None, None]  # the 500-day-old lookup, once
    with db.reading() as session:
        left = audit_trail(session)
        assert session.get(AuditPruneRow, NOW.date()) is not None
    assert len(left) == 4 and all(e.at >= NOW - timedelta(days=400) for e in left)
    assert prune_audit(contexts[0]) is None  # later the same day: already done
