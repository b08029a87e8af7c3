"""The `/reauth-check` answer as Block Kit: the verdict, what to do, the buttons that fit it, one line of facts.

Rule numbers and the "as of" moment are for `--json` and the logs, not for agents.
"""

from __future__ import annotations

import json
from typing import assert_never

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    OverflowMenuElement,
    SectionBlock,
)

from bot import messages
from bot.features.escalations.blocks import escalate_button, escalate_menu
from bot.features.post_steps.blocks import steps_buttons
from bot.slack_limits import MAX_BUTTON_VALUE, MAX_HEADER_TEXT, MAX_SECTION_TEXT
from commands.check import Ambiguous, NotFound, QueryProblem, Report
from commands.rules import Action
from commands.tickets import Requester, RequesterUnknown

CHECK_CUSTOMER_ACTION = "check_customer"  # the Check button next to each customer of an ambiguous match
# Slack caps an actions block at 25 elements; an ambiguous match lists at most this many customers.
MAX_CANDIDATES = 20


def check_text(report: Report) -> str:
    """The notification fallback: the verdict, its date and the customer id; no e-mail (lock screens)."""
    return messages.check_notification(report)


def check_blocks(report: Report) -> list[Block]:
    reasons = "\n".join(f"• {messages.reason_text(r, report)}" for r in report.recommendation.reasons)
    blocks: list[Block] = [
        HeaderBlock(text=f"{messages.verdict_title(report)} · {messages.customer_title(report)}"[:MAX_HEADER_TEXT]),
        SectionBlock(text=MarkdownTextObject(text=f"{messages.instruction(report)}\n{reasons}"[:MAX_SECTION_TEXT])),
        *_requester_line(report),
    ]
    elements = check_actions(report)
    if elements:
        blocks.append(ActionsBlock(block_id="check_actions", elements=elements))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=messages.check_facts(report)[:MAX_SECTION_TEXT])]))
    return blocks


def check_actions(report: Report) -> list[ButtonElement | OverflowMenuElement]:
    """The buttons that fit the verdict: ESCALATE escalates; WAIT, REAUTH and CONNECT send their steps (and
    can add them as a note); Escalate goes to an overflow menu when the verdict is not to escalate."""
    if report.recommendation.action is Action.ESCALATE:
        return [escalate_button(report)]
    elements: list[ButtonElement | OverflowMenuElement] = []
    elements.extend(steps_buttons(report))
    elements.append(escalate_menu(report))
    return elements


def _requester_line(report: Report) -> list[Block]:
    """When the customer was found through a ticket: the e-mail used, and the ticket linked."""
    if report.requester is None:
        return []
    return [ContextBlock(elements=[MarkdownTextObject(text=messages.requester_used(report.requester))])]


def problem_blocks(problem: QueryProblem) -> list[Block]:
    return [SectionBlock(text=MarkdownTextObject(text=f"{messages.QUERY_PROBLEMS[problem]}\n{messages.USAGE}"))]


def not_found_text(outcome: NotFound) -> str:
    """The notification text: no e-mail, since notifications can show on lock screens."""
    return "No customer matches."


def not_found_sentence(outcome: NotFound) -> str:
    """What matched nobody, and for a ticket, what the helpdesk said about who opened it."""
    match outcome.requester:
        case Requester():
            return messages.requester_matches_nobody(outcome.requester)
        case RequesterUnknown():
            return messages.requester_unknown(outcome.requester)
        case None:
            return messages.not_found(outcome.query.value[:100])
        case _:
            assert_never(outcome.requester)


def not_found_blocks(outcome: NotFound) -> list[Block]:
    return [SectionBlock(text=MarkdownTextObject(text=not_found_sentence(outcome)[:MAX_SECTION_TEXT]))]


def ambiguous_text(outcome: Ambiguous) -> str:
    return messages.ambiguous(len(outcome.candidates))


def check_button_value(customer_id: str, ticket: str | None) -> str:
    data = {"c": customer_id, **({"t": ticket} if ticket else {})}
    text = json.dumps(data, separators=(",", ":"))
    return text if len(text) <= MAX_BUTTON_VALUE else json.dumps({"c": customer_id})


def read_check_button(raw: str | None) -> tuple[str, str | None] | None:
    """(customer id, ticket) from a Check button, or None when it is not one this bot made."""
    try:
        data = json.loads(raw or "")
        customer, ticket = data["c"], data.get("t")
    except (ValueError, KeyError, TypeError):
        return None
    if not isinstance(customer, str) or not customer or len(customer) > 64:
        return None
    return customer, ticket if isinstance(ticket, str) and ticket else None


def ambiguous_blocks(outcome: Ambiguous) -> list[Block]:
    """Each matching customer with a Check button that answers for that one."""
    candidates = outcome.candidates[:MAX_CANDIDATES]
    head = (messages.ambiguous(len(outcome.candidates)) if outcome.requester is None
            else messages.requester_matches_several(outcome.requester, len(outcome.candidates)))
    blocks: list[Block] = [SectionBlock(text=MarkdownTextObject(text=head[:MAX_SECTION_TEXT]))]
    for c in candidates:
        line = messages.ambiguous_candidate(
            c.id, c.utility.display_name, c.enrollment_status.value if c.enrollment_status else None, c.email
        )
        blocks.append(SectionBlock(
            text=MarkdownTextObject(text=line[:MAX_SECTION_TEXT]),
            accessory=ButtonElement(text=messages.CHECK_BUTTON, action_id=CHECK_CUSTOMER_ACTION,
                                    value=check_button_value(c.id, outcome.query.ticket_ref)),
        ))
    return blocks


