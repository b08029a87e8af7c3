"""The Home tab as Block Kit, about the agent first: check a customer, the cases you took, your follow-ups
due today; then the team's counts (the digest's, live) and the help article."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    InputBlock,
    MarkdownTextObject,
    PlainTextInputElement,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot import messages
from bot.features.digest.blocks import escalation_line, thread_url
from bot.slack_limits import MAX_SECTION_TEXT
from commands.digest import STUCK_REASONS, StuckCounts
from models.app_home import OpenEscalation
from models.escalations import FollowUp

HOME_CHECK_ACTION = "home_check_customer"
CHECK_MODAL_CALLBACK = "home_check_customer_submit"
CHECK_BLOCK = "customer"
CHECK_INPUT = "value"


def home_view(
    counts: StuckCounts,
    own: Sequence[OpenEscalation],
    last_digest_at: datetime | None,
    now: datetime,
    *,
    follow_ups: Sequence[FollowUp] = (),
    help_article_url: str | None = None,
) -> View:
    """The agent's Home tab: their work first, then the team's counts."""
    blocks: list[Block] = [
        HeaderBlock(text=messages.HOME_TITLE),
        ActionsBlock(block_id="home_actions", elements=[
            ButtonElement(text=messages.HOME_CHECK_BUTTON, action_id=HOME_CHECK_ACTION, style="primary"),
        ]),
    ]
    if own:
        rows = "\n".join(messages.home_case(e.customer_id, e.opened_at, thread_url(e.channel, e.parent_ts))
                         for e in own)
        text = f"{messages.home_own_escalations(len(own))}\n{rows}"
    else:
        text = messages.HOME_NO_OWN_ESCALATIONS
    blocks.append(SectionBlock(text=MarkdownTextObject(text=text[:MAX_SECTION_TEXT])))
    if follow_ups:
        rows = "\n".join(messages.home_follow_up(f.customer_id, f.due_at) for f in follow_ups)
        text = f"{messages.home_follow_ups(len(follow_ups))}\n{rows}"
    else:
        text = messages.HOME_NO_FOLLOW_UPS
    blocks.append(SectionBlock(text=MarkdownTextObject(text=text[:MAX_SECTION_TEXT])))
    lines = "\n".join(
        f"• {messages.DIGEST_CATEGORIES[r]}: *{messages.count(counts.count(r))}*" for r in STUCK_REASONS
        if counts.count(r)
    )
    blocks += [
        DividerBlock(),
        SectionBlock(text=MarkdownTextObject(
            text=f"{messages.HOME_TEAM_TITLE}\n*{messages.count(counts.total)} stuck customers*\n{lines}"[
                :MAX_SECTION_TEXT]
        )),
        SectionBlock(text=MarkdownTextObject(text=escalation_line(counts, None))),
    ]
    last = (messages.home_last_digest(messages.slack_datetime(last_digest_at))
            if last_digest_at else messages.HOME_NO_DIGEST)
    context = [f"{last} · counted {messages.slack_datetime(now)}"]
    if help_article_url:
        context.append(messages.home_help_article(help_article_url))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=" · ".join(context))]))
    return View(type="home", blocks=blocks)


def check_modal() -> View:
    """The one-field form "Check a customer" opens."""
    return View(
        type="modal",
        callback_id=CHECK_MODAL_CALLBACK,
        title=messages.CHECK_MODAL_TITLE,
        submit=messages.CHECK_MODAL_SUBMIT,
        close=messages.STEPS_MODAL_CLOSE,
        blocks=[InputBlock(
            block_id=CHECK_BLOCK, label=messages.CHECK_MODAL_LABEL, hint=messages.CHECK_MODAL_HINT,
            element=PlainTextInputElement(action_id=CHECK_INPUT, max_length=300, focus_on_load=True),
        )],
    )


def checked_customer(view: dict[str, Any]) -> str:
    values = (view.get("state") or {}).get("values") or {}
    return str(((values.get(CHECK_BLOCK) or {}).get(CHECK_INPUT) or {}).get("value") or "")


def answer_modal(blocks: Sequence[Block]) -> View:
    """The answer, in the form: what to do and the facts; acting on it happens in a channel."""
    kept = [b for b in blocks if b.type != "actions"]
    kept.append(ContextBlock(elements=[MarkdownTextObject(text=messages.CHECK_MODAL_NOTE)]))
    return View(type="modal", title=messages.CHECK_MODAL_TITLE, close=messages.ESCALATION_DONE_CLOSE,
                blocks=list(kept))
