"""The Home tab through the real app over HTTP: published once per event_id whatever Slack retries, with the
live counts, the agent's own open escalations and the last digest's time."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from bot.demo.harness import LocalBot
from bot.features.digest.service import DigestPosted, run_digest
from bot.standins.slack_api import SlackStandIn
from bot.terminal_text import mrkdwn_as_text
from commands.digest import EscalationAge
from models import Database
from models.digest.queries import escalation_ages
from tests.clock import Clock
from tests.digest.conftest import (
    CHANNEL,
    DAY,
    NOW,
    Customers,
    EscalationTable,
    make_context,
)

AGENT = "U0AGENT"


def home_event(user: str = AGENT, tab: str = "home") -> dict[str, Any]:
    return {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": tab, "event_ts": "1700000000.1"}


@pytest.fixture
def bot(db: Database, slack: SlackStandIn) -> Iterator[LocalBot]:
    with LocalBot(db, clock=Clock(NOW), slack=slack) as local:
        yield local


def home_text(slack: SlackStandIn, user: str = AGENT) -> str:
    view = slack.home_view(user)
    assert view is not None
    return "\n".join(
        mrkdwn_as_text(str(part.get("text")))
        for block in view["blocks"]
        for part in ([block["text"]] if "text" in block else block.get("elements", []))
        if isinstance(part, dict)
    )


def settle() -> None:
    """Events are processed after the HTTP ack; give a handler that should do nothing time to (not) act."""
    time.sleep(0.3)


def test_the_home_tab_is_published_once_per_event_id(
    bot: LocalBot, slack: SlackStandIn, customers: Customers
) -> None:
    customers.stuck("C-001")
    first = bot.send(bot.requests.event_callback(home_event(), event_id="Ev001"))
    retries = [bot.send(bot.requests.event_callback(home_event(), event_id="Ev001", retry_num=n)) for n in (1, 2, 3)]

    assert [first.status_code, *[r.status_code for r in retries]] == [200] * 4
    slack.wait_for("views.publish")
    settle()
    assert len(slack.calls_to("views.publish")) == 1
    # Opening the tab again is a new event: published again.
    bot.send(bot.requests.event_callback(home_event(), event_id="Ev002"))
    slack.wait_for("views.publish", 2)
    settle()
    assert len(slack.calls_to("views.publish")) == 2
    assert slack.calls_to("views.publish")[0].args["user_id"] == AGENT


def test_simultaneous_deliveries_of_one_event_publish_once(
    bot: LocalBot, slack: SlackStandIn, customers: Customers
) -> None:
    customers.stuck("C-001")
    requests = [bot.requests.event_callback(home_event(), event_id="Ev100", retry_num=n or None) for n in range(4)]
    start = threading.Barrier(len(requests))
    statuses: list[int] = []

    def deliver(n: int) -> None:
        start.wait(timeout=10)
        statuses.append(bot.send(requests[n]).status_code)

    threads = [threading.Thread(target=deliver, args=(n,)) for n in range(len(requests))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert statuses == [200] * 4
    slack.wait_for("views.publish")
    settle()
    assert len(slack.calls_to("views.publish")) == 1


def test_a_failed_publish_lets_slacks_retry_publish(bot: LocalBot, slack: SlackStandIn, customers: Customers) -> None:
    customers.stuck("C-001")
    slack.fail_next("views.publish", status=500)
    bot.send(bot.requests.event_callback(home_event(), event_id="Ev200"))
    deadline = time.monotonic() + 10
    while not slack.rejected_calls and time.monotonic() < deadline:
        time.sleep(0.02)
    assert [c.method for c in slack.rejected_calls] == ["views.publish"]
    settle()  # the handler gives the event back after the failure

    bot.send(bot.requests.event_callback(home_event(), event_id="Ev200", retry_num=1))

    slack.wait_for("views.publish")
    assert "1 stuck customers" in home_text(slack)


def test_the_messages_tab_draws_nothing(bot: LocalBot, slack: SlackStandIn) -> None:
    bot.send(bot.requests.event_callback(home_event(tab="messages"), event_id="Ev300"))
    settle()
    assert slack.calls_to("views.publish") == []


def test_the_home_tab_shows_live_counts_own_escalations_and_the_last_digest(
    db: Database, bot: LocalBot, slack: SlackStandIn, customers: Customers, escalations: EscalationTable
) -> None:
    for n in range(3):
        customers.stuck(f"C-00{n}")
    customers.add("C-010", authorizations=(("active", NOW - timedelta(days=2), "FB=1_3", None),))
    escalations.open("C-000", AGENT, NOW - timedelta(days=2))
    escalations.open("C-001", "U0SOMEONE", NOW - timedelta(hours=2))
    posted = run_digest(make_context(db, slack, Clock(NOW)), DAY, CHANNEL)
    assert isinstance(posted, DigestPosted)

    bot.send(bot.requests.event_callback(home_event(), event_id="Ev400"))
    slack.wait_for("views.publish")
    shown = home_text(slack)

    assert "4 stuck customers" in shown
    assert "Past the verification window, still not connected: 3" in shown
    assert "Partial scope: data types not all shared: 1" in shown
    assert "Open escalations: 2: 1 under a day · 1 1-3 days" in shown
    assert "Your open escalations (1)" in shown and "C-000" in shown and "C-001" not in shown
    assert "Last daily digest: 2026-11-30 17:00 UTC" in shown
    # The digest counted the same escalations.
    digest_text = str(slack.message(CHANNEL, posted.ts)["blocks"])
    assert "Open escalations: *2*: 1 under a day" in digest_text


def test_escalation_ages_fall_in_their_buckets(
    db: Database, customers: Customers, escalations: EscalationTable
) -> None:
    for n, age in enumerate([timedelta(hours=1), timedelta(days=1), timedelta(days=2), timedelta(days=3),
                             timedelta(days=7), timedelta(days=7, seconds=1), timedelta(days=40)]):
        customers.stuck(f"C-{n}")
        escalations.open(f"C-{n}", AGENT, NOW - age)

    with db.transaction() as session:
        ages = escalation_ages(session, NOW)

    # Buckets are "opened less than N days ago": exactly one day old is 1-3 days.
    assert ages == {EscalationAge.UNDER_1_DAY: 1, EscalationAge.DAYS_1_TO_3: 2, EscalationAge.DAYS_3_TO_7: 1,
                    EscalationAge.OVER_7_DAYS: 3}
