""""Post steps to ticket": ack at once, post (or ask for the ticket first), update the agent's answer in place."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, assert_never

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot import messages
from bot.answers import answer_agent
from bot.context import BotContext
from bot.features.check.blocks import check_blocks, check_text
from bot.features.post_steps.blocks import (
    CANCEL_ACTION,
    SENT_MYSELF_ACTION,
    TICKET_BLOCK,
    TICKET_MODAL_CALLBACK,
    confirm_blocks,
    outcome_blocks,
    read_sent_myself,
    read_steps_button,
    sent_myself_blocks,
    submitted_ticket,
    ticket_modal,
)
from bot.features.post_steps.service import (
    BadTicket,
    CustomerGone,
    NoHelpdesk,
    StepsAnswer,
    StepsFailed,
    StepsPosted,
    StepsQueued,
    post_steps,
    preview_steps,
    record_sent_by_agent,
    refresh_report,
)
from commands.post_steps import CaseChanged, ConfirmFirst, InternalOnly, NothingToPost, PostRequest
from commands.rules import Action

log = logging.getLogger(__name__)

CLICKS = re.compile(r"^post_steps_(note|reply|again)$")
# Posting waits on the helpdesk, retries included, so it runs on threads of its own: a slow helpdesk
# must never hold the Bolt workers that ack every other request within Slack's 3 seconds.
POSTING_THREADS = 8


def register(app: App, context: BotContext) -> None:
    posting = ThreadPoolExecutor(max_workers=POSTING_THREADS, thread_name_prefix="post-steps")

    def post_and_respond(
        button: PostRequest, agent: str, reply: Callable[..., Any], channel: str | None = None,
        source: str = "button",
    ) -> None:
        payload = run(context, button, agent=agent, source=source)
        try:
            # The post itself is done or queued; a used-up response_url only loses the agent's view of it.
            answer_agent(reply, context.client, payload, agent=agent, channel=channel, what="post-steps")
        except Exception:
            log.exception("post-steps answer not delivered: agent=%s", agent)

    @app.action(CLICKS)
    def click(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond, client: WebClient) -> None:
        ack()
        button = read_steps_button(action.get("value"))
        if button is None:
            respond(text=messages.STEPS_BAD_BUTTON, response_type="ephemeral", replace_original=False)
            return
        first_send = button.public and button.confirmed_after is None
        if context.helpdesk is not None and (first_send or button.ticket is None):
            # A reply is confirmed in a modal that shows its exact text and the ticket; a note without a
            # ticket asks for it. trigger_id is good for 3 seconds: one quick read, then the modal.
            preview = preview_steps(context, button) if button.public else None
            try:
                client.views_open(trigger_id=body["trigger_id"],
                                  view=ticket_modal(button, body.get("response_url"), preview))
            except SlackApiError as exc:
                log.warning("post-steps modal not opened: error=%s", exc.response.get("error"))
                respond(text=messages.STEPS_MODAL_FAILED, response_type="ephemeral", replace_original=False)
            return
        channel = (body.get("channel") or {}).get("id")
        # On a kept-alive connection, as the check's answer: Bolt's respond opens one per answer.
        reply = context.responses.replier(str(body.get("response_url") or "")) or respond
        posting.submit(post_and_respond, button, str(body["user"]["id"]), reply, channel)

    @app.action(SENT_MYSELF_ACTION)
    def sent_myself(ack: Ack, body: dict[str, Any], action: dict[str, Any], respond: Respond) -> None:
        ack()
        found = read_sent_myself(action.get("value"))
        if found is None:
            respond(text=messages.STEPS_BAD_BUTTON, response_type="ephemeral", replace_original=False)
            return
        customer_id, ticket, clicked, note_at = found
        agent = str(body["user"]["id"])
        report = record_sent_by_agent(context, customer_id=customer_id, ticket_id=ticket, action=clicked,
                                      note_at=note_at, agent=agent)
        if report is None:
            text = messages.steps_customer_gone(customer_id)
            respond(text=text, blocks=outcome_blocks(text), response_type="ephemeral", replace_original=True)
            return
        text = messages.steps_recorded_by_agent(agent, ticket)
        respond(text=f"{text}\n{check_text(report)}", blocks=outcome_blocks(text) + check_blocks(report),
                response_type="ephemeral", replace_original=True)

    @app.action(CANCEL_ACTION)
    def cancel(ack: Ack, action: dict[str, Any], respond: Respond) -> None:
        ack()
        button = read_steps_button(action.get("value"))
        if button is None:
            respond(text=messages.STEPS_BAD_BUTTON, response_type="ephemeral", replace_original=False)
            return
        report = refresh_report(context, button.customer_id, button.ticket)
        blocks = outcome_blocks(messages.STEPS_CANCELLED) + (check_blocks(report) if report else [])
        respond(text=messages.STEPS_CANCELLED, blocks=blocks, response_type="ephemeral", replace_original=True)

    @app.view(TICKET_MODAL_CALLBACK)
    def submit_ticket(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        button = read_steps_button(view.get("private_metadata"))
        ticket = submitted_ticket(view.get("state", {}).get("values", {}))
        helpdesk = context.helpdesk
        if button is not None and helpdesk is not None and helpdesk.parse_ticket_reference(ticket) is None:
            # Checking the text needs no I/O: the modal shows the problem next to the field.
            error = messages.steps_bad_ticket_in_modal(helpdesk.display_name, helpdesk.ticket_word)
            ack(response_action="errors", errors={TICKET_BLOCK: error})
            return
        ack()
        if button is None:
            return
        chosen = PostRequest(button.customer_id, ticket, button.action,
                             button.public and button.action is not Action.ESCALATE,
                             confirmed_after=button.confirmed_after)
        if button.response_url:
            posting.submit(post_and_respond, chosen, str(body["user"]["id"]), WebhookClient(button.response_url).send,
                           None, "form")
        else:
            log.warning("post-steps modal without a response_url: the outcome cannot be shown")
            posting.submit(run, context, chosen, agent=str(body["user"]["id"]), source="form")


def run(context: BotContext, button: PostRequest, *, agent: str, source: str = "button") -> dict[str, Any]:
    """Post for one click (or ticket form) and render the answer that replaces the agent's message."""
    try:
        answer = post_steps(context, replace(button, agent=agent), source=source)
    except Exception:
        reference = uuid.uuid4().hex[:8]
        log.exception("post-steps failed ref=%s agent=%s customer=%s", reference, agent, button.customer_id)
        text = messages.steps_post_failed(reference)
        return {"text": text, "blocks": outcome_blocks(text), "response_type": "ephemeral", "replace_original": False}
    return render(answer, button)


