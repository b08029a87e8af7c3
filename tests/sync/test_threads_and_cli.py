"""The sync as agents and operators see it: replies in an escalated customer's thread, and the command."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.app import build_context
from bot.cli import main
from bot.features.sync.service import Outcome, sync_utility
from bot.periodic import Periodic
from bot.settings import Settings, SettingsError
from bot.standins.greenbutton import CustodianAuthorization, CustodianStandIn
from bot.standins.slack_api import SlackStandIn
from models import Database
from tests.clock import Clock
from tests.escalations.conftest import Escalations, running_cases
from tests.sync.conftest import custodian_settings, import_mapping


@pytest.fixture
def cases(db: Database, slack: SlackStandIn, clock: Clock) -> Iterator[Escalations]:
    yield from running_cases(db, slack, clock)


@pytest.fixture
def custodian() -> Iterator[CustodianStandIn]:
    with CustodianStandIn() as running:
        yield running


def test_a_change_to_an_escalated_customer_is_a_reply_in_the_case_thread(
    cases: Escalations, custodian: CustodianStandIn, tmp_path: Path
) -> None:
    import_mapping(cases.db, tmp_path)
    dana = cases.escalate("C-1004")
    hana = cases.escalate("C-1008")
    settings = dataclasses.replace(cases.context.settings, custodians={"SCE": custodian_settings(custodian)})
    context = build_context(settings, cases.context.client, db=cases.db, clock=cases.clock)
    start = int(datetime(2026, 11, 29, 18, 0, tzinfo=UTC).timestamp())
    custodian.authorize(CustodianAuthorization("7001", "sub-1004", start=start))

    report = sync_utility(context, "SCE")
    assert (report.outcome, report.new, report.thread_updates) == (Outcome.SYNCED, 1, 1)
    cases.quiet()
    assert cases.thread(dana) == [":new: New authorization `GB-SCE-7001`: *active*."]
    assert cases.thread(hana) == []

    custodian.remove("7001")  # revoked at the utility: vanished from the complete feed
    assert sync_utility(context, "SCE").revoked == 1
    cases.quiet()
    changed = ":arrows_counterclockwise: Authorization `GB-SCE-7001` changed: active → *revoked*."
    assert cases.thread(dana)[-1] == changed


def _env(monkeypatch: pytest.MonkeyPatch, db_url: str, custodian: CustodianStandIn) -> None:
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("GREENBUTTON_SCE_BASE_URL", custodian.custodian_url)
    monkeypatch.setenv("GREENBUTTON_SCE_TOKEN_URL", custodian.token_url)
    monkeypatch.setenv("GREENBUTTON_SCE_CLIENT_ID", custodian.state.client_id)
    monkeypatch.setenv("GREENBUTTON_SCE_CLIENT_SECRET", custodian.state.client_secret)


def test_the_command_syncs_and_says_what_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, custodian: CustodianStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path}/cli.db"
    _env(monkeypatch, url, custodian)
    from tests.demo_dataset import load_demo_dataset

    db = Database(url)
    db.upgrade()
    load_demo_dataset(db)
    import_mapping(db, tmp_path)
    custodian.authorize(CustodianAuthorization("7001", "sub-1003", start=1795888800))
    custodian.fail_page(1)
    assert main(["sync", "greenbutton"]) == 1
    assert "SCE: sync failed, nothing was changed" in capsys.readouterr().out
    custodian.heal()
    assert main(["sync", "greenbutton", "--utility", "sce"]) == 0
    assert "SCE: synced: 1 new, 0 changed, 0 revoked, 0 skipped" in capsys.readouterr().out
    assert main(["check", "C-1003", "--json", "--as-of", "2026-11-30T09:00:00-08:00"]) == 0
    assert '"action": "WAIT"' in capsys.readouterr().out
    assert main(["sync", "greenbutton", "--utility", "PGE"]) == 2
    assert "GREENBUTTON_PGE_BASE_URL" in capsys.readouterr().err
    assert custodian.state.client_secret not in capsys.readouterr().err


def test_a_custodian_needs_all_four_settings() -> None:
    with pytest.raises(SettingsError, match="GREENBUTTON_PGE_CLIENT_SECRET is not set"):
        Settings.from_env({"GREENBUTTON_PGE_BASE_URL": "https://x.example", "GREENBUTTON_PGE_TOKEN_URL":
                           "https://x.example/token", "GREENBUTTON_PGE_CLIENT_ID": "id"})
    with pytest.raises(SettingsError, match="SYNC_INTERVAL"):
        Settings.from_env({"SYNC_INTERVAL": "5s"})
    settings = Settings.from_env({"SYNC_INTERVAL": "30m", "GREENBUTTON_SDGE_BASE_URL": "https://sdge.example/gb/",
                                  "GREENBUTTON_SDGE_TOKEN_URL": "https://sdge.example/token",
                                  "GREENBUTTON_SDGE_CLIENT_ID": "id", "GREENBUTTON_SDGE_CLIENT_SECRET": "secret"})
    assert settings.sync_interval == 1800 and settings.custodians["SDGE"].base_url == "https://sdge.example/gb"
    assert "secret" not in repr(settings)


def test_serve_runs_the_sync_among_its_workers(db: Database, custodian: CustodianStandIn, tmp_path: Path) -> None:
    from bot.standins.server import poll
    from bot.workers import start_workers
    from tests.demo_dataset import load_demo_dataset

    load_demo_dataset(db)
    import_mapping(db, tmp_path)
    custodian.authorize(CustodianAuthorization("7001", "sub-1003", start=1795888800))
    context = build_context(Settings(custodians={"SCE": custodian_settings(custodian)}), db=db)
    workers = start_workers(context)
    try:
        assert "greenbutton-sync" in [worker.name for worker in workers]
        from models.sync import SyncRunRow

        def outcome() -> str | None:
            with db.sessions() as session:  # a fresh snapshot each time
                run = session.get(SyncRunRow, "SCE")
                return run.outcome if run is not None else None

        found, ready = poll(outcome, lambda o: o is not None, timeout=20)
        assert ready and found == "synced: new 1, changed 0, revoked 0, skipped 0"
    finally:
        for worker in workers:
            worker.stop()
    assert "greenbutton-sync" not in [w.name for w in start_workers_without_custodians(db)]


def start_workers_without_custodians(db: Database) -> list[Periodic]:
    from bot.workers import start_workers

    workers = start_workers(build_context(Settings(), db=db))
    for worker in workers:
        worker.stop()
    return workers
