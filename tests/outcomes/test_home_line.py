"""The Home tab's outcomes line through the real app: the last four weeks' share connected within 14 days."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.demo.harness import LocalBot
from bot.standins.slack_api import SlackStandIn
from models import Database
from tests.app_home.test_home import AGENT, home_event, home_text
from tests.clock import Clock
from tests.digest.conftest import NOW
from tests.outcomes.histories import known_answers


@pytest.fixture
def bot(sqlite_db: Database, slack: SlackStandIn) -> Iterator[LocalBot]:
    with LocalBot(sqlite_db, clock=Clock(NOW), slack=slack) as local:
        yield local


def test_the_home_tab_shows_the_last_four_weeks_per_utility(
    bot: LocalBot, sqlite_db: Database, slack: SlackStandIn
) -> None:
    known_answers().load(sqlite_db)
    bot.send(bot.requests.event_callback(home_event(), event_id="Ev500"))
    slack.wait_for("views.publish")
    text = home_text(slack, AGENT)
    # Weeks of Nov 9 to Nov 30: only PG&E sent steps then (SCE's were Oct 26 and Nov 2).
    assert "Connected within 14 days of the steps" in text
    assert "PG&E: week of Nov 9 100% · week of Nov 16 n/a" in text
    assert "SCE:" not in text


def test_before_any_history_the_home_tab_says_so(bot: LocalBot, slack: SlackStandIn) -> None:
    bot.send(bot.requests.event_callback(home_event(), event_id="Ev501"))
    slack.wait_for("views.publish")
    assert "No history yet" in home_text(slack, AGENT)
