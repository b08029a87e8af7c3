"""Escalating a case: the Escalate button and message shortcut open the form; its submission opens the case;
"Take it" and "Resolve" act on the case's parent message."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any, assert_never

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.models.views import View

from bot import messages
from bot.context import BotContext
from bot.features.escalations.blocks import (
    ESCALATE_ACTION,
    ESCALATE_MENU_ACTION,
    MODAL_CALLBACK,
    RESOLVE_ACTION,
    SHORTCUT_CALLBACK,
    TAKE_ACTION,
    done_view,
    escalation_modal,
    form_values,
    read_escalate_button,
    wants_ticket_note,
)
from bot.features.escalations.service import (
    AlreadyOpen,
    CaseChange,
    Changed,
    EscalateOutcome,
    Opened,
    Repeated,
    Unchanged,
    customers_named_in,
    escalate,
    find_customer,
    post_now,
    resolve_case,
    take_case,
)
from bot.features.post_steps.service import post_escalation_note
from commands.escalations import Escalation, Field, FormProblem, Status, read_form, references_in, ticket_in
from commands.input_text import record_id

log = logging.getLogger(__name__)


def register(app: App, context: BotContext) -> None:
    @app.action(ESCALATE_ACTION)
    @app.action(ESCALATE_MENU_ACTION)
    def escalate_clicked(ack: Ack, body: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        if not context.settings.escalation_channel:
            _tell(respond, messages.ESCALATIONS_NOT_SET_UP)
            return
        action = (body.get("actions") or [{}])[0]
        # A button carries its value; the overflow menu, the option chosen.
        value = action.get("value") or (action.get("selected_option") or {}).get("value")
        customer, ticket = read_escalate_button(str(value or ""))
        modal = escalation_modal(customer, ticket, with_ticket_note=context.helpdesk is not None)
        _open_modal(client, str(body.get("trigger_id", "")), modal, respond)

    @app.shortcut(SHORTCUT_CALLBACK)
    def escalate_shortcut(ack: Ack, shortcut: dict[str, Any], client: WebClient, respond: Respond) -> None:
        ack()
        if not context.settings.escalation_channel:
            _tell(respond, messages.ESCALATIONS_NOT_SET_UP)
            return
        text = str((shortcut.get("message") or {}).get("text") or "")
        ids = customers_named_in(context, references_in(text))
        hint = None if len(ids) == 1 else (
            messages.shortcut_found_nobody() if not ids else messages.shortcut_found_several(ids))
        modal = escalation_modal(ids[0] if len(ids) == 1 else "", ticket_in(text), hint,
                                 with_ticket_note=context.helpdesk is not None)
        _open_modal(client, str(shortcut.get("trigger_id", "")), modal, respond)

    @app.view(MODAL_CALLBACK)
    def escalation_submitted(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        # The answer to a submission travels in the ack itself (errors shown in the form, or the outcome),
        # so the lookup and the claim, a few milliseconds of database work, come before it; posting to
        # Slack comes after.
        values = form_values(view)
        form = read_form(values[Field.CUSTOMER], values[Field.REASON], values[Field.TICKET], values[Field.NOTE])
        if isinstance(form, dict):
            ack(response_action="errors", errors=_errors(form))
            return
        if not context.settings.escalation_channel:
            ack(response_action="errors", errors={Field.CUSTOMER.value: messages.ESCALATIONS_NOT_SET_UP})
            return
        agent = str((body.get("user") or {}).get("id", ""))
        try:
            customer = find_customer(context, form.customer)
            if isinstance(customer, FormProblem):
                ack(response_action="errors", errors=_errors({Field.CUSTOMER: customer}))
                return
            outcome = escalate(context, customer, form, agent)
        except Exception:
            reference = uuid.uuid4().hex[:8]
            log.exception("escalation failed ref=%s agent=%s", reference, agent)
            ack(response_action="update", view=done_view(messages.escalation_failed(reference)))
            return
        ack(response_action="update", view=done_view(_confirmation(customer, outcome)))
        post_now(context, outcome.entries)
        if form.ticket is not None and context.helpdesk is not None and wants_ticket_note(view):
            # After the ack: the helpdesk may be slow. The case thread hears of the note once it lands.
            try:
                post_escalation_note(context, customer, form.ticket.url or form.ticket.id, agent)
            except Exception:
                log.exception("escalation note not posted: customer=%s agent=%s", customer, agent)

    def act_on_case(
        body: dict[str, Any],
        respond: Respond,
        change: Callable[[BotContext, int, str], CaseChange],
        refusal: Callable[[Escalation], str],
    ) -> None:
        escalation_id, agent = _case_and_agent(body)
        if escalation_id is None:
            return
        outcome = change(context, escalation_id, agent)
        match outcome:
            case Changed():
                post_now(context, outcome.entries)
            case Unchanged():
                if outcome.case is not None:  # else the case is gone: nothing to say about it
                    _tell(respond, refusal(outcome.case))
            case _:
                assert_never(outcome)

    @app.action(TAKE_ACTION)
    def take_clicked(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        act_on_case(body, respond, take_case, _why_not_taken)

    @app.action(RESOLVE_ACTION)
    def resolve_clicked(ack: Ack, body: dict[str, Any], respond: Respond) -> None:
        ack()
        act_on_case(body, respond, resolve_case, messages.already_resolved)


def _why_not_taken(case: Escalation) -> str:
    return messages.already_resolved(case) if case.status is Status.RESOLVED else messages.already_yours()


def _open_modal(client: WebClient, trigger_id: str, modal: View, respond: Respond) -> None:
    """views.open right after the ack: the trigger_id expires 3 seconds after the click."""
    try:
        client.views_open(trigger_id=trigger_id, view=modal)
    except Exception:
        log.exception("views.open failed for the escalation form")
        _tell(respond, messages.modal_failed())


def _tell(respond: Respond, text: str) -> None:
    """An ephemeral line to the agent who clicked; losing it loses nothing the thread does not show."""
    try:
        respond(text=text, response_type="ephemeral", replace_original=False)
    except Exception:
        log.warning("could not answer the agent on response_url")


def _errors(problems: dict[Field, FormProblem]) -> dict[str, str]:
    return {field.value: messages.ESCALATION_FORM_PROBLEMS[problem] for field, problem in problems.items()}


def _confirmation(customer_id: str, outcome: EscalateOutcome) -> str:
    match outcome:
        case Opened():
            return messages.escalation_opened(customer_id, outcome.case.channel)
        case AlreadyOpen():
            return messages.escalation_already_open(customer_id, outcome.case)
        case Repeated():
            return messages.escalation_repeated(customer_id, outcome.case)
        case _:
            assert_never(outcome)


def _case_and_agent(body: dict[str, Any]) -> tuple[int | None, str]:
    action = (body.get("actions") or [{}])[0]
    agent = str((body.get("user") or {}).get("id", ""))
    # record_id: a value of 20 digits (or 5,000) is not a case id this bot made, and never reaches a BIGINT.
    return record_id(str(action.get("value") or "")), agent
