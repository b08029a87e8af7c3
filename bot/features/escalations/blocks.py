"""Escalations as Block Kit: the Escalate button, the escalation modal, and the case's parent message."""

from __future__ import annotations

import json
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    CheckboxesElement,
    ConfirmObject,
    ContextBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    Option,
    OverflowMenuElement,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot import messages
from bot.slack_limits import MAX_BUTTON_VALUE, MAX_HEADER_TEXT, MAX_OPTION_VALUE
from commands.check import Report
from commands.escalations import MAX_NOTE, MAX_REASON, Escalation, Field, Status
from commands.rules import Action
from commands.tickets import Ticket

ESCALATE_ACTION = "escalate"
ESCALATE_MENU_ACTION = "escalate_menu"
TAKE_ACTION = "escalation_take"
RESOLVE_ACTION = "escalation_resolve"
SHORTCUT_CALLBACK = "escalate_reauth_case"
MODAL_CALLBACK = "escalation_submit"
INPUT_ACTION = "value"  # the action_id of every input in the modal; the block id names the field
TICKET_NOTE_BLOCK, TICKET_NOTE_VALUE = "ticket_note", "add"
MAX_SECTION = 3000


def escalate_value(report: Report, limit: int = MAX_BUTTON_VALUE) -> str:
    """The customer and the ticket, as the Escalate button's (or overflow option's) value."""
    value = json.dumps({"customer": report.customer.id, "ticket": report.ticket_ref})
    # ids are at most 64 and 100 characters: a long ticket reference is dropped, the form asks for it
    return value if len(value) <= limit else json.dumps({"customer": report.customer.id, "ticket": None})


def escalate_button(report: Report) -> ButtonElement:
    """Escalate this customer: the one primary button when the rules say ESCALATE."""
    return ButtonElement(
        text=messages.ESCALATE_BUTTON,
        action_id=ESCALATE_ACTION,
        value=escalate_value(report),
        style="primary" if report.recommendation.action is Action.ESCALATE else None,
    )


def escalate_menu(report: Report) -> OverflowMenuElement:
    """Escalate, in the answer's overflow menu when the verdict is not to escalate."""
    option = Option(text=messages.ESCALATE_BUTTON, value=escalate_value(report, MAX_OPTION_VALUE))
    return OverflowMenuElement(action_id=ESCALATE_MENU_ACTION, options=[option])


def read_escalate_button(value: str) -> tuple[str, str | None]:
    """(customer id, ticket ref) from the Escalate button's value."""
    try:
        data = json.loads(value)
    except ValueError:
        return "", None
    if not isinstance(data, dict):
        return "", None
    ticket = data.get("ticket")
    return str(data.get("customer") or ""), str(ticket) if ticket else None


def escalation_modal(
    customer: str = "", ticket: Ticket | str | None = None, hint: str | None = None, *, with_ticket_note: bool = False
) -> View:
    """The form: customer (prefilled when known), reason, optional ticket, optional note."""
    ticket_text = ticket.url or ticket.id if isinstance(ticket, Ticket) else ticket
    blocks: list[Block] = []
    if hint:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=hint)))
    blocks += [
        _input(Field.CUSTOMER, initial=customer, max_length=300),
        _input(Field.REASON, multiline=True, max_length=MAX_REASON, focus=bool(customer)),
        _input(Field.TICKET, initial=ticket_text or "", optional=True, max_length=2000),
        _input(Field.NOTE, multiline=True, optional=True, max_length=MAX_NOTE),
    ]
    if with_ticket_note:  # only when a helpdesk is configured to post it
        option = Option(value=TICKET_NOTE_VALUE, text=messages.ESCALATION_TICKET_NOTE_OPTION)
        blocks.append(InputBlock(
            block_id=TICKET_NOTE_BLOCK, label=messages.ESCALATION_TICKET_NOTE_LABEL, optional=True,
            element=CheckboxesElement(action_id=INPUT_ACTION, options=[option], initial_options=[option]),
        ))
    return View(
        type="modal",
        callback_id=MODAL_CALLBACK,
        title=messages.ESCALATION_MODAL_TITLE,
        submit=messages.ESCALATION_MODAL_SUBMIT,
        close=messages.ESCALATION_MODAL_CLOSE,
        blocks=blocks,
    )


def _input(
    field: Field, *, initial: str = "", multiline: bool = False, optional: bool = False, max_length: int,
    focus: bool = False,
) -> InputBlock:
    return InputBlock(
        block_id=field.value,
        label=messages.ESCALATION_LABELS[field.value],
        hint=messages.ESCALATION_HINTS[field.value],
        optional=optional or None,
        element=PlainTextInputElement(
            action_id=INPUT_ACTION,
            initial_value=initial or None,
            multiline=multiline or None,
            max_length=max_length,
            focus_on_load=focus or None,
        ),
    )


def wants_ticket_note(view: dict[str, Any]) -> bool:
    """Whether "add the escalation note to the ticket" stayed ticked."""
    values = (view.get("state") or {}).get("values") or {}
    chosen = ((values.get(TICKET_NOTE_BLOCK) or {}).get(INPUT_ACTION) or {}).get("selected_options") or []
    return any(isinstance(o, dict) and o.get("value") == TICKET_NOTE_VALUE for o in chosen)


def form_values(view: dict[str, Any]) -> dict[Field, str]:
    """The submitted text of each field ('' when left empty)."""
    values = (view.get("state") or {}).get("values") or {}
    found: dict[Field, str] = {}
    for field in Field:
        entry = (values.get(field.value) or {}).get(INPUT_ACTION) or {}
        found[field] = str(entry.get("value") or "")
    return found


def done_view(text: str) -> View:
    """What the modal shows once the escalation is recorded."""
    return View(
        type="modal",
        title=messages.ESCALATION_MODAL_TITLE,
        close=messages.ESCALATION_DONE_CLOSE,
        blocks=[SectionBlock(text=MarkdownTextObject(text=text[:MAX_SECTION]))],
    )


def parent_blocks(case: Escalation, utility: str | None = None) -> list[Block]:
    """The parent message: state and owner in the header, why first, "Take it", then the case as escalated."""
    blocks: list[Block] = [
        HeaderBlock(text=messages.escalation_header(case, utility)[:MAX_HEADER_TEXT]),
        SectionBlock(text=MarkdownTextObject(
            text=f"{messages.escalation_state(case)}\n{messages.escalation_why(case)}"[:MAX_SECTION])),
    ]
    if case.status is Status.OPEN:
        value = str(case.id)
        take = ButtonElement(text=messages.TAKE_BUTTON, action_id=TAKE_ACTION, value=value,
                             style=None if case.taken_by else "primary")
        resolve = ButtonElement(
            text=messages.RESOLVE_BUTTON, action_id=RESOLVE_ACTION, value=value,
            confirm=ConfirmObject(title=messages.RESOLVE_CONFIRM_TITLE, text=messages.RESOLVE_CONFIRM_TEXT,
                                  confirm=messages.RESOLVE_CONFIRM_YES, deny=messages.RESOLVE_CONFIRM_NO),
        )
        blocks.append(ActionsBlock(block_id="escalation_actions", elements=[take, resolve]))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=case.summary[:MAX_SECTION])]))
    return blocks


def parent_message(case: Escalation, utility: str | None = None) -> dict[str, Any]:
    """chat.postMessage / chat.update arguments for the parent (text is the notification fallback)."""
    return {"text": messages.escalation_notification(case, utility),
            "blocks": [b.to_dict() for b in parent_blocks(case, utility)]}
