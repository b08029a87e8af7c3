"""The tour's escalation step: C-1008 escalated through the signed button and modal, its thread over ten days.

The story moves the clock forward and imports new data, so it runs on a copy of the demo database (when
that is a SQLite file) and leaves the other steps' customers as they were.
"""

from __future__ import annotations

import sqlite3
import tempfile
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from slack_bolt import App
from sqlalchemy import select

from bot.app import build_context, create_app
from bot.context import BotContext
from bot.demo.harness import LocalBot
from bot.demo.stage import DEMO_NOW, banner, indent, quiet, say
from bot.features.escalations.blocks import ESCALATE_ACTION, RESOLVE_ACTION, SHORTCUT_CALLBACK, TAKE_ACTION
from bot.features.escalations.follow_ups import FollowUpWorker
from bot.features.escalations.service import case_authorizations, post_now, tell_cases_about_import
from bot.settings import Settings
from bot.terminal_text import blocks_as_text, mrkdwn_as_text
from models import Database
from models.imports import import_files
from models.outbox import OutboxRow, OutboxStatus

CHANNEL = "C0ESCALATE"
CASE_COPY = Path("var/demo-escalations.db")


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def tour_escalations(bot: LocalBot) -> None:
    banner("Escalations: one thread per case in #escalations; everything after it is a reply")
    # The story's own lines say what happens; the bot's INFO log would only repeat it.
    with quiet("bot"):
        _tell_the_story(bot)


def _tell_the_story(bot: LocalBot) -> None:
    db = _copy_of(bot.db)
    clock = _Clock(DEMO_NOW)
    contexts: list[BotContext] = []

    def factory(settings: Settings, database: Database, app_clock: Callable[[], datetime]) -> App:
        contexts.append(build_context(settings, db=database, clock=app_clock))
        return create_app(settings, context=contexts[0])

    settings = Settings(escalation_channel=CHANNEL)
    with LocalBot(db, clock=clock, settings=settings, slack=bot.slack, app_factory=factory) as app:
        context = contexts[0]
        story = _Story(app, context, clock, say)

        answer = story.check("C-1008 4302", "U0ALICE")
        buttons = [line for line in blocks_as_text(answer["blocks"]).splitlines() if line.startswith("[")]
        say(f"\n$ /reauth-check C-1008 4302  (by @U0ALICE): the answer ends with {buttons[-1]}; "
            "Escalate is the primary button because the rules say ESCALATE")
        view = story.click_escalate(answer, "U0ALICE")
        prefilled = {b["block_id"]: b["element"].get("initial_value") for b in view["blocks"] if b["type"] == "input"}
        say(f"@U0ALICE clicks Escalate: the modal opens with customer={prefilled['customer']} "
            f"ticket={prefilled['ticket']}; she writes the reason and submits, twice (a double click)")
        reason = "Re-authorized Nov 5 after our steps (ticket 4302) and still no data."
        for view_id, which in (("V0DEMO1", "first"), ("V0DEMO2", "second")):
            outcome = story.submit(view, "U0ALICE", view_id, reason=reason, note="Customer prefers e-mail.")
            say(f"  the modal answers the {which}: {mrkdwn_as_text(outcome['view']['blocks'][0]['text']['text'])}")
        parent = story.wait_parent("C-1008")
        say(f"  one parent message in #escalations (ts {parent['ts']}), whatever the number of clicks")

        story.click(TAKE_ACTION, parent, "U0BOB")
        story.wait_thread(parent, 1)
        say("@U0BOB clicks Take it: a reply in the thread, and the parent now shows who has it")

        clock.now = DEMO_NOW + timedelta(hours=17)
        story.import_csv("authorizations.csv",
                         "authorization_id,customer_id,status,granted_at,scope,authorized_end,revoked_at\n"
                         "A-1008,C-1008,revoked,2026-11-05T18:00:00Z,FB=1_3_4_5_13_14;,,2026-11-30T20:00:00Z\n"
                         "A-1008b,C-1008,pending,2026-11-30T20:00:00Z,FB=1_3_4_5_13_14;,,\n")
        story.wait_thread(parent, 3)
        say(f"{clock.now:%a %b %-d %H:%M} UTC: `reauth-bot import` brings the customer's re-authorization; "
            "each change is a reply")

        story.check("C-1008", "U0BOB")
        story.wait_thread(parent, 4)
        say(f"{clock.now:%a %b %-d %H:%M} UTC: @U0BOB runs /reauth-check C-1008: WAIT, so the bot sets a follow-up "
            "for the end of the window")

        clock.now = DEMO_NOW + timedelta(days=7, hours=16)
        fired = FollowUpWorker(context).run_once()
        story.wait_thread(parent, 5)
        say(f"{clock.now:%a %b %-d %H:%M} UTC: the window has ended; the follow-up worker fires {fired} follow-up "
            "and posts the re-check in the thread")

        clock.now = DEMO_NOW + timedelta(days=8, hours=22)
        story.import_csv("customers.csv",
                         "customer_id,email,name,utility,enrollment_status,last_data_at\n"
                         "C-1008,hana.sato@example.com,Hana Sato,SCE,verified,2026-12-09T06:00:00Z\n")
        story.wait_thread(parent, 6)
        say(f"{clock.now:%a %b %-d %H:%M} UTC: meter data arrives (import): the bot says so, resolves the case and "
            "updates the parent")

        message = {"ts": "1764522000.000100", "user": "U0CAROL",
                   "text": "Eli (<mailto:eli.novak@example.com|eli.novak@example.com>) wrote again: three "
                           "authorizations and still no data, see <https://acme.zendesk.com/agent/tickets/4521>"}
        view = story.shortcut(message, "U0CAROL")
        prefilled = {b["block_id"]: b["element"].get("initial_value") for b in view["blocks"] if b["type"] == "input"}
        say(f"\n@U0CAROL uses the message shortcut \"Escalate re-auth case\" on a message naming a customer: the "
            f"modal finds customer={prefilled['customer']} ticket={prefilled['ticket']}")
        story.submit(view, "U0CAROL", "V0DEMO3", reason="Customer confused by three authorizations; call needed.")
        second = story.wait_parent("C-1005")
        clock.now += timedelta(hours=2, minutes=20)
        story.click(RESOLVE_ACTION, second, "U0CAROL")
        story.wait_thread(second, 1)
        say("  she calls the customer, then clicks Resolve")

        say(f"\n#escalations ({CHANNEL}) as Slack shows it now:")
        for shown in story.parents():
            say()
            say(indent(blocks_as_text(shown["blocks"] or [])))
            for reply in bot.slack.thread(CHANNEL, shown["ts"]):
                say(indent("  ↳ " + mrkdwn_as_text(reply["text"]).replace("\n", "\n    ")))
    if db is not bot.db:
        db.dispose()


