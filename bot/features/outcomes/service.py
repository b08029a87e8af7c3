"""Outcomes: the report for the CLI, the digest's weekly section and chart, the Home tab's line.

The weekly chart goes in the thread of the digest of `OUTCOMES_WEEKDAY`, by the instance that holds that
digest's lease; its (week, channel) row is claimed by INSERT before the upload, so however many instances
run and however often the digest is retried, the chart is posted once per week and channel.
"""

from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from bot import messages
from bot.context import BotContext
from bot.features.outcomes.chart import chart_data, render_chart
from commands.outcomes import HOME_WEEKS, OutcomesReport, compose_report, default_since, week_of, week_starts
from commands.policy import Utility
from models.history import history_started_at, prune_history
from models.outcomes import chart_posted, claim_chart, record_chart, week_tallies

log = logging.getLogger(__name__)


def read_report(
    session: Session, as_of: datetime, zone: ZoneInfo, *, since: date | None = None, utility: Utility | None = None
) -> OutcomesReport:
    """The outcomes of the procedures sent from the week of `since` (default: 12 weeks back) to `as_of`.

    Procedures sent before history began are left out: what followed them was never observed.
    """
    first_week = week_of(_local_midnight(since, zone), zone) if since else default_since(as_of, zone)
    start = _local_midnight(first_week, zone)
    history_since = history_started_at(session)
    if history_since is not None:
        start = max(start, history_since)
    tallies = [] if history_since is None else week_tallies(
        session, start, as_of, week_starts(first_week, as_of, zone), utility)
    return compose_report(tallies, as_of=as_of, since=first_week, history_since=history_since)


def _local_midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), zone)


def is_outcomes_day(day: date, weekday: int) -> bool:
    return day.weekday() == weekday


def weekly_report(context: BotContext, day: date, as_of: datetime) -> OutcomesReport | None:
    """The report the digest of `day` carries: on the outcomes weekday only. A failure here is logged
    and the daily digest goes out without its weekly section rather than not at all."""
    settings = context.settings
    if not is_outcomes_day(day, settings.outcomes_weekday):
        return None
    try:
        with context.db.reading() as session:
            return read_report(session, as_of, settings.digest_tz)
    except Exception:
        log.exception("outcomes report failed; the digest of %s goes without it", day)
        return None


def home_report(session: Session, now: datetime, zone: ZoneInfo) -> OutcomesReport:
    """The last four weeks, for the Home tab."""
    return read_report(session, now, zone, since=week_of(now, zone) - timedelta(weeks=HOME_WEEKS - 1))


def post_weekly_chart(
    context: BotContext, channel: str, thread_ts: str, day: date, report: OutcomesReport | None
) -> bool:
    """Upload the week's chart into the digest's thread unless this channel already has it; True when posted.

    Called by the holder of the digest's lease; an upload that fails fails the attempt, and the retry
    (the message and list already recorded) uploads it then.
    """
    if report is None or not report.weeks:
        return False  # nothing to draw: the section says why
    week = week_of(_local_midnight(day, context.settings.digest_tz), context.settings.digest_tz)
    now = context.clock()
    with context.db.transaction() as session:
        if not claim_chart(session, week, channel, now=now) and chart_posted(session, week, channel):
            return False
    png = render_chart(chart_data(report))
    name = chart_file_name(week)
    context.client.files_upload_v2(
        channel=channel, thread_ts=thread_ts, content=png, filename=name, title=name,
        initial_comment=messages.outcomes_chart_comment(week),
    )
    with context.db.transaction() as session:
        record_chart(session, week, channel, ts=thread_ts, now=context.clock())
    log.info("outcomes chart posted: week=%s channel=%s", week, channel)
    return True


def chart_file_name(week: date) -> str:
    return f"outcomes-{week.isoformat()}.png"


def prune_expired_history(context: BotContext) -> int:
    """Delete the transitions older than HISTORY_RETENTION_DAYS, a batch per transaction; returns how many."""
    retention = timedelta(days=context.settings.history_retention_days)
    pruned = 0
    while True:
        with context.db.transaction() as session:
            batch = prune_history(session, context.clock(), retention)
        pruned += batch
        if batch == 0:
            break
    if pruned:
        log.info("history pruned: transitions=%s retention_days=%s", pruned, retention.days)
    return pruned
