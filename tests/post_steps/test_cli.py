"""`reauth-bot templates check`, the start-up check of the templates, and `reauth-bot outbox run` (cron)."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.features.post_steps.template_files import PACKAGED_DIR
from models import Database
from models.outbox import OutboxStatus
from tests.clock import Clock
from tests.post_steps.conftest import (
    TICKET,
    add_customer,
    check,
    credentials_for,
    posts,
    procedures,
    running_bot,
    send_to_customer,
    standin_for,
    text_of,
)


@pytest.fixture(autouse=True)
def away_from_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI loads .env from the working directory; a developer's file must not reach these tests."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def broken_templates(tmp_path: Path) -> Path:
    folder = tmp_path / "templates"
    shutil.copytree(PACKAGED_DIR, folder)
    (folder / "sce_reauth.txt").write_text("Hi $first_name, revoke them all.\n", encoding="utf-8")
    (folder / "pge_wait.txt").unlink()
    return folder


def test_templates_check_passes_the_shipped_templates(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["templates", "check"]) == 0
    assert "10 step templates in" in capsys.readouterr().out


def test_templates_check_lists_every_problem_with_its_file(
    broken_templates: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["templates", "check", str(broken_templates)]) == 2
    err = capsys.readouterr().err
    assert "2 problem(s)" in err
    assert "sce_reauth.txt line 1: unknown placeholder $first_name" in err
    assert "pge_wait.txt: missing" in err


def test_templates_check_reads_templates_dir(
    broken_templates: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("TEMPLATES_DIR", str(broken_templates))
    assert main(["templates", "check"]) == 2
    assert "sce_reauth.txt line 1" in capsys.readouterr().err


def test_serve_refuses_to_start_with_a_broken_template(
    broken_templates: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-not-used")
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "not-used")
    monkeypatch.setenv("TEMPLATES_DIR", str(broken_templates))
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/serve.db")
    assert main(["serve"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1  # one clear line, no traceback
    assert err.startswith("reauth-bot: 2 problem(s) with the step templates in")
    assert "sce_reauth.txt line 1: unknown placeholder $first_name" in err and "pge_wait.txt: missing" in err


def test_a_helpdesk_without_its_url_is_a_settings_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HELPDESK", "zendesk")
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/cron.db")
    assert main(["outbox", "run"]) == 2
    assert "HELPDESK_URL is not set" in capsys.readouterr().err


def test_outbox_run_delivers_a_queued_post_once(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # The click happened two hours ago, while the helpdesk was down.
    clock = Clock(datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2))
    add_customer(sqlite_db, "C-5001", now=clock.now)
    with standin_for("freshdesk") as standin:
        standin.set_down(True)
        with running_bot(sqlite_db, standin, clock) as rig:
            assert "Not posted yet" in text_of(send_to_customer(rig.bot, check(rig.bot, f"C-5001 {TICKET}")))
        standin.set_down(False)

        monkeypatch.setenv("DATABASE_URL", str(sqlite_db.url.render_as_string(hide_password=False)))
        monkeypatch.setenv("HELPDESK", "freshdesk")
        monkeypatch.setenv("HELPDESK_URL", standin.base_url)
        for name, value in credentials_for(standin).items():
            monkeypatch.setenv(name, value)
        assert main(["outbox", "run"]) == 0
        assert "1 due post(s) attempted" in capsys.readouterr().out
        assert main(["outbox", "run"]) == 0  # cron runs again: nothing left to send
        assert "0 due post(s) attempted" in capsys.readouterr().out

    assert len(standin.notes(TICKET)) == 1
    assert [row.status for row in posts(sqlite_db)] == [OutboxStatus.DELIVERED]
    assert len(procedures(sqlite_db, "C-5001")) == 1
