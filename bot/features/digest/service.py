"""Posting the daily digest exactly once per day and channel, from the scheduler in `serve` or from cron.

Both triggers call `run_digest`. The database decides who posts: the day's row is claimed by INSERT
(unique day and channel), and the attempt takes a lease by conditional UPDATE. A crash before the post
leaves the lease to expire and the next trigger posts; a crash after Slack accepted the message but
before its ts was recorded is the one window a database cannot close, so every post carries message
metadata naming its day, and a run that takes over an interrupted attempt first looks for that message
in the channel (conversations.history / .replies) and adopts it instead of posting again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, assert_never

from slack_sdk.errors import SlackApiError
from sqlalchemy.orm import Session

from bot import messages
from bot.context import BotContext
from bot.features.digest.blocks import ListWriter, digest_blocks, digest_text, list_replies
from bot.features.outcomes.blocks import outcomes_section
from bot.features.outcomes.service import post_weekly_chart, weekly_report
from commands.digest import (
    TREND_DAYS,
    ActToday,
    CaseToTake,
    Digest,
    FollowUpDue,
    NewlyStuck,
    StuckCounts,
    compose_digest,
    due_day,
    judged_at,
    previous_digest,
)
from models.digest.queries import escalation_ages, stuck_snapshot
from models.digest.runs import (
    DigestRun,
    DigestState,
    claim,
    finish,
    get_run,
    previous_digests,
    record_post,
    record_replies,
    release,
    take_lease,
)
from models.escalations import follow_ups_due_by, untaken_escalations

log = logging.getLogger(__name__)

# Longer than the slowest attempt (a digest, a few replies at 1 message/s, a CSV upload with retries),
# so a lease never expires while its holder is still posting.
LEASE = timedelta(minutes=5)
METADATA_TYPE = "reauth_digest"
# How far back an interrupted run looks for its own message: far more than a digest channel gets in
# the minutes a lease lasts.
HISTORY_LOOKBACK = 200
# Errors after which looking in the channel is pointless: the post goes out (a rare duplicate beats
# a missing digest), and the log says why.
_NO_HISTORY_ACCESS = frozenset({"missing_scope", "not_in_channel", "channel_not_found", "not_allowed_token_type"})
# After a failed attempt the scheduler waits this long before trying again, not every tick.
RETRY_AFTER_FAILURE = timedelta(minutes=5)
# "Act today" names this many of each kind, then says how many more: a channel message, not a report.
ACT_TODAY_LINES = 5


@dataclass(frozen=True)
class DigestPreview:
    """A dry run: the digest as it would be posted now; nothing claimed, nothing posted."""

    digest: Digest


@dataclass(frozen=True)
class DigestPosted:
    """This call posted (or finished posting) the day's digest."""

    digest: Digest
    run: DigestRun
    ts: str
    recovered: bool  # the message of an interrupted attempt was found in the channel and adopted
    list_replies: int  # thread replies holding the full list (0: nobody stuck)
    csv: bool  # the full list went as a CSV file


@dataclass(frozen=True)
class DigestAlreadyPosted:
    run: DigestRun


@dataclass(frozen=True)
class DigestBusy:
    """Another instance holds the lease and is posting right now."""

    run: DigestRun


@dataclass(frozen=True)
class DigestFailed:
    run: DigestRun
    reason: str


DigestOutcome = DigestPreview | DigestPosted | DigestAlreadyPosted | DigestBusy | DigestFailed


class LeaseLost(Exception):
    """The attempt outlived its lease and another instance took the run over."""


def build_digest(
    session: Session, day: date, channel: str | None, as_of: datetime, *, listing: ListWriter | None = None
) -> Digest:
    """Compose the digest of `day` at `as_of`; with `listing`, the full list streams into it too."""
    history = previous_digests(session, channel, day, TREND_DAYS) if channel else []
    # The digest the change is measured against is also the one "newly stuck" is: compose_digest's own.
    previous = previous_digest(day, history)
    snapshot = stuck_snapshot(
        session, as_of, listing=listing, newly_since=previous.stuck_snapshot if previous else None,
        newly_first=ACT_TODAY_LINES,
    )
    counts = StuckCounts(snapshot.counts, escalation_ages(session, as_of))
    return compose_digest(day, as_of, counts, snapshot.longest, history, act_today(session, as_of, snapshot.newly))


