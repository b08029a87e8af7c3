"""The Home tab through the real app over HTTP: published once per event_id whatever Slack retries, with the
live counts, the agent's own open escalations and the last digest's time."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select

from bot.demo.harness import LocalBot
from bot.features.digest.service import DigestPosted, run_digest
from bot.standins.slack_api import SlackStandIn
from bot.terminal_text import mrkdwn_as_text
from commands.digest import EscalationAge
from models import Database
from models.digest.queries import escalation_ages
from models.escalations import EscalationRow, record_parent, schedule_follow_up, take
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


def test_the_home_tab_is_about_the_agent_first_then_the_team(
    db: Database, bot: LocalBot, slack: SlackStandIn, customers: Customers, escalations: EscalationTable
) -> None:
    for n in range(3):
        customers.stuck(f"C-00{n}")
    customers.add("C-010", authorizations=(("active", NOW - timedelta(days=2), "FB=1_3", None),))
    escalations.open("C-000", "U0SOMEONE", NOW - timedelta(days=2))  # opened by a colleague, taken by the agent
    escalations.open("C-001", AGENT, NOW - timedelta(hours=2))  # opened by the agent, taken by nobody
    with db.transaction() as session:
        [case] = session.scalars(select(EscalationRow).where(EscalationRow.customer_id == "C-000")).all()
        take(session, case.id, agent=AGENT, at=NOW)
        record_parent(session, case.id, "1700000000.000200")
        schedule_follow_up(session, "C-002", NOW + timedelta(hours=3), at=NOW, agent=AGENT)
        schedule_follow_up(session, "C-010", NOW + timedelta(hours=3), at=NOW, agent="U0SOMEONE")  # not theirs
    posted = run_digest(make_context(db, slack, Clock(NOW)), DAY, CHANNEL)
    assert isinstance(posted, DigestPosted)

    bot.send(bot.requests.event_callback(home_event(), event_id="Ev400"))
    slack.wait_for("views.publish")
    view = slack.home_view(AGENT)
    assert view is not None
    [check_button] = view["blocks"][1]["elements"]
    assert (check_button["text"]["text"], check_button["style"]) == ("Check a customer", "primary")
    shown = home_text(slack)
    lines = shown.split("\n")
    # The agent's work first: the case they took (with its thread), their follow-ups due today.
    took = lines.index("Cases you took (1)")
    assert lines[took + 1].startswith("• C-000, open since")
    assert "C-001" not in shown  # opened by the agent, but nobody took it: not their case to work
    assert "https://slack.com/archives/x/p1700000000000200" in shown
    due = lines.index("Your follow-ups due today (1)")
    assert lines[due + 1].startswith("• C-002 at") and "C-010" not in lines[due + 1]
    # Then the team's counts, zero rows hidden, the help article and the last digest.
    assert took < due < lines.index("The team's stuck customers, live")
    assert "4 stuck customers" in shown
    assert "Past the verification window, still not connected: 3" in shown
    assert "Partial scope: data types not all shared: 1" in shown
    assert "without a grant date" not in shown
    assert "Open escalations: 2: 1 under a day · 1 1-3 days" in shown
    assert "Last daily digest: 2026-11-30 17:00 UTC" in shown
    assert "The help article (https://www.ohmconnect.com/faq/getting-started/how-to-reauthorize-your-utility-sce)" in (
        shown)
    # The digest counted the same escalations.
    digest_text = str(slack.message(CHANNEL, posted.ts)["blocks"])
    assert "Open escalations: *2*: 1 under a day" in digest_text


def test_check_a_customer_from_the_home_tab(
    db: Database, bot: LocalBot, slack: SlackStandIn, customers: Customers
) -> None:
    customers.stuck("C-000")
    request = bot.requests.block_actions(action_id="home_check_customer", user_id=AGENT,
                                         view={"id": "V0HOME", "type": "home", "blocks": []})
    assert bot.send(request).status_code == 200
    [opened] = slack.wait_for("views.open")
    form = opened.args["view"]

    def submit(text: str) -> dict[str, Any]:
        values = {"customer": {"value": {"type": "plain_text_input", "value": text}}}
        response = bot.send(bot.requests.view_submission(view=form, state_values=values, user_id=AGENT))
        assert response.status_code == 200
        answer: dict[str, Any] = response.json()
        return answer

    refused = submit("two words here")
    assert refused["response_action"] == "errors" and "Give one customer" in refused["errors"]["customer"]
    answered = submit("C-000")
    assert answered["response_action"] == "update"
    blocks = answered["view"]["blocks"]
    assert blocks[0]["text"]["text"].endswith("· C-000 (SCE)")
    assert all(b["type"] != "actions" for b in blocks)  # acting on it happens where a response_url exists


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
