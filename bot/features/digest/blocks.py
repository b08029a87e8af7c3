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
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot import messages
from bot.mrkdwn import code, escape
from bot.slack_limits import MAX_HEADER_TEXT, MAX_SECTION_TEXT
from commands.digest import (
    STUCK_REASONS,
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
    """The channel message: the change first, then what to act on today, then the categories that are not
    empty, and the trend as numbers. The longest stuck are the top of the full list in the thread."""
    previous_day = f"{digest.previous.day:%A}" if digest.previous else None
    if digest.previous is not None and (digest.day - digest.previous.day).days > 6:
        previous_day = f"{digest.previous.day:%a %b %-d}"
    blocks: list[Block] = [HeaderBlock(text=messages.digest_title(day_text(digest))[:MAX_HEADER_TEXT])]
    if digest.is_empty:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=messages.DIGEST_EMPTY)))
    else:
        summary = messages.digest_summary(digest.total, digest.total_change, previous_day)
        first = messages.digest_first_line(summary, digest.act_today.untaken_total, digest.act_today.newly_stuck_total)
        blocks.append(SectionBlock(text=MarkdownTextObject(text=first[:MAX_SECTION_TEXT])))
        blocks.append(SectionBlock(text=MarkdownTextObject(text=_act_today(digest)[:MAX_SECTION_TEXT])))
        categories = _category_lines(digest)
        if categories:
            blocks.append(SectionBlock(text=MarkdownTextObject(text=categories[:MAX_SECTION_TEXT])))
    context = [messages.slack_datetime(digest.as_of) + " · same rules as /reauth-check"]
    trend = _trend_line(digest)
    if trend:
        context.insert(0, trend)
    if digest.total:
        context.append(messages.DIGEST_LIST_IN_THREAD)
    blocks.append(ContextBlock(elements=[MarkdownTextObject(text=" · ".join(context))]))
    return blocks


def _act_today(digest: Digest) -> str:
    act = digest.act_today
    if act.is_empty:
        return f"{messages.ACT_TODAY_TITLE}\n{messages.ACT_TODAY_NOTHING}"
    lines = [messages.ACT_TODAY_TITLE]
    lines += [messages.act_today_untaken(c.customer_id, c.opened_at, thread_url(c.channel, c.parent_ts))
              for c in act.untaken]
    if act.untaken_total > len(act.untaken):
        lines.append(messages.act_today_more(act.untaken_total - len(act.untaken), "escalations nobody has taken"))
    lines += [messages.act_today_follow_up(f.customer_id, f.due_at) for f in act.follow_ups]
    if act.follow_ups_total > len(act.follow_ups):
        more = act.follow_ups_total - len(act.follow_ups)
        lines.append(messages.act_today_more(more, "follow-ups due in the next day"))
    if act.newly_stuck is not None:
        newly = act.newly_stuck
        lines += [messages.act_today_newly_stuck(c.customer_id, c.utility.display_name, c.action, c.reason)
                  for c in newly.first]
        if newly.total > len(newly.first):
            lines.append(messages.act_today_more(newly.total - len(newly.first), "newly stuck"))
    return "\n".join(lines)


def thread_url(channel: str, ts: str | None) -> str | None:
    """A link to a message: Slack's documented archive form (slack.com redirects to the workspace)."""
    return f"https://slack.com/archives/{channel}/p{ts.replace('.', '')}" if ts else None


def _category_lines(digest: Digest) -> str:
    """The categories with customers in them (or whose count changed), with their changes."""
    lines = [
        f"• {messages.DIGEST_CATEGORIES[r]}: *{messages.count(digest.counts.count(r))}*"
        f"{messages.change(digest.change(r))}"
        for r in STUCK_REASONS
        if digest.counts.count(r) or digest.change(r)
    ]
    if digest.counts.open_escalations or digest.escalations_change:
        lines.append(f"• {escalation_line(digest.counts, digest.escalations_change)}")
    return "\n".join(lines)


def escalation_line(counts: StuckCounts, delta: int | None) -> str:
    """Open escalations and their ages (the ages with none hidden)."""
    ages = " · ".join(
        f"{counts.escalations.get(age, 0):,} {messages.ESCALATION_AGES[age]}" for age in EscalationAge
        if counts.escalations.get(age, 0)
    )
    return messages.open_escalations(counts.open_escalations, delta, ages)


def _trend_line(digest: Digest) -> str:
    """`870 a week ago → 856 today`, or nothing before a second digest."""
    earlier = digest.week_ago
    if earlier is None or earlier.total is None:
        return ""
    return messages.trend_numbers(earlier.total, (digest.day - earlier.day).days, digest.total)


def customer_line(customer: StuckCustomer, now: datetime) -> str:
    """One stuck customer, by id only: the digest channel never shows names or e-mails."""
    return (
        f"• {code(customer.customer_id)} {escape(customer.utility.display_name)} · "
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