def act_today(session: Session, as_of: datetime, newly_stuck: NewlyStuck | None = None) -> ActToday:
    """Escalations nobody has taken, follow-ups falling due in the next day, customers newly stuck: what a
    lead hands out."""
    untaken, untaken_total = untaken_escalations(session, limit=ACT_TODAY_LINES)
    due, due_total = follow_ups_due_by(session, as_of + timedelta(days=1), limit=ACT_TODAY_LINES)
    return ActToday(
        untaken=tuple(CaseToTake(c.customer_id, c.opened_at, c.channel, c.parent_ts) for c in untaken),
        untaken_total=untaken_total,
        follow_ups=tuple(FollowUpDue(f.customer_id, f.due_at) for f in due),
        follow_ups_total=due_total,
        newly_stuck=newly_stuck,
    )


def run_digest(context: BotContext, day: date, channel: str, *, dry_run: bool = False) -> DigestOutcome:
    """Post the digest of `day` in `channel` unless it already is; safe to call from any number of
    instances at once, and again after any crash."""
    settings = context.settings
    now = context.clock()
    as_of = judged_at(day, now, settings.digest_time, settings.digest_tz)
    if dry_run:
        with context.db.reading() as session:
            return DigestPreview(build_digest(session, day, channel, as_of))
    instance = context.outbox.instance
    with context.db.transaction() as session:
        claim(session, day, channel, now=now, by=instance)
        leased = take_lease(session, day, channel, now=now, until=now + LEASE, by=instance)
        run = get_run(session, day, channel)
    assert run is not None  # claimed above, by this call or an earlier one
    if not leased:
        return DigestAlreadyPosted(run) if run.state == DigestState.DONE else DigestBusy(run)
    try:
        return _complete(context, run, as_of, instance)
    except Exception as exc:
        reason = _reason(exc)
        log.exception("digest attempt failed: day=%s channel=%s reason=%s", day, channel, reason)
        with context.db.transaction() as session:
            release(session, run.id, by=instance, error=reason)
        return DigestFailed(run, reason)


def _complete(context: BotContext, run: DigestRun, as_of: datetime, instance: str) -> DigestPosted:
    client = context.client
    # Only an attempt that follows another may find its message already in the channel.
    interrupted = run.attempts > 1
    listing = ListWriter()
    with context.db.reading() as session:  # seconds at a million customers: never hold the write lock
        digest = build_digest(session, run.day, run.channel, as_of, listing=listing)
    outcomes = weekly_report(context, run.day, as_of)  # the outcomes weekday only, else None
    ts, recovered = run.ts, False
    if ts is None:
        ts = _find_in_channel(context, run) if interrupted else None
        recovered = ts is not None
        if ts is None:
            posted = client.chat_postMessage(
                channel=run.channel, text=digest_text(digest),
                blocks=digest_blocks(digest) + outcomes_section(outcomes),
                metadata=digest_metadata(run.day, 0), unfurl_links=False, unfurl_media=False,
            )
            ts = str(posted["ts"])
        with context.db.transaction() as session:
            counts = digest.counts.to_json()
            compared_with = digest.previous.day if digest.previous else None
            if not record_post(session, run.id, by=instance, ts=ts, now=context.clock(), as_of=as_of,
                               counts=counts, total=digest.total, compared_with=compared_with):
                raise LeaseLost(f"digest {run.day} {run.channel}")
        log.info("digest posted: day=%s channel=%s ts=%s total=%s recovered=%s", run.day, run.channel, ts,
                 digest.total, recovered)
    replies, csv = _post_list(context, run, ts, digest, listing, instance, interrupted=interrupted)
    post_weekly_chart(context, run.channel, ts, run.day, outcomes)
    with context.db.transaction() as session:
        if not finish(session, run.id, by=instance, now=context.clock()):
            raise LeaseLost(f"digest {run.day} {run.channel}")
        done = get_run(session, run.day, run.channel)
    assert done is not None
    return DigestPosted(digest, done, ts, recovered, replies, csv)


def _post_list(
    context: BotContext, run: DigestRun, ts: str, digest: Digest, listing: ListWriter, instance: str, *,
    interrupted: bool,
) -> tuple[int, bool]:
    """The full list in the digest's thread: replies within Slack's limits, or a CSV when too long."""
    if listing.count == 0:
        return 0, False
    client = context.client
    replies = list_replies(listing.customers, digest.as_of) if listing.complete else None
    present = _thread_parts(context, run, ts) if interrupted else set()
    if replies is None:
        if run.replies_posted == 0 and _CSV_PART not in present:
            client.files_upload_v2(
                channel=run.channel, thread_ts=ts, content=listing.csv_bytes(), filename=_csv_name(run),
                title=_csv_name(run), initial_comment=messages.digest_csv_comment(listing.count),
            )
        with context.db.transaction() as session:
            if not record_replies(session, run.id, by=instance, replies_posted=1):
                raise LeaseLost(f"digest {run.day} {run.channel}")
        return 1, True
    for part, blocks in enumerate(replies, start=1):
        if part <= run.replies_posted or part in present:
            continue
        client.chat_postMessage(
            channel=run.channel, thread_ts=ts, blocks=blocks, metadata=digest_metadata(run.day, part),
            text=messages.digest_list_part(part, len(replies), listing.count),
        )
        with context.db.transaction() as session:
            if not record_replies(session, run.id, by=instance, replies_posted=part):
                raise LeaseLost(f"digest {run.day} {run.channel}")
    return len(replies), False


