""""Post steps to ticket" as Block Kit: the buttons under a check answer, the ticket modal, the outcomes."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    InputBlock,
    MarkdownTextObject,
    Option,
    PlainTextInputElement,
    RadioButtonsElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot import messages
from bot.slack_limits import MAX_BUTTON_VALUE, MAX_PRIVATE_METADATA, MAX_SECTION_TEXT
from commands.check import Report
from commands.post_steps import ConfirmFirst, PostRequest
from commands.rules import Action

POST_NOTE_ACTION = "post_steps_note"
POST_REPLY_ACTION = "post_steps_reply"
POST_AGAIN_ACTION = "post_steps_again"
CANCEL_ACTION = "post_steps_cancel"
TICKET_MODAL_CALLBACK = "post_steps_ticket"
TICKET_BLOCK = "ticket"
VISIBILITY_BLOCK = "visibility"
INPUT_ACTION = "value"
NOTE, REPLY = "note", "reply"
# A ticket as typed or linked: longer is no ticket reference, and the modal's field stops there.
MAX_TICKET_TEXT = 300


def button_value(request: PostRequest, limit: int = MAX_BUTTON_VALUE) -> str:
    """The click as a button's value (or the modal's private_metadata); the agent is whoever clicks."""
    data: dict[str, Any] = {"c": request.customer_id, "a": request.action.value, "r": int(request.public)}
    if request.ticket:
        data["t"] = request.ticket
    if request.confirmed_after is not None:
        data["k"] = request.confirmed_after
    if request.response_url:
        data["u"] = request.response_url
    text = json.dumps(data, separators=(",", ":"))
    if len(text) > limit:  # ids are at most 64 and 100 characters; only a bug gets here
        raise ValueError(f"button value of {len(text)} characters exceeds Slack's {limit}")
    return text


def read_steps_button(raw: str | None) -> PostRequest | None:
    """The button's value, or None when it is not one this bot made."""
    try:
        data = json.loads(raw or "")
        action = Action(data["a"])
        customer = data["c"]
        ticket = data.get("t")
        confirmed = data.get("k")
        response_url = data.get("u")
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(customer, str) or not customer or len(customer) > 64:
        return None
    if ticket is not None and (not isinstance(ticket, str) or len(ticket) > MAX_TICKET_TEXT):
        return None
    if confirmed is not None and (not isinstance(confirmed, int) or confirmed < 0):
        return None
    if response_url is not None and not isinstance(response_url, str):
        return None
    return PostRequest(customer, ticket or None, action, bool(data.get("r")), confirmed_after=confirmed,
                       response_url=response_url)


def steps_buttons(report: Report) -> list[ButtonElement]:
    """"Post steps to ticket" (an internal note), and the explicit "Reply to customer"; none when healthy."""
    action = report.recommendation.action
    if action is Action.HEALTHY:
        return []
    note = PostRequest(report.customer.id, report.ticket_ref, action, public=False)
    buttons = [
        ButtonElement(
            text=messages.STEPS_BUTTON,
            action_id=POST_NOTE_ACTION,
            value=button_value(note),
            style=None if action is Action.ESCALATE else "primary",
        )
    ]
    if action is not Action.ESCALATE:  # the escalation note is for the team only
        reply = PostRequest(report.customer.id, report.ticket_ref, action, public=True)
        buttons.append(
            ButtonElement(
                text=messages.STEPS_REPLY_BUTTON,
                action_id=POST_REPLY_ACTION,
                value=button_value(reply),
                confirm=ConfirmObject(
                    title=messages.STEPS_REPLY_CONFIRM_TITLE,
                    text=messages.STEPS_REPLY_CONFIRM_TEXT,
                    confirm=messages.STEPS_REPLY_CONFIRM_YES,
                    deny=messages.STEPS_REPLY_CONFIRM_NO,
                ),
            )
        )
    return buttons


def ticket_modal(button: PostRequest, response_url: str | None) -> View:
    """Asks for the ticket; the visibility choice defaults to the internal note."""
    metadata = PostRequest(button.customer_id, None, button.action, button.public,
                           confirmed_after=button.confirmed_after, response_url=response_url)
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(text=messages.steps_modal_intro(button.customer_id, button.action))),
        InputBlock(
            block_id=TICKET_BLOCK,
            label=messages.STEPS_TICKET_LABEL,
            element=PlainTextInputElement(
                action_id=INPUT_ACTION, placeholder=messages.STEPS_TICKET_PLACEHOLDER, max_length=MAX_TICKET_TEXT
            ),
        ),
    ]
    if button.action is not Action.ESCALATE:
        note = Option(value=NOTE, text=messages.STEPS_NOTE_OPTION)
        reply = Option(value=REPLY, text=messages.STEPS_REPLY_OPTION)
        blocks.append(
            InputBlock(
                block_id=VISIBILITY_BLOCK,
                label=messages.STEPS_VISIBILITY_LABEL,
                element=RadioButtonsElement(
                    action_id=INPUT_ACTION, options=[note, reply], initial_option=reply if button.public else note
                ),
            )
        )
    return View(
        type="modal",
        callback_id=TICKET_MODAL_CALLBACK,
        title=messages.STEPS_MODAL_TITLE,
        submit=messages.STEPS_MODAL_SUBMIT,
        close=messages.STEPS_MODAL_CLOSE,
        private_metadata=button_value(metadata, MAX_PRIVATE_METADATA),
        blocks=blocks,
    )


def submitted_ticket(state_values: dict[str, Any]) -> tuple[str, bool]:
    """(ticket text, public) from a submitted ticket modal."""
    ticket = state_values.get(TICKET_BLOCK, {}).get(INPUT_ACTION, {}).get("value") or ""
    chosen = state_values.get(VISIBILITY_BLOCK, {}).get(INPUT_ACTION, {}).get("selected_option") or {}
    return str(ticket).strip(), chosen.get("value") == REPLY


def outcome_blocks(text: str) -> list[Block]:
    return [SectionBlock(block_id="post_steps_outcome", text=MarkdownTextObject(text=text[:MAX_SECTION_TEXT]))]


def confirm_blocks(plan: ConfirmFirst, button: PostRequest, ticket_id: str, word: str) -> list[Block]:
    """The guardrail: when and by whom the steps went, and an explicit "Post again"."""
    earlier = [(e.at, e.agent, e.ticket_id, e.queued) for e in plan.earlier]
    again = PostRequest(button.customer_id, ticket_id, button.action, button.public,
                        confirmed_after=len(plan.earlier))
    cancel = PostRequest(button.customer_id, ticket_id, button.action, button.public)
    warning = messages.steps_confirm(earlier, plan.wait_days, word)[:MAX_SECTION_TEXT]
    return [
        SectionBlock(block_id="post_steps_confirm", text=MarkdownTextObject(text=warning)),
        ActionsBlock(
            block_id="post_steps_confirm_actions",
            elements=[
                ButtonElement(text=messages.STEPS_AGAIN_BUTTON, action_id=POST_AGAIN_ACTION, value=button_value(again),
                              style="danger"),
                ButtonElement(text=messages.STEPS_CANCEL_BUTTON, action_id=CANCEL_ACTION, value=button_value(cancel)),
            ],
        ),
    ]
