"""The follow-up clock: a worker in every instance fires due follow-ups; a conditional UPDATE picks who fires.

Follow-ups are rows (`models.escalations.FollowUpRow`), so they survive restarts; the first pass runs at
start-up, so what fell due while no instance was running fires then.
"""

from __future__ import annotations

import logging

from bot.context import BotContext
from bot.features.escalations.service import fire_follow_up
from models import escalations as store

log = logging.getLogger(__name__)


class FollowUpWorker:
    """Fires due follow-ups; `serve` runs a pass every minute (bot.workers)."""

    def __init__(self, context: BotContext) -> None:
        self.context = context

    def run_once(self, limit: int = 100) -> int:
        """Fire every follow-up due now that no other instance fired first; returns how many this one fired."""
        with self.context.db.reading() as session:
            due = store.due_follow_ups(session, self.context.clock(), limit)
        fired = 0
        for follow_up_id in due:
            try:
                fired += fire_follow_up(self.context, follow_up_id)
            except Exception:  # one broken case must not stop the others; it stays pending and is retried
                log.exception("follow-up %s failed; it stays due", follow_up_id)
        return fired