_CSV_PART = -1


def _csv_name(run: DigestRun) -> str:
    return f"stuck-customers-{run.day.isoformat()}.csv"


def digest_metadata(day: date, part: int) -> dict[str, Any]:
    """The message metadata of a digest's post: part 0 is the channel message, 1.. the list replies."""
    return {"event_type": METADATA_TYPE, "event_payload": {"day": day.isoformat(), "part": part}}


def _ours(message: dict[str, Any], run: DigestRun) -> int | None:
    """The part number of one of this run's messages, or None for any other message."""
    metadata = message.get("metadata") or {}
    payload = metadata.get("event_payload") or {}
    if metadata.get("event_type") != METADATA_TYPE or payload.get("day") != run.day.isoformat():
        return None
    part = payload.get("part")
    return part if isinstance(part, int) else None


def _find_in_channel(context: BotContext, run: DigestRun) -> str | None:
    """The ts of the day's digest if an interrupted attempt posted it, else None."""
    try:
        history = context.client.conversations_history(
            channel=run.channel, limit=HISTORY_LOOKBACK, include_all_metadata=True
        )
    except SlackApiError as exc:
        error = str(exc.response.get("error", ""))
        if error not in _NO_HISTORY_ACCESS:
            raise
        log.warning("digest cannot read the channel to check for an interrupted post (%s); posting: "
                    "day=%s channel=%s", error, run.day, run.channel)
        return None
    for message in history.get("messages") or []:
        if _ours(message, run) == 0:
            return str(message["ts"])
    return None


def _thread_parts(context: BotContext, run: DigestRun, ts: str) -> set[int]:
    """The list parts an interrupted attempt already posted in the thread (`_CSV_PART` for the file)."""
    try:
        thread = context.client.conversations_replies(
            channel=run.channel, ts=ts, limit=HISTORY_LOOKBACK, include_all_metadata=True
        )
    except SlackApiError as exc:
        if str(exc.response.get("error", "")) not in _NO_HISTORY_ACCESS:
            raise
        return set()
    parts: set[int] = set()
    for message in (thread.get("messages") or [])[1:]:
        part = _ours(message, run)
        if part:
            parts.add(part)
        if any(f.get("name") == _csv_name(run) for f in message.get("files") or []):
            parts.add(_CSV_PART)
    return parts


def _reason(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return f"Slack error {exc.response.get('error', 'unknown')}"
    return exc.__class__.__name__


# --- the scheduler inside `serve` ------------------------------------------------------------------


class DigestScheduler:
    """Every instance runs one; each tick posts today's digest once its time has come (the database
    makes sure only one instance does). Started late, it posts at start-up, but only for today."""

    def __init__(self, context: BotContext, channel: str) -> None:
        self.context = context
        self.channel = channel
        self._finished: date | None = None
        self._retry_at: datetime | None = None

    def tick(self) -> DigestOutcome | None:
        """Check once; returns what happened, or None when nothing was due."""
        settings = self.context.settings
        now = self.context.clock()
        day = due_day(now, settings.digest_time, settings.digest_tz)
        if day is None or day == self._finished or (self._retry_at is not None and now < self._retry_at):
            return None
        outcome = run_digest(self.context, day, self.channel)
        match outcome:
            case DigestPosted() | DigestAlreadyPosted():
                self._finished, self._retry_at = day, None
            case DigestFailed():
                self._retry_at = now + RETRY_AFTER_FAILURE
            case DigestBusy() | DigestPreview():
                pass  # busy: the next tick looks again; a preview is never asked for here
            case _:
                assert_never(outcome)
        return outcome


def digest_scheduler(context: BotContext) -> DigestScheduler | None:
    """The scheduler of `serve`, when a digest channel is configured."""
    channel = context.settings.digest_channel
    if channel is None:
        log.info("no DIGEST_CHANNEL: the daily digest is off")
        return None
    return DigestScheduler(context, channel)
