"""The app's clock in tests: moved by the test instead of waiting; thread-safe, the app reads it from its workers."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.now

    def set(self, now: datetime) -> None:
        with self._lock:
            self.now = now

    def advance(self, span: timedelta | None = None, **parts: float) -> None:
        """Move forward by `span`, or by timedelta keyword parts (`advance(hours=2)`)."""
        with self._lock:
            self.now += (span or timedelta()) + timedelta(**parts)
