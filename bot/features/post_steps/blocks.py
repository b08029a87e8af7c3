""""Post steps to ticket" as Block Kit: the buttons under a check answer, the ticket modal, the outcomes."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
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
SENT_MYSELF_ACTION = "post_steps_sent_myself"
TICKET_MODAL_CALLBACK = "post_steps_ticket"
TICKET_BLOCK = "ticket"
INPUT_ACTION = "value"
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
    """WAIT, REAUTH, CONNECT: send the steps to the customer (primary: a modal shows the exact text and the
    ticket first), or add them as an internal note, which is not steps sent. None otherwise."""
    action = report.recommendation.action
    if action not in messages.STEPS_SEND_BUTTON:
        return []
    reply = PostRequest(report.customer.id, report.ticket_ref, action, public=True)
    note = PostRequest(report.customer.id, report.ticket_ref, action, public=False)
    return [
        ButtonElement(text=messages.STEPS_SEND_BUTTON[action], action_id=POST_REPLY_ACTION,
                      value=button_value(reply), style="primary"),
        ButtonElement(text=messages.STEPS_BUTTON, action_id=POST_NOTE_ACTION, value=button_value(note)),
    ]


def ticket_modal(button: PostRequest, response_url: str | None, preview: str | None = None) -> View:
    """Before a reply: the exact text the customer gets and the ticket it goes to (prefilled when known).
    Before a note without a ticket: the ticket only."""
    metadata = PostRequest(button.customer_id, None, button.action, button.public,
                           confirmed_after=button.confirmed_after, response_url=response_url)
    blocks: list[Block] = [
        SectionBlock(text=MarkdownTextObject(
            text=messages.steps_modal_intro(button.customer_id, button.action, button.public))),
    ]
    if preview:
        blocks.append(SectionBlock(block_id="preview",
                                   text=MarkdownTextObject(text=messages.steps_preview(preview)[:MAX_SECTION_TEXT])))
    blocks.append(InputBlock(
        block_id=TICKET_BLOCK,
        label=messages.STEPS_TICKET_LABEL,
        element=PlainTextInputElement(
            action_id=INPUT_ACTION, placeholder=messages.STEPS_TICKET_PLACEHOLDER, max_length=MAX_TICKET_TEXT,
            initial_value=button.ticket or None,
        ),
    ))
    return View(
        type="modal",
        callback_id=TICKET_MODAL_CALLBACK,
        title=messages.STEPS_MODAL_TITLE if button.public else messages.STEPS_NOTE_MODAL_TITLE,
        submit=messages.STEPS_MODAL_SUBMIT if button.public else messages.STEPS_NOTE_MODAL_SUBMIT,
        close=messages.STEPS_MODAL_CLOSE,
        private_metadata=button_value(metadata, MAX_PRIVATE_METADATA),
        blocks=blocks,
    )


def submitted_ticket(state_values: dict[str, Any]) -> str:
    """The ticket text of a submitted ticket modal."""
    ticket = state_values.get(TICKET_BLOCK, {}).get(INPUT_ACTION, {}).get("value") or ""
    return str(ticket).strip()


def sent_myself_value(customer_id: str, ticket: str, action: Action, note_at: datetime) -> str:
    data = {"c": customer_id, "t": ticket, "a": action.value, "n": note_at.isoformat()}
    return json.dumps(data, separators=(",", ":"))


def read_sent_myself(raw: str | None) -> tuple[str, str, Action, datetime] | None:
    """(customer, ticket, action, the note's time) from "I sent them myself", or None when not ours."""
    try:
        data = json.loads(raw or "")
        found = (str(data["c"]), str(data["t"]), Action(data["a"]), datetime.fromisoformat(str(data["n"])))
    except (ValueError, KeyError, TypeError):
        return None
    return found if found[0] and len(found[0]) <= 64 and found[3].tzinfo is not None else None


def sent_myself_blocks(text: str, customer_id: str, ticket: str, action: Action, note_at: datetime) -> list[Block]:
    """An internal note's outcome, with the one way to count it: the agent says they sent the steps."""
    return [
        SectionBlock(
            block_id="post_steps_outcome", text=MarkdownTextObject(text=text[:MAX_SECTION_TEXT]),
            accessory=ButtonElement(text=messages.STEPS_SENT_MYSELF_BUTTON, action_id=SENT_MYSELF_ACTION,
                                    value=sent_myself_value(customer_id, ticket, action, note_at)),
        )
    ]


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
