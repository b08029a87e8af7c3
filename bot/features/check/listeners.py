"""`/reauth-check`: ack at once, look the customer up, answer ephemerally on response_url."""

from __future__ import annotations

import logging
import uuid
from typing import Any, assert_never

from slack_bolt import Ack, App, Respond

from bot import messages
from bot.context import BotContext
from bot.features.check.blocks import (
    CHECK_CUSTOMER_ACTION,
    ambiguous_blocks,
    check_blocks,
    check_text,
    not_found_blocks,
    problem_blocks,
    read_check_button,
)
from bot.features.escalations.service import after_check
from commands.check import (
    Ambiguous,
    CheckOutcome,
    Invalid,
    NotFound,
    QueryProblem,
    Report,
    check,
    parse_query,
)
from models.check import SqlCaseRecords

log = logging.getLogger(__name__)


def register(app: App, context: BotContext) -> None:
    @app.command("/reauth-check")
    def reauth_check(ack: Ack, command: dict[str, Any], respond: Respond) -> None:
        text = str(command.get("text") or "")
        problem = parse_query(text)
        if isinstance(problem, QueryProblem):
            # A bad query needs no I/O: answer in the ack itself.
            ack(text=messages.QUERY_PROBLEMS[problem], blocks=problem_blocks(problem))
            return
        ack()
        user = str(command.get("user_id", ""))
        try:
            outcome = run_check(context, text, agent=user)
        except Exception:
            reference = uuid.uuid4().hex[:8]
            # The query may be an e-mail: log the reference and the kind of query, never its text.
            log.exception("reauth-check failed ref=%s agent=%s kind=%s", reference, user, problem.kind.value)
            respond(text=messages.lookup_failed(reference), response_type="ephemeral")
            return
        try:
            respond(**render(outcome), response_type="ephemeral")
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


def run_check(context: BotContext, text: str, *, agent: str) -> CheckOutcome:
    with context.db.transaction() as session:
        outcome = check(SqlCaseRecords(session), text, now=context.clock(), agent=agent, source="slack")
    if isinstance(outcome, Report):  # the rule that decided stays on record for the bot's owners, not in the answer
        recommendation = outcome.recommendation
        log.info("check: customer=%s agent=%s action=%s rule=%s", outcome.customer.id, agent,
                 recommendation.action.value, recommendation.rule)
    return outcome


def render(outcome: CheckOutcome) -> dict[str, Any]:
    """The response_url payload for one outcome."""
    match outcome:
        case Invalid():
            return {"text": messages.QUERY_PROBLEMS[outcome.problem], "blocks": problem_blocks(outcome.problem)}
        case NotFound():
            return {"text": "No customer matches.", "blocks": not_found_blocks(outcome)}
        case Ambiguous():
            return {"text": messages.ambiguous(len(outcome.candidates)), "blocks": ambiguous_blocks(outcome)}
        case Report():
            return {"text": check_text(outcome), "blocks": check_blocks(outcome)}
        case _:
            assert_never(outcome)
