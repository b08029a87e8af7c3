"""Outcomes as Block Kit (the digest's weekly section, the Home tab's line) and as text, JSON and CSV rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, DividerBlock, MarkdownTextObject, SectionBlock
from slack_sdk.models.views import View

from bot import messages
from bot.slack_limits import MAX_SECTION_TEXT
from commands.outcomes import HOME_WEEKS, OutcomesReport, WaitWarning, WeekOutcomes

CSV_COLUMNS = (
    "utility", "week", "procedures_sent", "reauthorized_7d", "connected_7d", "connected_14d",
    "verification_median_days", "verification_p90_days", "verifications", "repeat_rate", "escalation_rate",
    "stuck_after_7d", "stuck_after_14d",
)
# The digest shows the latest weeks; the CLI has them all.
DIGEST_WEEKS = 2


def week_line(week: WeekOutcomes) -> str:
    return messages.outcomes_week_line(
        week.utility.display_name, week.week, week.sent, messages.percent(week.reauthorized_7d),
        messages.percent(week.connected_7d), messages.percent(week.connected_14d),
        messages.days_figure(week.verification_median), messages.days_figure(week.verification_p90),
        messages.percent(week.repeat_rate), messages.percent(week.escalation_rate),
    )


def warning_line(warning: WaitWarning) -> str:
    weeks = ", ".join(
        f"week of {w:%b %-d}: {p:.1f} d" for w, p in zip(warning.weeks, warning.measured_p90, strict=True)
    )
    return messages.outcomes_wait_warning(
        warning.utility.display_name, warning.wait_days, len(warning.weeks), weeks, warning.needed_days
    )


def report_lines(report: OutcomesReport, *, latest_weeks: int | None = None) -> list[str]:
    """The report as lines of text: where history starts, each utility's weeks, the wait warnings."""
    if report.history_since is None:
        return [messages.OUTCOMES_NO_HISTORY]
    lines = [messages.outcomes_history_since(report.history_since)]
    if not report.weeks:
        lines.append(messages.OUTCOMES_NONE_SENT)
    for utility in report.utilities():
        weeks = report.weeks_of(utility)
        if latest_weeks:
            # The latest weeks that have a 14-day answer: the ones after them are mostly "not over yet".
            answered = [w for w in weeks if w.connected_14d is not None]
            weeks = (answered or weeks)[-latest_weeks:]
        lines += [week_line(w) for w in weeks]
    lines += [f"⚠ {warning_line(w)}" for w in report.warnings]
    return lines


def outcomes_section(report: OutcomesReport | None) -> list[Block]:
    """The digest's weekly outcomes section (none on other days): the latest weeks per utility and any
    wait warning."""
    if report is None:
        return []
    text = "\n".join(f"• {line}" for line in report_lines(report, latest_weeks=DIGEST_WEEKS))
    return [
        DividerBlock(),
        SectionBlock(text=MarkdownTextObject(text=f"*{messages.OUTCOMES_TITLE}*\n{text}"[:MAX_SECTION_TEXT])),
        ContextBlock(elements=[MarkdownTextObject(text=messages.OUTCOMES_MORE)]),
    ]


def home_outcomes_blocks(report: OutcomesReport) -> list[Block]:
    """The Home tab's line: the last four weeks' share connected within 14 days, per utility."""
    if report.history_since is None:
        text = f"{messages.HOME_OUTCOMES_TITLE}\n{messages.OUTCOMES_NO_HISTORY}"
        return [SectionBlock(text=MarkdownTextObject(text=text))]
    lines = [
        messages.home_outcomes_line(utility.display_name, [
            messages.home_outcomes_week(w.week, messages.percent(w.connected_14d))
            for w in report.weeks_of(utility)[-HOME_WEEKS:]
        ])
        for utility in report.utilities()
    ] or [messages.OUTCOMES_NONE_SENT]
    return [SectionBlock(text=MarkdownTextObject(text=f"{messages.HOME_OUTCOMES_TITLE}\n" + "\n".join(lines)))]


def with_outcomes(view: View, report: OutcomesReport) -> View:
    """The Home tab with the outcomes line before its closing context line."""
    blocks = list(view.blocks or [])
    at = len(blocks) - 1 if blocks and isinstance(blocks[-1], ContextBlock) else len(blocks)
    blocks[at:at] = [DividerBlock(), *home_outcomes_blocks(report)]
    return View(type=view.type, blocks=blocks)


def _figure(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def week_row(week: WeekOutcomes) -> dict[str, Any]:
    return {
        "utility": week.utility.value, "week": week.week.isoformat(), "procedures_sent": week.sent,
        "reauthorized_7d": _figure(week.reauthorized_7d), "connected_7d": _figure(week.connected_7d),
        "connected_14d": _figure(week.connected_14d),
        "verification_median_days": _figure(week.verification_median),
        "verification_p90_days": _figure(week.verification_p90), "verifications": week.verification_count,
        "repeat_rate": _figure(week.repeat_rate), "escalation_rate": _figure(week.escalation_rate),
        "stuck_after_7d": week.stuck_7d, "stuck_after_14d": week.stuck_14d,
    }


def report_json(report: OutcomesReport) -> dict[str, Any]:
    return {
        "as_of": report.as_of.isoformat(),
        "since": report.since.isoformat(),
        "history_since": report.history_since.isoformat() if report.history_since else None,
        "weeks": [week_row(w) for w in report.weeks],
        "warnings": [
            {"utility": w.utility.value, "configured_wait_days": w.wait_days,
             "weeks": [d.isoformat() for d in w.weeks], "measured_p90_days": [round(p, 4) for p in w.measured_p90],
             "needed_wait_days": w.needed_days, "message": warning_line(w)}
            for w in report.warnings
        ],
    }


def report_csv(weeks: Sequence[WeekOutcomes]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for week in weeks:
        writer.writerow({k: "" if v is None else v for k, v in week_row(week).items()})
    return buffer.getvalue()
