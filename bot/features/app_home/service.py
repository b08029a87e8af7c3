"""The bot's Home tab: the agent's cases and follow-ups, the digest's counts live, the last digest's time.

Slack retries an event it thinks was not received, so each `app_home_opened` is claimed by its
event_id (INSERT into `slack_events`) before anything is published; a failed publish gives the claim
back, so a retry can still do it.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import datetime, timedelta

from slack_sdk.models.views import View
from sqlalchemy import delete
from sqlalchemy.orm import Session

from bot.context import BotContext
from bot.features.app_home.blocks import home_view
from bot.features.outcomes.blocks import with_outcomes
from bot.features.outcomes.service import home_report
from commands.digest import StuckCounts
from commands.outcomes import OutcomesReport
from models.app_home import cases_taken_by
from models.claims import insert_if_absent
from models.digest.queries import stuck_counts
from models.digest.runs import last_posted_at
from models.escalations import follow_ups_due_by
from models.slack_events import SlackEventRow

log = logging.getLogger(__name__)

# Counting takes about a second at a million customers: agents opening the tab together share one count.
COUNTS_TTL_SECONDS = 60.0


class AppHome:
    """Publishes Home tabs for one instance, sharing a short-lived count between agents."""

    def __init__(self, context: BotContext, ttl_seconds: float = COUNTS_TTL_SECONDS) -> None:
        self.context = context
        self.ttl_seconds = ttl_seconds
        self._lock = threading.Lock()
        self._counts: tuple[float, StuckCounts] | None = None
        self._outcomes: tuple[float, OutcomesReport] | None = None

    def publish(self, user_id: str, event_id: str) -> bool:
        """Publish `user_id`'s Home tab for one event; False when this event was already handled."""
        context = self.context
        now = context.clock()
        with context.db.transaction() as session:
            claimed = insert_if_absent(
                session, SlackEventRow.__table__, {"event_id": event_id, "received_at": now}, ["event_id"]
            )
        if not claimed:
            log.info("app_home_opened already handled: event_id=%s", event_id)
            return False
        try:
            context.client.views_publish(user_id=user_id, view=self.view(user_id, now))
        except Exception:
            with context.db.transaction() as session:
                session.execute(delete(SlackEventRow).where(SlackEventRow.event_id == event_id))
            raise
        return True

    def view(self, user_id: str, now: datetime) -> View:
        with self.context.db.reading() as session:
            counts = self._cached_counts(session, now)
            own = cases_taken_by(session, user_id)
            due, _ = follow_ups_due_by(session, now + timedelta(days=1), agent=user_id)
            last = last_posted_at(session, self.context.settings.digest_channel)
        return with_outcomes(home_view(counts, own, last, now, follow_ups=due,
                                       help_article_url=self.context.settings.help_article_url),
                             self._cached_outcomes(now))


    def _cached_outcomes(self, now: datetime) -> OutcomesReport:
        """The last four weeks' outcomes, shared like the counts (they change once a day at most)."""
        with self._lock:
            if self._outcomes is not None and time.monotonic() - self._outcomes[0] < self.ttl_seconds:
                return self._outcomes[1]
        with self.context.db.reading() as session:
            report = home_report(session, now, self.context.settings.digest_tz)
        with self._lock:
            self._outcomes = (time.monotonic(), report)
        return report

    def _cached_counts(self, session: Session, now: datetime) -> StuckCounts:
        with self._lock:
            if self._counts is not None and time.monotonic() - self._counts[0] < self.ttl_seconds:
                return self._counts[1]
            counts = stuck_counts(session, now)
            self._counts = (time.monotonic(), counts)
            return counts
