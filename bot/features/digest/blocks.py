"""The daily digest, its full list and the App Home as Block Kit, within Slack's limits.

A channel message holds at most 50 blocks and a section 3000 characters; messages whose blocks add up
to about 13,000 characters have been refused (`msg_blocks_too_long`), so each list reply stays well
under that. A list that needs more than a few replies goes as a CSV file instead.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime

from slack_sdk.models.blocks import (
    Block,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot import messages
from bot.slack_limits import MAX_HEADER_TEXT, MAX_SECTION_TEXT
from commands.digest import (
    STUCK_REASONS,
    TREND_DAYS,
    Digest,
    EscalationAge,
    StuckCounts,
    StuckCustomer,
)
from commands.spreadsheet import safe_rows

# Below Slack's undocumented ~13,000-character total per message, with room for the context line.
MAX_REPLY_TEXT = 11_000
# More list replies than this flood the thread (and take that many seconds at 1 message/s): use a CSV.
MAX_LIST_REPLIES = 5
# Section text is cut below the limit, so mrkdwn markup never straddles it.
_SECTION_BUDGET = MAX_SECTION_TEXT - 100
CSV_HEADER = ("customer_id", "utility", "category", "action", "days_stuck", "stuck_since_utc")


def day_text(digest: Digest) -> str:
    return f"{digest.day:%a %b %-d, %Y}"


def digest_text(digest: Digest) -> str:
    return messages.digest_text(digest.total, digest.total_change)


def digest_blocks(digest: Digest) -> list[Block]:
    """The channel message: summary, categories with their changes, the longest stuck, the trend."""
    previous_day = f"{digest.previous.day:%a %b %-d}" if digest.previous else None
    blocks: list[Block] = [HeaderBlock(text=messages.digest_title(day_text(digest))[:MAX_HEADER_TEXT])]
    if digest.is_empty:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=messages.DIGEST_EMPTY)))
    else:
        summary = messages.digest_summary(digest.total, digest.total_change, previous_day)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=f"{summary}\n{_category_lines(digest)}"[:MAX_SECTION_TEXT])))
    if digest.longest:
        lines = "\n".join(customer_line(c, digest.as_of) for c in digest.longest)
        longest = f"*Longest stuck*\n{lines}"[:MAX_SECTION_TEXT]
        blocks += [DividerBlock(), SectionBlock(text=MarkdownTextObject(text=longest))]
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=_trend_line(digest))]))
    blocks.append(ContextBlock(elements=[MarkdownTextObject(
        text=f"As of {messages.slack_datetime(digest.as_of)} · same rules as /reauth-check"
    )]))
    return blocks


def _category_lines(digest: Digest) -> str:
    lines = [
        f"• {messages.DIGEST_CATEGORIES[r]}: *{messages.count(digest.counts.count(r))}*"
        f"{messages.change(digest.change(r))}"
        for r in STUCK_REASONS
    ]
    lines.append(f"• {escalation_line(digest.counts, digest.escalations_change)}")
    return "\n".join(lines)


def escalation_line(counts: StuckCounts, delta: int | None) -> str:
    """Open escalations and their ages."""
    ages = " · ".join(
        f"{counts.escalations.get(age, 0):,} {messages.ESCALATION_AGES[age]}" for age in EscalationAge
    )
    return messages.open_escalations(counts.open_escalations, delta, ages)


def _trend_line(digest: Digest) -> str:
    known = [t.total for t in digest.trend if t.total is not None]
    return messages.trend(digest.sparkline, min(known, default=0), max(known, default=0), TREND_DAYS)


def customer_line(customer: StuckCustomer, now: datetime) -> str:
    """One stuck customer, by id only: the digest channel never shows names or e-mails."""
    return (
        f"• `{customer.customer_id}` {customer.utility.display_name} · "
        f"{messages.days_stuck(customer.days_stuck(now))} · {messages.DIGEST_ACTIONS[customer.action]} · "
        f"{messages.DIGEST_CATEGORIES[customer.reason].lower()}"
    )


def list_replies(customers: Sequence[StuckCustomer], now: datetime) -> list[list[Block]] | None:
    """The full list as thread replies within Slack's limits, or None when it needs a CSV instead."""
    sections: list[str] = []
    current = ""
    for customer in customers:
        line = customer_line(customer, now)
        if current and len(current) + 1 + len(line) > _SECTION_BUDGET:
            sections.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        sections.append(current)
    replies: list[list[str]] = []
    for section in sections:
        if not replies or sum(len(s) for s in replies[-1]) + len(section) > MAX_REPLY_TEXT:
            replies.append([])
        replies[-1].append(section)
    if len(replies) > MAX_LIST_REPLIES:
        return None
    total = len(customers)
    return [
        [ContextBlock(elements=[MarkdownTextObject(text=messages.digest_list_part(n, len(replies), total))]),
         *[SectionBlock(text=MarkdownTextObject(text=text)) for text in reply]]
        for n, reply in enumerate(replies, start=1)
    ]


class ListWriter:
    """Collects the full list as it streams out of the database: kept as rows while it may still fit in
    messages, then written to CSV only, so memory stays flat at a million customers. `stuck_snapshot` feeds
    it the CSV lines the database formatted."""

    def __init__(self, keep: int = 1000) -> None:
        self.keep = keep
        self.customers: list[StuckCustomer] = []
        self.count = 0
        self._buffer = io.StringIO()
        self._buffer.write(safe_rows([CSV_HEADER]))

    def keep_customer(self, customer: StuckCustomer) -> None:
        """One of the first `keep` customers; its CSV line comes through `write_lines`."""
        self.customers.append(customer)

    def write_lines(self, lines: list[str]) -> None:
        """CSV lines formatted by the database (`models.digest.queries.csv_line`), in list order."""
        if lines:
            self.count += len(lines)
            self._buffer.write("\n".join(lines))
            self._buffer.write("\n")

    @property
    def complete(self) -> bool:
        """All rows are kept, so the list can go as messages if it fits."""
        return self.count <= self.keep

    def csv_bytes(self) -> bytes:
        return self._buffer.getvalue().encode("utf-8")
