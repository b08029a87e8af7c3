"""Escalations end to end: the real app over HTTP (LocalBot) against the Slack stand-in, on both databases.

The app's clock is a `Clock` the test moves; workers are driven by their run-once methods, so no test waits
for a timer.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from slack_bolt import App
from sqlalchemy import func, select

from bot.app import build_context, create_app
from bot.context import BotContext
from bot.demo.harness import LocalBot
from bot.features.escalations.blocks import ESCALATE_ACTION, ESCALATE_MENU_ACTION
from bot.settings import Settings
from bot.standins.slack_api import SlackStandIn
from models import Database
from models.outbox import OutboxRow, OutboxStatus
from tests.clock import Clock
from tests.demo_dataset import load_demo_dataset

CHANNEL = "C0ESCALATE"
POLL = 0.02


def poll(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            raise AssertionError(f"still waiting for {what} after {timeout}s")
        time.sleep(POLL)


@dataclass
class Instance:
    """One running instance of the bot: its HTTP app and the context its listeners use."""

    bot: LocalBot
    context: BotContext


class Escalations:
    """Drives the real app like agents in Slack do, and reads what Slack shows."""

    def __init__(self, db: Database, slack: SlackStandIn, clock: Clock) -> None:
        self.db = db
        self.slack = slack
        self.clock = clock
        self.instances: list[Instance] = []
        self.start()

    # ---------------------------------------------------------------- instances

    def start(self) -> Instance:
        """Start one more instance (a restart, or a second replica) on the same database and Slack."""
        captured: list[BotContext] = []

        def factory(settings: Settings, db: Database, clock: Callable[[], datetime]) -> App:
            captured.append(build_context(settings, db=db, clock=clock))
            return create_app(settings, context=captured[0])

        bot = LocalBot(self.db, clock=self.clock, settings=Settings(escalation_channel=CHANNEL), slack=self.slack,
                       app_factory=factory).start()
        instance = Instance(bot, captured[0])
        self.instances.append(instance)
        return instance

    @property
    def bot(self) -> LocalBot:
        return self.instances[-1].bot

    @property
    def context(self) -> BotContext:
        return self.instances[-1].context

    def stop(self, instance: Instance | None = None) -> None:
        for running in [instance] if instance else list(self.instances):
            running.bot.stop()
            self.instances.remove(running)

    # ---------------------------------------------------------------- what agents do

    def check(self, query: str, user: str = "U0AGENT") -> dict[str, Any]:
        acked = self.bot.slash(query, user_id=user)
        assert acked.status == 200, acked.body
        return self.bot.answer(acked)

    def click_escalate(self, answer: dict[str, Any], user: str = "U0AGENT") -> dict[str, Any]:
        """Click Escalate under a check answer; the modal it opened."""
        opened = len(self.slack.calls_to("views.open"))
        # Escalate is the button when the rules say ESCALATE, else the overflow menu's option.
        ids = [e.get("action_id") for b in answer.get("blocks") or [] for e in b.get("elements") or []]
        action_id = ESCALATE_ACTION if ESCALATE_ACTION in ids else ESCALATE_MENU_ACTION
        request = self.bot.requests.block_actions(action_id=action_id, message=answer, user_id=user,
                                                  response_url=self.slack.response_url())
        assert self.bot.send(request).status_code == 200
        return self.opened_view(opened + 1)

    def opened_view(self, count: int) -> dict[str, Any]:
        view: dict[str, Any] = self.slack.wait_for("views.open", count)[count - 1].args["view"]
        return view

    def submit(self, view: dict[str, Any], *, reason: str = "Re-authorized after our steps, still no data",
               user: str = "U0AGENT", customer: str | None = None, ticket: str | None = None, note: str = "",
               view_id: str = "V0ESCALATE") -> httpx.Response:
        values = {block["block_id"]: {"value": {"type": "plain_text_input",
                                                "value": block["element"].get("initial_value")}}
                  for block in view["blocks"] if block["type"] == "input"}
        for field, value in (("customer", customer), ("reason", reason), ("ticket", ticket), ("note", note)):
            if value is not None:
                values[field]["value"]["value"] = value
        request = self.bot.requests.view_submission(view={**view, "id": view_id}, state_values=values, user_id=user)
        return self.bot.send(request)

    def escalate(self, query: str, user: str = "U0AGENT", **form: Any) -> dict[str, Any]:
        """The whole flow: /reauth-check, Escalate, submit; the parent message once posted."""
        view = self.click_escalate(self.check(query, user), user)
        response = self.submit(view, user=user, **form)
        assert response.status_code == 200 and "errors" not in response.text, response.text
        self.quiet()
        return self.parent_of(query)

    def click(self, action_id: str, parent: dict[str, Any], user: str, response_key: str | None = None) -> None:
        url = self.slack.response_url(response_key)
        request = self.bot.requests.block_actions(action_id=action_id, message=parent, user_id=user,
                                                  channel_id=CHANNEL, response_url=url)
        assert self.bot.send(request).status_code == 200

    # ---------------------------------------------------------------- what Slack shows

    def parents(self) -> list[dict[str, Any]]:
        return [m for m in self.slack.messages(CHANNEL) if m["thread_ts"] is None]

    def parent_of(self, customer_id: str) -> dict[str, Any]:
        found = [m for m in self.parents() if customer_id in m["text"]]
        assert len(found) == 1, f"{len(found)} parents for {customer_id}"
        return found[0]

    def thread(self, parent: dict[str, Any]) -> list[str]:
        return [m["text"] for m in self.slack.thread(CHANNEL, parent["ts"])]

    def wait_thread(self, parent: dict[str, Any], count: int) -> list[str]:
        """The thread once it has at least `count` replies (listeners post after their ack)."""
        poll(lambda: len(self.thread(parent)) >= count, f"{count} replies in the thread of {parent['ts']}")
        self.quiet()
        return self.thread(parent)

    def current(self, parent: dict[str, Any]) -> dict[str, Any]:
        """The parent as it is now (after chat.update)."""
        return self.slack.message(CHANNEL, parent["ts"])

    # ---------------------------------------------------------------- the outbox

    def quiet(self, timeout: float = 30.0) -> None:
        """Wait until every queued post was tried once and none is in flight.

        Only for posts queued before the caller's request was answered (a form submission claims before its
        ack); after a click or a check, wait for what it posts instead (`wait_thread`).
        """

        def settled() -> bool:
            with self.db.sessions() as session:
                busy = session.scalar(select(func.count()).select_from(OutboxRow).where(
                    OutboxRow.status == OutboxStatus.PENDING,
                    (OutboxRow.attempts == 0) | OutboxRow.leased_until.is_not(None),
                ))
            return busy == 0

        poll(settled, "the listeners' posts", timeout)

    def pending(self) -> int:
        with self.db.sessions() as session:
            return int(session.scalar(
                select(func.count()).select_from(OutboxRow).where(OutboxRow.status == OutboxStatus.PENDING)) or 0)

    def drain(self, rounds: int = 40) -> None:
        """Deliver everything queued, moving the clock past each retry's backoff."""
        self.quiet()
        for _ in range(rounds):
            if not self.pending():
                return
            self.clock.advance(timedelta(hours=2))
            self.context.outbox.deliver_due()
        raise AssertionError(f"{self.pending()} posts still queued after {rounds} rounds")


def running_cases(db: Database, slack: SlackStandIn, clock: Clock) -> Iterator[Escalations]:
    load_demo_dataset(db)
    running = Escalations(db, slack, clock)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def cases(db: Database, slack: SlackStandIn, clock: Clock) -> Iterator[Escalations]:
    yield from running_cases(db, slack, clock)


@pytest.fixture
def sqlite_cases(sqlite_db: Database, slack: SlackStandIn, clock: Clock) -> Iterator[Escalations]:
    """For what only concerns the Slack edge (retries, outages): the database does not matter there."""
    yield from running_cases(sqlite_db, slack, clock)


def texts(messages: list[dict[str, Any]]) -> str:
    return json.dumps(messages)
