"""`reauth-bot digest [--date D] [--channel C] [--dry-run]`: the cron trigger, the same function as `serve`'s."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot import messages
from bot.cli import main
from bot.context import utc_now
from bot.standins.slack_api import SlackStandIn
from models import Database
from models.digest.runs import DigestRow
from tests.digest.conftest import CHANNEL, Customers, top_level, url_of


@pytest.fixture
def env(db: Database, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch, customers: Customers) -> Database:
    monkeypatch.setenv("DATABASE_URL", url_of(db))
    monkeypatch.setenv("SLACK_BOT_TOKEN", slack.token)
    monkeypatch.setenv("SLACK_API_URL", slack.api_url)
    # The CLI reads the wall clock: customers stuck relative to it.
    now = utc_now()
    customers.add("C-001", authorizations=(("active", now - timedelta(days=30), "FB=1_3_4_5", None),))
    customers.add("C-002", authorizations=(("active", now - timedelta(days=30), "FB=1_3", None),))
    return db


def digests(db: Database) -> int:
    with db.sessions() as session:
        return int(session.scalar(select(func.count()).select_from(DigestRow)) or 0)


def test_dry_run_prints_the_digest_and_claims_nothing(
    env: Database, slack: SlackStandIn, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["digest", "--dry-run"]) == 0

    out = capsys.readouterr().out
    assert "2 stuck" in out and "Act today" in out
    assert "C-001" in out and "C-002" in out
    assert "nothing was claimed or posted" in out
    assert digests(env) == 0 and slack.calls == []


def test_posting_from_cron_twice_posts_once(
    env: Database, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DIGEST_CHANNEL", CHANNEL)

    assert main(["digest"]) == 0
    assert main(["digest", "--channel", CHANNEL]) == 0

    out = capsys.readouterr().out.splitlines()
    assert "posted in C0DIGEST" in out[0] and "already posted" in out[1]
    assert len(top_level(slack)) == 1 and digests(env) == 1


def test_a_past_date_and_another_channel(env: Database, slack: SlackStandIn) -> None:
    yesterday = (utc_now() - timedelta(days=2)).date().isoformat()

    assert main(["digest", "--date", yesterday, "--channel", "C0OTHER"]) == 0

    assert len(top_level(slack, "C0OTHER")) == 1
    with env.sessions() as session:
        row = session.scalars(select(DigestRow)).one()
    assert row.day.isoformat() == yesterday and row.channel == "C0OTHER"


@pytest.mark.parametrize(
    ("argv", "error"),
    [
        (["digest"], messages.DIGEST_NO_CHANNEL),
        (["digest", "--date", "30/11/2026", "--dry-run"], "is not a date such as 2026-11-30"),
        (["digest", "--date", "2999-01-01", "--dry-run"], "is after today"),
        (["digest", "--channel", "#support"], "--channel must be a channel ID such as C0123ABCD"),
    ],
)
def test_bad_input_is_a_usage_error_that_changes_nothing(
    env: Database, slack: SlackStandIn, capsys: pytest.CaptureFixture[str], argv: list[str], error: str
) -> None:
    assert main(argv) == 2

    assert error in capsys.readouterr().err
    assert digests(env) == 0 and slack.calls == []


def test_a_slack_failure_exits_1_and_the_next_run_posts(
    env: Database, slack: SlackStandIn, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DIGEST_CHANNEL", CHANNEL)
    slack.fail_next("chat.postMessage", status=200, error="channel_not_found")

    assert main(["digest"]) == 1
    assert "channel_not_found" in capsys.readouterr().err
    assert main(["digest"]) == 0
    assert len(top_level(slack)) == 1


def test_posting_needs_a_bot_token(env: Database, monkeypatch: pytest.MonkeyPatch,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    monkeypatch.setenv("DIGEST_CHANNEL", CHANNEL)

    assert main(["digest"]) == 2
    assert "SLACK_BOT_TOKEN is not set" in capsys.readouterr().err
    assert digests(env) == 0