def render(answer: StepsAnswer, button: PostRequest) -> dict[str, Any]:
    """The response_url payload that replaces the check answer: the outcome on top of the fresh case."""
    outcome = answer.outcome
    text = outcome_text(answer)
    if isinstance(outcome, ConfirmFirst):  # the only outcome that asks instead of telling
        blocks = confirm_blocks(outcome, button, answer.ticket_id or button.ticket or "", answer.ticket_word)
        return {"text": text, "blocks": blocks, "response_type": "ephemeral", "replace_original": True}
    if isinstance(outcome, StepsPosted) and not outcome.public and answer.ticket_id:
        # A note is not steps sent: the one way it counts is the agent saying they sent the steps.
        blocks = sent_myself_blocks(text, button.customer_id, answer.ticket_id, button.action, outcome.at)
    else:
        blocks = outcome_blocks(text)
    if answer.report is not None:
        blocks += check_blocks(answer.report)
        text = f"{text}\n{check_text(answer.report)}"
    return {"text": text, "blocks": blocks, "response_type": "ephemeral", "replace_original": True}


def outcome_text(answer: StepsAnswer) -> str:
    outcome, name, word = answer.outcome, answer.helpdesk, answer.ticket_word
    match outcome:
        case StepsPosted():
            return messages.steps_posted(name, word, outcome.ticket_id, outcome.url, outcome.at, outcome.agent,
                                         outcome.public, already=outcome.already)
        case StepsQueued():
            return messages.steps_queued(name, word, outcome.ticket_id, outcome.reason, outcome.next_attempt_at,
                                         already=outcome.already)
        case StepsFailed():
            return messages.steps_failed(name, word, outcome.ticket_id, outcome.reason)
        case NoHelpdesk():
            return messages.STEPS_NO_HELPDESK
        case BadTicket():
            return messages.steps_bad_ticket(name, word, outcome.text)
        case CustomerGone():
            return messages.steps_customer_gone(outcome.customer_id)
        case CaseChanged():
            return messages.steps_case_changed(outcome.clicked, outcome.now)
        case NothingToPost():
            return messages.STEPS_NOTHING_TO_POST
        case InternalOnly():
            return messages.STEPS_INTERNAL_ONLY
        case ConfirmFirst():
            return messages.STEPS_CONFIRM_FIRST
        case _:
            assert_never(outcome)