class _Story:
    """Signed requests to the real app, and waits for what it posts (listeners post after their ack)."""

    def __init__(self, app: LocalBot, context: BotContext, clock: _Clock, say: Callable[[str], None]) -> None:
        self.app = app
        self.slack = app.slack
        self.context = context
        self.clock = clock
        self.say = say

    def check(self, query: str, user: str) -> dict[str, Any]:
        return self.app.answer(self.app.slash(query, user_id=user))

    def click_escalate(self, answer: dict[str, Any], user: str) -> dict[str, Any]:
        count = len(self.slack.calls_to("views.open")) + 1
        self.app.send(self.app.requests.block_actions(action_id=ESCALATE_ACTION, message=answer, user_id=user,
                                                      response_url=self.slack.response_url()))
        view: dict[str, Any] = self.slack.wait_for("views.open", count)[-1].args["view"]
        return view

    def shortcut(self, message: dict[str, Any], user: str) -> dict[str, Any]:
        count = len(self.slack.calls_to("views.open")) + 1
        self.app.send(self.app.requests.message_action(callback_id=SHORTCUT_CALLBACK, message=message, user_id=user,
                                                       response_url=self.slack.response_url()))
        view: dict[str, Any] = self.slack.wait_for("views.open", count)[-1].args["view"]
        return view

    def submit(self, view: dict[str, Any], user: str, view_id: str, **typed: str) -> dict[str, Any]:
        values = {b["block_id"]: {"value": {"type": "plain_text_input", "value": typed.get(b["block_id"],
                                                                                         b["element"].get(
                                                                                             "initial_value"))}}
                  for b in view["blocks"] if b["type"] == "input"}
        request = self.app.requests.view_submission(view={**view, "id": view_id}, state_values=values, user_id=user)
        answer: dict[str, Any] = self.app.send(request).json()
        return answer

    def click(self, action_id: str, parent: dict[str, Any], user: str) -> None:
        self.app.send(self.app.requests.block_actions(action_id=action_id, message=parent, user_id=user,
                                                      channel_id=CHANNEL, response_url=self.slack.response_url()))

    def import_csv(self, name: str, content: str) -> None:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / name
            path.write_text(content)
            before = case_authorizations(self.context.db)
            import_files(self.context.db, [path], now=self.context.clock())
            post_now(self.context, tell_cases_about_import(self.context, before))

    def parents(self) -> list[dict[str, Any]]:
        return [m for m in self.slack.messages(CHANNEL) if m["thread_ts"] is None]

    def wait_parent(self, customer_id: str) -> dict[str, Any]:
        _wait(lambda: any(customer_id in m["text"] for m in self.parents()), f"the parent of {customer_id}")
        return next(m for m in self.parents() if customer_id in m["text"])

    def wait_thread(self, parent: dict[str, Any], count: int) -> None:
        _wait(lambda: len(self.slack.thread(CHANNEL, parent["ts"])) >= count, f"{count} replies")
        # The parent's chat.update is queued with the reply that announces it; let it land too.
        _wait(self._all_posted, "every queued post")

    def _all_posted(self) -> bool:
        with self.context.db.reading() as session:
            return session.scalar(select(OutboxRow.id).where(OutboxRow.status == OutboxStatus.PENDING).limit(1)) is None


def _copy_of(db: Database) -> Database:
    """A copy of a SQLite demo database; any other database is used as it is."""
    source = db.url.database
    if not db.is_sqlite or not source or source == ":memory:":
        return db
    CASE_COPY.parent.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{CASE_COPY}{suffix}").unlink(missing_ok=True)
    with sqlite3.connect(source) as original, sqlite3.connect(CASE_COPY) as copy:
        original.backup(copy)
    return Database(f"sqlite:///{CASE_COPY}")


def _wait(condition: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise RuntimeError(f"demo: still waiting for {what} after {timeout}s")
        time.sleep(0.02)

