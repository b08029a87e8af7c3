"""The `/reauth-check` answer as Block Kit."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot import messages
from bot.features.escalations.blocks import escalate_button
from bot.features.post_steps.blocks import steps_buttons
from bot.slack_limits import MAX_HEADER_TEXT, MAX_SECTION_TEXT
from commands.check import Ambiguous, Customer, NotFound, QueryProblem, Report
from commands.rules import Action, Authorization

# Slack allows 3000 characters in a section; long authorization histories are cut before that.
MAX_AUTHORIZATION_LINES = 15
MAX_PROCEDURE_LINES = 10


def check_text(report: Report) -> str:
    """The notification fallback: no e-mail, since notifications can show on lock screens."""
    return f"{report.customer.id}: {messages.ACTION_TITLES[report.recommendation.action]}"


def check_blocks(report: Report) -> list[Block]:
    customer = report.customer
    recommendation = report.recommendation
    reasons = "\n".join(f"• {messages.reason_text(r, report)}" for r in recommendation.reasons)
    verdict = f"*{messages.ACTION_TITLES[recommendation.action]}*\n{reasons}"
    if recommendation.action is Action.WAIT and recommendation.wait_until is not None:
        check_back = messages.slack_date(recommendation.wait_until)
        verdict += f"\nCheck back on *{check_back}*; tell the customer not to redo it."
    blocks: list[Block] = [
        HeaderBlock(text=f"{customer.id} · {customer.utility.display_name}"[:MAX_HEADER_TEXT]),
        SectionBlock(text=MarkdownTextObject(text=_customer_line(customer))),
        SectionBlock(text=MarkdownTextObject(text=verdict[:MAX_SECTION_TEXT])),
        SectionBlock(text=MarkdownTextObject(text=_data_line(report))),
        SectionBlock(text=MarkdownTextObject(text=_authorization_lines(report)[:MAX_SECTION_TEXT])),
        SectionBlock(text=MarkdownTextObject(text=_procedure_lines(report)[:MAX_SECTION_TEXT])),
        ContextBlock(elements=[MarkdownTextObject(
            text=f"As of {messages.slack_date_exact(report.now)} · rule {recommendation.rule}"
        )]),
    ]
    buttons = check_actions(report)
    if buttons:
        blocks.append(ActionsBlock(block_id="check_actions", elements=buttons))
    return blocks


def check_actions(report: Report) -> list[ButtonElement]:
    """The buttons under a check answer; each feature adds its own."""
    buttons: list[ButtonElement] = []
    buttons.extend(steps_buttons(report))
    buttons.append(escalate_button(report))
    return buttons


def _customer_line(customer: Customer) -> str:
    email = customer.email or "no e-mail on file"
    return f"*Customer* {customer.id} · {email} · {customer.utility.display_name}"


def _data_line(report: Report) -> str:
    last = report.customer.last_data_at
    seen = f"last meter data {messages.slack_date(last)}" if last else "no meter data received yet"
    state = "*Connected*" if report.connected else "*Not connected*"
    enrollment = report.customer.enrollment_status.value if report.customer.enrollment_status else "unknown"
    return f"{state}: {seen}; enrollment {enrollment}"


def _authorization_line(a: Authorization, report: Report) -> str:
    age = a.age_days(report.now)
    age_text = "age unknown" if age is None else messages.days(age)
    utility = report.customer.utility
    scope = messages.scope_state(a.scope_complete(utility), a.missing_function_blocks(utility))
    return f"• `{a.id}` {a.status_at(report.now).value} · {age_text} · {scope}"


def _authorization_lines(report: Report) -> str:
    total, live = len(report.authorizations), len(report.live)
    head = f"*Authorizations*: {total} in all, {live} live (pending or active)"
    lines = [_authorization_line(a, report) for a in report.authorizations[:MAX_AUTHORIZATION_LINES]]
    if total > MAX_AUTHORIZATION_LINES:
        lines.append(f"… and {total - MAX_AUTHORIZATION_LINES} older")
    return "\n".join([head, *lines])


def _procedure_lines(report: Report) -> str:
    if not report.procedures:
        return "*Steps already sent*: none"
    recent = list(reversed(report.procedures))[:MAX_PROCEDURE_LINES]
    lines = [
        f"• {messages.slack_date(p.sent_at)}"
        + (f" by {messages.agent_mention(p.agent)}" if p.agent else "")
        + (f" on ticket {p.ticket_id}" if p.ticket_id else "")
        for p in recent
    ]
    more = len(report.procedures) - len(recent)
    if more > 0:
        lines.append(f"… and {more} earlier")
    return "\n".join([f"*Steps already sent*: {len(report.procedures)}", *lines])


def problem_blocks(problem: QueryProblem) -> list[Block]:
    return [SectionBlock(text=MarkdownTextObject(text=f"{messages.QUERY_PROBLEMS[problem]}\n{messages.USAGE}"))]


def not_found_blocks(outcome: NotFound) -> list[Block]:
    return [SectionBlock(text=MarkdownTextObject(text=messages.not_found(outcome.query.value[:100])))]


def ambiguous_blocks(outcome: Ambiguous) -> list[Block]:
    lines = [
        f"• `{c.id}` · {c.utility.display_name} · enrollment "
        f"{c.enrollment_status.value if c.enrollment_status else 'unknown'}"
        for c in outcome.candidates
    ]
    text = "\n".join([messages.ambiguous(len(lines)), *lines])
    return [SectionBlock(text=MarkdownTextObject(text=text[:MAX_SECTION_TEXT]))]

