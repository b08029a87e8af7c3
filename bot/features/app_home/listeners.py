"""`app_home_opened`: publish the agent's Home tab (Bolt acknowledges events before this runs)."""

from __future__ import annotations

import logging
import uuid
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot import messages
from bot.context import BotContext
from bot.features.app_home.blocks import (
    CHECK_BLOCK,
    CHECK_MODAL_CALLBACK,
    HOME_CHECK_ACTION,
    answer_modal,
    check_modal,
    checked_customer,
)
from bot.features.app_home.service import AppHome
from bot.features.check.listeners import render, tell_case
from bot.features.check.service import run_check
from commands.check import QueryProblem, Report, parse_query

log = logging.getLogger(__name__)


def register(app: App, context: BotContext) -> None:
    home = AppHome(context)

    @app.action(HOME_CHECK_ACTION)
    def check_clicked(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        try:  # trigger_id is good for 3 seconds: the form opens before anything else
            client.views_open(trigger_id=str(body.get("trigger_id", "")), view=check_modal())
        except Exception:
            log.exception("views.open failed for the Check a customer form")

    @app.view(CHECK_MODAL_CALLBACK)
    def check_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        # The answer travels in the ack (a form shows no response_url): one quick lookup comes first.
        text = checked_customer(view)
        problem = parse_query(text)
        if isinstance(problem, QueryProblem):
            ack(response_action="errors", errors={CHECK_BLOCK: messages.QUERY_PROBLEMS[problem]})
            return
        agent = str((body.get("user") or {}).get("id", ""))
        try:
            outcome = run_check(context, text, agent=agent)
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception("check from the Home tab failed ref=%s agent=%s", reference, agent)
            ack(response_action="errors", errors={CHECK_BLOCK: messages.lookup_failed(reference)})
            return
        rendered = render(outcome)
        blocks = rendered["blocks"]
        ack(response_action="update", view=answer_modal(blocks))
        if isinstance(outcome, Report):
            tell_case(context, outcome, agent=agent)

    @app.event("app_home_opened")
    def app_home_opened(event: dict[str, Any], body: dict[str, Any]) -> None:
        user, event_id = str(event.get("user") or ""), str(body.get("event_id") or "")
        # The event also fires for the Messages tab, which this app does not draw.
        if event.get("tab") != "home" or not user or not event_id:
            return
        try:
            home.publish(user, event_id)
        except Exception:
            log.exception("publishing the Home tab failed: user=%s event_id=%s", user, event_id)
