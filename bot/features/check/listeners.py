"""`/reauth-check`: ack at once, look the customer up (asking the helpdesk about a ticket), answer ephemerally
on response_url, or with chat.postEphemeral when the response_url is used up."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, assert_never

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient

from bot import messages
from bot.answers import answer_agent
from bot.context import BotContext
from bot.features.check.blocks import (
    CHECK_CUSTOMER_ACTION,
    ambiguous_blocks,
    ambiguous_text,
    check_blocks,
    check_text,
    not_found_blocks,
    not_found_text,
    problem_blocks,
    read_check_button,
)
from bot.features.check.service import RequesterCache, run_check
from bot.features.escalations.service import after_check
from commands.check import (
    Ambiguous,
    CheckOutcome,
    Invalid,
    NotFound,
    Query,
    QueryProblem,
    Report,
    parse_query,
    ticket_to_look_up,
)

log = logging.getLogger(__name__)

# A lookup of a new ticket waits on the helpdesk (a retry and timeouts included), so it runs on threads of
# its own, as posting does: a slow helpdesk must never hold the Bolt workers that ack within 3 seconds.
HELPDESK_LOOKUP_THREADS = 8


def register(app: App, context: BotContext) -> None:
    requesters = RequesterCache()
    helpdesk_lookups = ThreadPoolExecutor(max_workers=HELPDESK_LOOKUP_THREADS, thread_name_prefix="reauth-check")

    @app.command("/reauth-check")
    def reauth_check(ack: Ack, command: dict[str, Any], respond: Respond, client: WebClient) -> None:
        text = str(command.get("text") or "")
        query = parse_query(text)
        if isinstance(query, QueryProblem):
            # A bad query needs no I/O: answer in the ack itself.
            ack(text=messages.QUERY_PROBLEMS[query], blocks=problem_blocks(query))
            return
        ack()
        user = str(command.get("user_id", ""))
        channel = command.get("channel_id")
        reply = context.responses.replier(str(command.get("response_url") or "")) or respond
        if ticket_to_look_up(query) is not None:
            # A ticket may send the lookup to the helpdesk: off the Bolt workers that ack everyone else.
            helpdesk_lookups.submit(look_up_and_answer, query, text, user, channel, reply, client)
        else:
            look_up_and_answer(query, text, user, channel, reply, client)

    def look_up_and_answer(
        query: Query, text: str, user: str, channel: str | None, respond: Callable[..., Any], client: WebClient
    ) -> None:
        try:
            outcome = run_check(context, text, agent=user, cache=requesters)
        except Exception:
            reference = uuid.uuid4().hex[:8]
            # The query may be an e-mail: log the reference and the kind of query, never its text.
            log.exception("reauth-check failed ref=%s agent=%s kind=%s", reference, user, query.kind.value)
            answer_agent(respond, client, {"text": messages.lookup_failed(reference), "response_type": "ephemeral"},
                         agent=user, channel=channel, what="reauth-check")
            return
        try:
            answer_agent(respond, client, {**render(outcome), "response_type": "ephemeral"},
                         agent=user, channel=channel, what="reauth-check")
        finally:  # the case thread hears of the check even when the answer could not be delivered
            if isinstance(outcome, Report):
                tell_case(context, outcome, agent=user)


    @app.action(CHECK_CUSTOMER_ACTION)
    def check_clicked(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        """The Check button next to one customer of an ambiguous match: the answer for that customer."""
        ack()
        found = read_check_button(action.get("value"))
        user = str((body.get("user") or {}).get("id", ""))
        if found is None:
            respond(text=messages.STEPS_BAD_BUTTON, response_type="ephemeral", replace_original=False)
            return
        customer_id, ticket = found
        try:
            outcome = run_check(context, f"{customer_id} {ticket}" if ticket else customer_id, agent=user)
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception("check button failed ref=%s agent=%s customer=%s", reference, user, customer_id)
            respond(text=messages.lookup_failed(reference), response_type="ephemeral", replace_original=False)
            return
        try:
            respond(**render(outcome), response_type="ephemeral", replace_original=True)
        finally:
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
