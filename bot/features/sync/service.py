"""The Green Button sync use case: per configured utility, read the custodian's complete Authorization feed,
map it to customers, and apply it in one transaction; then tell open escalation threads what changed.

One instance at a time per utility, through the database (`models.sync.claim_run`): inside `serve` every
instance ticks, and the one that claims a due utility syncs it; from cron (`reauth-bot sync greenbutton`)
a run is not held back by the interval, only by another run in progress.
"""

from __future__ import annotations

import logging
import os
import socket
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from bot.context import BotContext
from bot.features.escalations.service import case_authorizations, post_now, tell_cases_about_import
from bot.features.sync.custodian import CustodianClient, FetchFailed
from commands.imports import ImportFailed
from commands.sync import FeedEntry, MalformedEntry, entries_of, map_entries
from models.sync import apply_feed, claim_run, finish_run, subscription_customers

log = logging.getLogger(__name__)

# How long a sync may hold its utility before another instance may take over (a crashed instance's lease
# runs out): far longer than reading a feed takes.
LEASE = timedelta(minutes=15)
# How often each instance of `serve` asks whether a sync is due; the interval itself is SYNC_INTERVAL.
TICK_SECONDS = 60.0


class Outcome(StrEnum):
    SYNCED = "synced"
    BUSY = "busy"  # another instance holds this utility's sync, or synced it within the interval
    FAILED = "failed"


@dataclass(frozen=True)
class SyncReport:
    utility: str
    outcome: Outcome
    new: int = 0
    changed: int = 0
    revoked: int = 0
    skipped: int = 0
    problem: str = ""
    thread_updates: int = 0


ClientFactory = Callable[[str], CustodianClient]


def sync_utility(context: BotContext, utility: str, *, due_check: bool = False,
                 client: ClientFactory | None = None) -> SyncReport:
    """Sync one utility now (or, with `due_check`, only if no sync started within SYNC_INTERVAL)."""
    holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"[:64]
    now = context.clock()
    due_before = now - timedelta(seconds=context.settings.sync_interval) if due_check else None
    with context.db.transaction() as session:
        if not claim_run(session, utility, holder, now, lease=LEASE, due_before=due_before):
            return SyncReport(utility, Outcome.BUSY)
    try:
        report = _sync_claimed(context, utility, (client or _client(context))(utility))
    except Exception as exc:  # the lease is given back whatever happened; the next tick tries again
        report = SyncReport(utility, Outcome.FAILED, problem=f"{exc.__class__.__name__}")
        log.exception("green button sync of %s failed", utility)
    with context.db.transaction() as session:
        finish_run(session, utility, holder, context.clock(), _summary(report))
    return report


def _client(context: BotContext) -> ClientFactory:
    return lambda utility: CustodianClient(utility, context.settings.custodians[utility])


def _sync_claimed(context: BotContext, utility: str, custodian: CustodianClient) -> SyncReport:
    with custodian:
        try:
            pages = custodian.fetch()
        except FetchFailed as exc:
            log.warning("green button sync of %s: %s", utility, exc)
            return SyncReport(utility, Outcome.FAILED, problem=str(exc))
    entries: list[FeedEntry] = []
    malformed = 0
    for entry in entries_of(pages):
        if isinstance(entry, MalformedEntry):
            malformed += 1
            # The position and what is wrong only: an entry's URIs name a customer's subscription.
            log.warning("green button sync of %s: entry %d skipped: %s", utility, entry.position, entry.problem)
        else:
            entries.append(entry)
    before = case_authorizations(context.db)
    now = context.clock()
    try:
        with context.db.transaction() as session:
            mapped = map_entries(utility, entries, subscription_customers(session))
            applied = apply_feed(session, utility, mapped, now)
    except ImportFailed as exc:
        log.warning("green button sync of %s: nothing applied: %s", utility, exc.errors[:1])
        return SyncReport(utility, Outcome.FAILED, problem="the feed's rows did not pass the import checks")
    updates = tell_cases_about_import(context, before)
    if updates and context.settings.slack_bot_token:
        post_now(context, updates)
    report = SyncReport(utility, Outcome.SYNCED, applied.new, applied.changed, applied.revoked,
                        malformed + mapped.unmapped, thread_updates=len(updates))
    log.info("green button sync of %s: new=%d changed=%d revoked=%d skipped=%d (malformed=%d unmapped=%d)",
             utility, report.new, report.changed, report.revoked, report.skipped, malformed, mapped.unmapped)
    return report


def _summary(report: SyncReport) -> str:
    if report.outcome is Outcome.SYNCED:
        return (f"synced: new {report.new}, changed {report.changed}, revoked {report.revoked}, "
                f"skipped {report.skipped}")
    return f"{report.outcome}: {report.problem}"


def sync_all(context: BotContext, utilities: Sequence[str] | None = None, *, due_check: bool = False,
             client: ClientFactory | None = None) -> list[SyncReport]:
    """Sync each configured utility (or those named), one after the other."""
    return [sync_utility(context, utility, due_check=due_check, client=client)
            for utility in (utilities or sorted(context.settings.custodians))]


def sync_scheduler(context: BotContext) -> Callable[[], object] | None:
    """serve's periodic job: every instance ticks; the database lets one sync each utility per interval."""
    if not context.settings.custodians:
        return None
    return lambda: sync_all(context, due_check=True)


