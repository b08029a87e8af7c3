"""The follow-up clock: a worker in every instance fires due follow-ups; a conditional UPDATE picks who fires.

Follow-ups are rows (`models.escalations.FollowUpRow`), so they survive restarts; the first pass runs at
start-up, so what fell due while no instance was running fires then.
"""

from __future__ import annotations

import logging
import threading

from bot.context import BotContext
from bot.escalations import fire_follow_up
from models import escalations as store

log = logging.getLogger("reauth_bot.follow_ups")


class FollowUpWorker:
    """A daemon thread in `serve` that fires due follow-ups every `interval` seconds."""

    def __init__(self, context: BotContext, interval: float = 60.0) -> None:
        self.context = context
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="follow-up-worker", daemon=True)

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

    def start(self) -> FollowUpWorker:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("follow-up pass failed; trying again in %ss", self.interval)
            self._stop.wait(self.interval)
