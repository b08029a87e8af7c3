"""`/reauth-check`: ack at once, look the customer up (asking the helpdesk about a ticket), answer ephemerally
on response_url, or with chat.postEphemeral when the response_url is used up."""

from __future__ import annotations

import logging
import uuid
from typing import Any, assert_never

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot import messages
from bot.answers import answer_agent
from bot.context import BotContext
from bot.features.check.blocks import (
    ambiguous_blocks,
    ambiguous_text,
    check_blocks,
    check_text,
    not_found_blocks,
    not_found_text,
    problem_blocks,
)
from bot.features.check.service import RequesterCache, run_check
from bot.features.escalations.service import after_check
from commands.check import (
    Ambiguous,
    CheckOutcome,
    Invalid,
    NotFound,
    QueryProblem,
    Report,
    parse_query,
)

log = logging.getLogger(__name__)


def register(app: App, context: BotContext) -> None:
    requesters = RequesterCache()

    @app.command("/reauth-check")
    def reauth_check(ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        text = str(command.get("text") or "")
        problem = parse_query(text)
        if isinstance(problem, QueryProblem):
            # A bad query needs no I/O: answer in the ack itself.
            ack(text=messages.QUERY_PROBLEMS[problem], blocks=problem_blocks(problem))
            return
        ack()
        user = str(command.get("user_id", ""))
        channel = command.get("channel_id")
        try:
            outcome = run_check(context, text, agent=user, cache=requesters)
        except Exception:
            reference = uuid.uuid4().hex[:8]
            # The query may be an e-mail: log the reference and the kind of query, never its text.
            log.exception("reauth-check failed ref=%s agent=%s kind=%s", reference, user, problem.kind.value)
            answer_agent(respond, client, {"text": messages.lookup_failed(reference), "response_type": "ephemeral"},
                         agent=user, channel=channel, what="reauth-check")
            return
        try:
            answer_agent(respond, client, {**render(outcome), "response_type": "ephemeral"},
                         agent=user, channel=channel, what="reauth-check")
        finally:  # the case thread hears of the check even when the answer could not be delivered
            if isinstance(outcome, Report):
                tell_case(context, outcome, agent=user)


def tell_case(context: BotContext, report: Report, *, agent: str) -> None:
    """After the answer: the customer's open case hears of the check (and its follow-up clock is set)."""
    try:
        after_check(context, report, agent)
    except Exception:
        log.exception("telling the case thread about a check failed: customer=%s", report.customer.id)


def render(outcome: CheckOutcome) -> dict[str, Any]:
    """The response_url payload for one outcome."""
    match outcome:
        case Invalid():
            return {"text": messages.QUERY_PROBLEMS[outcome.problem], "blocks": problem_blocks(outcome.problem)}
        case NotFound():
            return {"text": not_found_text(outcome), "blocks": not_found_blocks(outcome)}
        case Ambiguous():
            return {"text": ambiguous_text(outcome), "blocks": ambiguous_blocks(outcome)}
        case Report():
            return {"text": check_text(outcome), "blocks": check_blocks(outcome)}
        case _:
            assert_never(outcome)
