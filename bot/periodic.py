"""One daemon thread per background job of `serve`: run a pass now, then every `interval` seconds."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger(__name__)


class Periodic:
    """Runs `task` at start (so work that fell due while no instance ran is done at once) and then every
    `interval` seconds; a failing pass is logged and the next one runs on time."""

    def __init__(self, name: str, task: Callable[[], object], interval: float) -> None:
        self.name = name
        self.task = task
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> Periodic:
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def request_stop(self) -> None:
        """No pass after the current one; returns at once (`stop` then waits for it)."""
        self._stop.set()

    def running(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.task()
            except Exception:
                log.exception("%s pass failed; trying again in %ss", self.name, self.interval)
            self._stop.wait(self.interval)
