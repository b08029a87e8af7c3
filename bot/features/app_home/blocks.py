"""The Home tab as Block Kit: the digest's counts live, the agent's own open escalations, the last digest."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import Block, ContextBlock, DividerBlock, HeaderBlock, MarkdownTextObject, SectionBlock
from slack_sdk.models.views import View

from bot import messages
from bot.features.digest.blocks import escalation_line
from bot.slack_limits import MAX_SECTION_TEXT
from commands.digest import STUCK_REASONS, StuckCounts
from models.app_home import OpenEscalation


def home_view(
    counts: StuckCounts,
    own: Sequence[OpenEscalation],
    last_digest_at: datetime | None,
    now: datetime,
) -> View:
    """The Home tab: live counts, the agent's own open escalations, when the last digest went out."""
    lines = "\n".join(
        f"• {messages.DIGEST_CATEGORIES[r]}: *{messages.count(counts.count(r))}*" for r in STUCK_REASONS
    )
    blocks: list[Block] = [
        HeaderBlock(text=messages.HOME_TITLE),
        SectionBlock(text=MarkdownTextObject(
            text=f"*{messages.count(counts.total)} stuck customers*\n{lines}"[:MAX_SECTION_TEXT]
        )),
    ]
    blocks.append(SectionBlock(text=MarkdownTextObject(text=escalation_line(counts, None))))
    blocks.append(DividerBlock())
    if not own:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=messages.HOME_NO_OWN_ESCALATIONS)))
    else:
        rows = "\n".join(
            f"• `{e.customer_id}` open since {messages.slack_date(e.opened_at)}" for e in own
        )
        blocks.append(SectionBlock(text=MarkdownTextObject(
            text=f"{messages.home_own_escalations(len(own))}\n{rows}"[:MAX_SECTION_TEXT]
        )))
    last = (messages.home_last_digest(messages.slack_datetime(last_digest_at))
            if last_digest_at else messages.HOME_NO_DIGEST)
    blocks.append(ContextBlock(elements=[MarkdownTextObject(
        text=f"{last} · counted {messages.slack_datetime(now)}"
    )]))
    return View(type="home", blocks=blocks)
