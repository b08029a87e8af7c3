"""The `reauth-bot` command line as other programs use it: names, JSON keys, exit codes, clear errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bot.cli import main
from bot.demo.stage import DATASET
from bot.standins.helpdesk import FreshdeskStandIn

AS_OF = "2026-11-30T17:00:00Z"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with no .env, and a SQLite database of its own holding the demo dataset."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/cli.db")
    assert main(["import", *(str(p) for p in sorted(Path(DATASET).glob("*.csv")))]) == 0
    return tmp_path


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any]]:
    capsys.readouterr()
    code = main(list(args))
    return code, json.loads(capsys.readouterr().out)


def test_check_json_has_the_documented_shape(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(capsys, "check", "C-1005", "--as-of", AS_OF, "--json")
    assert code == 0
    assert set(data) == {"customer", "connected", "authorizations", "recommendation"}
    assert data["customer"] == {"id": "C-1005", "email": "eli.novak@example.com", "utility": "SCE"}
    assert data["connected"] is False
    authorizations = data["authorizations"]
    assert (authorizations["total"], authorizations["live"]) == (3, 3)
    assert set(authorizations["items"][0]) == {"id", "status", "granted_at", "age_days", "scope_complete"}
    assert authorizations["items"][0] == {
        "id": "A-1005c", "status": "pending", "granted_at": "2026-11-12T18:00:00+00:00", "age_days": 17,
        "scope_complete": False,
    }
    assert data["recommendation"] == {
        "action": "REAUTH", "reasons": ["duplicate_authorizations", "scope_incomplete"], "wait_until": None,
        "rule": 4, "as_of": "2026-11-30T17:00:00+00:00",  # for whoever audits the rules; agents never see these
    }


def test_check_wait_gives_the_date(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(capsys, "check", "gus.larsen@EXAMPLE.com", "--as-of", AS_OF, "--json")
    assert code == 0
    assert data["recommendation"] == {
        "action": "WAIT", "reasons": ["verification_window"], "wait_until": "2026-12-04T12:00:00+00:00",
        "rule": 6, "as_of": "2026-11-30T17:00:00+00:00",
    }


def test_check_exit_codes(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, data = run_json(capsys, "check", "nobody@example.com", "--json")
    assert code == 3 and data["error"] == "not_found"
    code, data = run_json(capsys, "check", "pat.lee@example.com", "--json")
    assert code == 4
    assert [m["id"] for m in data["matches"]] == ["C-1010", "C-1011"]
    assert main(["check", "'; DROP TABLE customers; --"]) == 2
    assert main(["check", "C-1001", "--as-of", "yesterday"]) == 2
    assert "--as-of 'yesterday' is not an ISO 8601 time" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage:
        main(["check"])
    assert usage.value.code == 2


def test_check_prints_readable_text(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    assert main(["check", "C-1008", "--as-of", AS_OF]) == 0
    out = capsys.readouterr().out
    assert out.startswith("Escalate to the re-authorization team · C-1008 (SCE)") and "ticket 4302" in out
    assert "rule" not in out and "As of" not in out


def test_import_a_bad_file_names_file_and_line_and_writes_nothing(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = workdir / "more-customers.csv"
    bad.write_text(
        "customer_id,email,name,utility,enrollment_status,last_data_at\n"
        "C-2001,new@example.com,New Person,SCE,pending,\n"
        "C-2002,other@example.com,Other,ConEd,pending,\n"
    )
    capsys.readouterr()
    assert main(["import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "more-customers.csv, line 3: utility 'ConEd' is not one of SCE, PGE, SDGE" in err
    assert main(["check", "C-2001", "--json"]) == 3  # the good row of the bad file was not written


def test_every_bad_input_is_a_file_and_line_error_never_a_traceback(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The inputs that crashed `import` with a traceback (issue 11), all in one file: exit 1, the README's
    # code for a bad file, and each one listed with file and line.
    bad = workdir / "bad.csv"
    bad.write_bytes(b"\n".join([
        b"customer_id,email,name,utility,enrollment_status,last_data_at",
        b"C-3001,,,SCE,,0001-01-01T00:00:00+01:00",
        b"C-3002,,,SCE,,9999-12-31T23:00:00-08:00",
        b"C-3003,,No\x00Mail,SCE,,",
        b"C-3004,,,SCE,verified,2099-01-01T00:00:00Z",
        b"C-3005,,Zo\xeb,SCE,,",
        b'C-3006,,"' + b"x" * (129 * 1024),
    ]))
    capsys.readouterr()
    assert main(["import", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for line in range(2, 8):
        assert f"bad.csv, line {line}: " in err
    assert main(["check", "C-3001", "--json"]) == 3


def test_import_a_missing_file_is_a_usage_error(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "nope.csv"]) == 2
    assert "no such file: nope.csv" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({}, "SLACK_BOT_TOKEN is not set"),
        ({"SLACK_BOT_TOKEN": "xoxp-user-token"}, "SLACK_BOT_TOKEN must be a bot token"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET is not set"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "PORT": "eighty"}, "PORT must be a number"),
        ({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "BIND_ADDRESS": "localhost:3000"},
         "BIND_ADDRESS must be an IP address"),
        ({"DIGEST_TZ": "Mars/Olympus"}, "DIGEST_TZ must be an IANA time zone"),
        ({"DIGEST_TIME": "9am"}, "DIGEST_TIME must be a 24-hour time"),
        ({"ESCALATION_CHANNEL": "#escalations"}, "ESCALATION_CHANNEL must be a channel ID"),
        ({"HELPDESK": "jira"}, "HELPDESK must be one of zendesk, intercom, freshdesk"),
        ({"SLACK_API_URL": "slack.com/api"}, "SLACK_API_URL must be an http(s) URL"),
        ({"SHUTDOWN_GRACE": "soon"}, "SHUTDOWN_GRACE must be a number of seconds"),
        ({"OUTBOX_LEASE_SECONDS": "0"}, "OUTBOX_LEASE_SECONDS must be a number of seconds, at least 1"),
    ],
)
def test_serve_with_a_bad_setting_says_which_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    env: dict[str, str], named: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err.strip()
    assert named in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_dotenv_is_read_by_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=not-a-bot-token\n")
    assert main(["serve"]) == 2
    assert "SLACK_BOT_TOKEN must be a bot token" in capsys.readouterr().err


def test_postgres_needs_an_explicit_upgrade(
    postgres_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import psycopg

    fresh = f"{postgres_url}_cli"
    with psycopg.connect(postgres_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{fresh.rsplit("/", 1)[1]}"')
    try:
        monkeypatch.chdir(tmp_path)
        monkeypatch.setenv("DATABASE_URL", fresh)
        assert main(["check", "C-1001"]) == 1
        assert "run `reauth-bot db upgrade` first" in capsys.readouterr().err
        assert main(["db", "upgrade"]) == 0
        assert main(["check", "C-1001"]) == 3
    finally:  # FORCE: the CLI's engine may still hold a pooled connection
        with psycopg.connect(postgres_url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{fresh.rsplit("/", 1)[1]}" WITH (FORCE)')


def test_check_a_new_ticket_asks_the_configured_helpdesk(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with FreshdeskStandIn() as freshdesk:
        freshdesk.add_ticket_from("8802", "Eli.Novak@example.com")
        monkeypatch.setenv("HELPDESK", "freshdesk")
        monkeypatch.setenv("HELPDESK_URL", freshdesk.base_url)
        monkeypatch.setenv("HELPDESK_API_KEY", freshdesk.api_key)
        code, data = run_json(capsys, "check", f"{freshdesk.base_url}/a/tickets/8802", "--as-of", AS_OF, "--json")
        assert code == 0 and data["customer"]["id"] == "C-1005"
        capsys.readouterr()
        assert main(["check", "#8803"]) == 3  # no such ticket: the helpdesk's answer is said
        assert "Freshdesk has no ticket 8803" in capsys.readouterr().err
        assert main(["check", "eli.novak@example.com", "--json"]) == 0
        assert len(freshdesk.requests) == 2  # an e-mail needs no helpdesk

def test_serve_workers_must_be_a_small_number_and_socket_mode_runs_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exited:
        main(["serve", "--workers", "0"])
    assert exited.value.code == 2 and "--workers must be a number from 1 to 64" in capsys.readouterr().err
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-test")
    monkeypatch.setenv("SLACK_APP_TOKEN", "xapp-test")
    monkeypatch.setenv("ALLOWED_USERS", "U0AGENT")
    assert main(["serve", "--workers", "2"]) == 2
    assert "Socket Mode runs one instance" in capsys.readouterr().err
