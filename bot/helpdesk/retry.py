"""The one retry policy every helpdesk client uses.

Retried: 429, 5xx, connection timeouts and refused connections. A post that was sent and not answered
(read timeout, dropped connection) is not repeated here, since the helpdesk may have stored it: the outbox
reads back before it sends again; a read (``idempotent``) is. Everything else is the caller's to interpret.
The server's own instruction (``Retry-After``, ``X-RateLimit-Reset``) wins over backoff; an instruction
longer than ``max_delay`` is handed back as ``RetryLater.not_before`` instead of blocking
the caller (an agent is waiting, or an outbox worker has other rows to post).
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx

from bot.helpdesk.types import RetryLater

log = logging.getLogger(__name__)

# Intercom sends X-RateLimit-Reset as a UNIX timestamp; a small number can only be a delta in
# seconds (as some other APIs send it), so treat it as one rather than as a date in 1970.
_EPOCH_THRESHOLD = 1_000_000_000


def is_retryable_status(status: int) -> bool:
    """429 and every 5xx are worth another attempt; other statuses will not change by retrying."""
    return status == 429 or 500 <= status <= 599


@dataclass(frozen=True)
class RetryPolicy:
    """How many attempts, and how long to wait between them.

    Args:
        attempts: total attempts, the first one included.
        base_delay: backoff base in seconds; attempt n waits up to ``base_delay * 2**(n-1)``.
        max_delay: the longest single wait; a server asking for longer ends the attempts.
        sleep, clock, rng: injectable so tests record delays instead of waiting.
    """

    attempts: int = 4
    base_delay: float = 0.5
    max_delay: float = 30.0
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.time
    rng: Callable[[], float] = random.random

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("RetryPolicy.attempts must be at least 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("RetryPolicy delays must not be negative")

    def backoff(self, attempt: int) -> float:
        """Exponential backoff with full jitter for the wait after failed ``attempt`` (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return self.rng() * ceiling

    def server_delay(self, headers: Mapping[str, str]) -> float | None:
        """Seconds the server asked us to wait, or None when it gave no (readable) instruction."""
        retry_after = _header(headers, "retry-after")
        if retry_after is not None:
            seconds = self._parse_retry_after(retry_after)
            if seconds is not None:
                return seconds
        reset = _header(headers, "x-ratelimit-reset")
        if reset is not None:
            try:
                value = float(reset)
            except ValueError:
                return None
            if value >= _EPOCH_THRESHOLD:
                return max(0.0, value - self.clock())
            return max(0.0, value)
        return None

    def _parse_retry_after(self, value: str) -> float | None:
        try:
            return max(0.0, float(value))
        except ValueError:
            pass
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            return None
        return max(0.0, when.timestamp() - self.clock())

    def run(
        self,
        send: Callable[[], httpx.Response],
        *,
        helpdesk: str,
        ticket_id: str,
        also_retry: Mapping[int, str] | None = None,
        idempotent: bool = False,
    ) -> httpx.Response | RetryLater:
        """Call ``send`` until it gives a non-retryable response or the attempts run out.

        Returns the first response that is not 429/5xx (success or a 4xx for the caller to judge),
        or ``RetryLater`` once the attempts are spent or the server asks for more than ``max_delay``.
        ``also_retry`` maps the statuses a helpdesk documents as worth retrying besides those (Zendesk's
        409 on colliding updates) to what to tell the agent when the attempts run out.
        """
        also_retry = also_retry or {}
        for attempt in range(1, self.attempts + 1):
            asked: float | None = None
            try:
                response = send()
            except (httpx.ConnectTimeout, httpx.ConnectError, httpx.PoolTimeout) as error:
                # Nothing reached the helpdesk: another attempt cannot post twice.
                reason = (f"{helpdesk} did not answer in time" if isinstance(error, httpx.TimeoutException)
                          else f"could not reach {helpdesk} ({type(error).__name__})")
                status = "timeout" if isinstance(error, httpx.TimeoutException) else "unreachable"
            except httpx.TransportError as error:
                # Sent, then no answer (a read timeout, a dropped connection): the helpdesk may have stored
                # the note. A post is not repeated here; the outbox looks for it before sending again.
                reason = (f"{helpdesk} did not answer in time" if isinstance(error, httpx.TimeoutException)
                          else f"the connection to {helpdesk} dropped ({type(error).__name__})")
                status = "timeout" if isinstance(error, httpx.TimeoutException) else "dropped"
                if not idempotent:
                    log.warning("helpdesk=%s ticket=%s attempt=%d status=%s: may have landed, not repeated here",
                                helpdesk, ticket_id, attempt, status)
                    return RetryLater(reason=reason, not_before=None)
            else:
                if not is_retryable_status(response.status_code) and response.status_code not in also_retry:
                    log.info(
                        "helpdesk=%s ticket=%s attempt=%d status=%d",
                        helpdesk, ticket_id, attempt, response.status_code,
                    )
                    return response
                status = str(response.status_code)
                if response.status_code in also_retry:
                    reason = also_retry[response.status_code]
                elif response.status_code == 429:
                    reason = f"{helpdesk} is rate limiting the bot (HTTP 429)"
                else:
                    reason = f"{helpdesk} had a server error (HTTP {response.status_code})"
                asked = self.server_delay(response.headers)

            not_before = None if asked is None else self.clock() + asked
            if attempt == self.attempts:
                log.warning(
                    "helpdesk=%s ticket=%s attempt=%d status=%s giving up after %d attempts",
                    helpdesk, ticket_id, attempt, status, self.attempts,
                )
                return RetryLater(reason=reason, not_before=not_before)
            if asked is not None and asked > self.max_delay:
                log.warning(
                    "helpdesk=%s ticket=%s attempt=%d status=%s server asks to wait %.1fs: deferring",
                    helpdesk, ticket_id, attempt, status, asked,
                )
                return RetryLater(reason=reason, not_before=not_before)
            delay = min(self.max_delay, asked if asked is not None else self.backoff(attempt))
            log.info(
                "helpdesk=%s ticket=%s attempt=%d status=%s retrying in %.2fs",
                helpdesk, ticket_id, attempt, status, delay,
            )
            self.sleep(delay)
        raise AssertionError("unreachable: the last attempt always returns")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    # httpx.Headers is case-insensitive; plain dicts (tests, stand-ins) may not be.
    value = headers.get(name)
    if value is None:
        for key, candidate in headers.items():
            if key.lower() == name:
                return candidate.strip()
        return None
    return value.strip()
