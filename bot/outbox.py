"""Delivering outbox rows exactly once: claimed by INSERT, leased by a conditional UPDATE, retried later.

Every kind of side effect registers a `Delivery`: how to send one payload, how to find it on the remote side,
and what to record in the database in the same transaction that marks the row delivered.

The database cannot see past its own commit: a process killed while the remote side was storing a post, or a
call that timed out after the remote side stored it, leaves a row that looks undelivered. So every attempt
after the first reads back first (`Delivery.find`): each post carries its row's `dedupe_key` as a marker where
the service keeps one (or is matched by author, body and time where it does not); found, the row is marked
delivered with the remote id; not found, it is sent.
"""

from __future__ import annotations

import logging
import random
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, assert_never, cast

from sqlalchemy import CursorResult, select, update
from sqlalchemy.orm import Session

from models import Database
from models.claims import insert_if_absent
from models.outbox import OutboxRow, OutboxStatus

log = logging.getLogger(__name__)

# Longer than the slowest single delivery (a helpdesk call with its own retries), so a lease never
# expires while its holder is still sending.
LEASE = timedelta(minutes=5)
MAX_BACKOFF = timedelta(hours=1)


@dataclass(frozen=True)
class Delivered:
    result: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TryLater:
    reason: str
    not_before: datetime | None = None


@dataclass(frozen=True)
class GiveUp:
    reason: str


DeliveryResult = Delivered | TryLater | GiveUp


@dataclass(frozen=True)
class Attempt:
    """One try at a row: what the sender posts, the marker it attaches, and since when to look for it."""

    entry_id: int
    dedupe_key: str  # the marker a post carries, so a later attempt can find it
    payload: dict[str, Any]
    attempts: int  # this one included
    queued_at: datetime  # no earlier attempt can have posted before this

    @property
    def may_have_reached(self) -> bool:
        """An earlier attempt ran: it may have posted even though the row does not say so."""
        return self.attempts > 1


# What a read-back can say: found it (Delivered), not there (None), or cannot tell now (TryLater).
FindResult = Delivered | TryLater | None


@dataclass(frozen=True)
class Delivery:
    """How one kind of outbox row is sent, how an earlier attempt's post is found, and what success records.

    `find` is None only for effects that are idempotent on the remote side (an update of a known message).
    """

    send: Callable[[Attempt], DeliveryResult]
    find: Callable[[Attempt], FindResult] | None = None
    on_delivered: Callable[[Session, dict[str, Any], Delivered], None] | None = None
    on_given_up: Callable[[Session, dict[str, Any], GiveUp], None] | None = None


@dataclass(frozen=True)
class OutboxEntry:
    """A snapshot of one row, for telling the agent where a post stands."""

    id: int
    kind: str
    dedupe_key: str
    status: OutboxStatus
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    delivered_at: datetime | None
    result: dict[str, Any] | None
    created: bool = False  # True when this enqueue call inserted it


def default_instance_name() -> str:
    return f"{socket.gethostname()}:{threading.get_native_id()}:{random.randrange(1 << 20):05x}"[:64]


class Outbox:
    def __init__(
        self,
        db: Database,
        deliveries: Mapping[str, Delivery],
        *,
        clock: Callable[[], datetime],
        instance: str | None = None,
        lease: timedelta = LEASE,
    ) -> None:
        self.db = db
        self.deliveries = deliveries
        self.clock = clock
        self.instance = instance or default_instance_name()
        self.lease = lease
        self._stopping = threading.Event()

    def enqueue(self, session: Session, kind: str, dedupe_key: str, payload: dict[str, Any]) -> OutboxEntry:
        """Claim `dedupe_key` for this payload; a second claim of the same key returns the first row."""
        if kind not in self.deliveries:
            raise ValueError(f"no delivery registered for outbox kind {kind!r}")
        now = self.clock()
        created = insert_if_absent(
            session,
            OutboxRow.__table__,
            {"kind": kind, "dedupe_key": dedupe_key, "payload": payload, "status": OutboxStatus.PENDING, "attempts": 0,
             "created_at": now, "next_attempt_at": now},
            ["dedupe_key"],
        )
        row = session.scalars(select(OutboxRow).where(OutboxRow.dedupe_key == dedupe_key)).one()
        return _entry(row, created=created)

    def deliver(self, entry_id: int) -> OutboxEntry:
        """Try one row now (after a click); it stays queued for the worker when the service is down."""
        self._attempt(entry_id)
        with self.db.reading() as session:
            return _entry(session.get_one(OutboxRow, entry_id))

    def deliver_due(self, limit: int = 100) -> int:
        """Deliver every row whose time has come; returns how many were attempted by this instance."""
        now = self.clock()
        with self.db.reading() as session:
            due = session.scalars(
                select(OutboxRow.id)
                .where(OutboxRow.status == OutboxStatus.PENDING, OutboxRow.next_attempt_at <= now)
                .order_by(OutboxRow.next_attempt_at)
                .limit(limit)
            ).all()
        attempted = 0
        for entry_id in due:
            if self._stopping.is_set():  # shutting down: leave the rest to another instance
                break
            attempted += self._attempt(entry_id)
        return attempted

    def stop(self) -> None:
        """Start no new delivery from `deliver_due` (a click's own `deliver` still runs to its end)."""
        self._stopping.set()

    def release_leases(self) -> int:
        """Give back this instance's leases, due now, so another instance takes the work at once.

        Called at shutdown once in-flight deliveries have ended (or the grace ran out): a row released
        while its send may still be landing is read back before it is sent again (its attempts are > 0).
        """
        now = self.clock()
        with self.db.transaction() as session:
            statement = (
                update(OutboxRow)
                .where(OutboxRow.leased_by == self.instance, OutboxRow.status == OutboxStatus.PENDING)
                .values(leased_until=None, leased_by=None, next_attempt_at=now)
            )
            released = cast(CursorResult[Any], session.execute(statement)).rowcount
        if released:
            log.info("outbox leases released at shutdown: count=%s", released)
        return int(released)

    def _attempt(self, entry_id: int) -> bool:
        now = self.clock()
        with self.db.transaction() as session:
            statement = (
                update(OutboxRow)
                .where(
                    OutboxRow.id == entry_id,
                    OutboxRow.status == OutboxStatus.PENDING,
                    OutboxRow.next_attempt_at <= now,
                    (OutboxRow.leased_until.is_(None)) | (OutboxRow.leased_until < now),
                )
                .values(leased_until=now + self.lease, leased_by=self.instance, attempts=OutboxRow.attempts + 1)
            )
            if cast(CursorResult[Any], session.execute(statement)).rowcount != 1:
                return False  # another instance holds it, or it is done
            row = session.get_one(OutboxRow, entry_id)
            attempt = Attempt(entry_id, row.dedupe_key, dict(row.payload), row.attempts, row.created_at)
            kind = row.kind
        delivery = self.deliveries[kind]
        try:
            outcome = self._read_back_or_send(attempt, kind, delivery)
        except Exception as exc:  # a bug or an unexpected failure must not lose the row
            log.exception("outbox delivery raised: id=%s kind=%s", entry_id, kind)
            outcome = TryLater(f"unexpected error: {exc.__class__.__name__}")
        self._finish(entry_id, kind, attempt.payload, attempt.attempts, outcome, delivery)
        return True

    @staticmethod
    def _read_back_or_send(attempt: Attempt, kind: str, delivery: Delivery) -> DeliveryResult:
        if attempt.may_have_reached and delivery.find is not None:
            found = delivery.find(attempt)
            match found:
                case Delivered():
                    log.info("outbox found an earlier attempt's post: id=%s kind=%s attempts=%s", attempt.entry_id,
                             kind, attempt.attempts)
                    return found
                case TryLater():
                    return found  # sending blind could post twice
                case None:
                    log.info("outbox read back nothing, sending: id=%s kind=%s attempts=%s", attempt.entry_id,
                             kind, attempt.attempts)
                case _:
                    assert_never(found)
        return delivery.send(attempt)

    def _finish(
        self, entry_id: int, kind: str, payload: dict[str, Any], attempts: int, outcome: DeliveryResult,
        delivery: Delivery,
    ) -> None:
        now = self.clock()
        with self.db.transaction() as session:
            row = session.get_one(OutboxRow, entry_id)
            if row.leased_by != self.instance:
                log.warning("outbox lease lost before finishing: id=%s kind=%s", entry_id, kind)
            row.leased_until = None
            row.leased_by = None
            match outcome:
                case Delivered():
                    row.status, row.delivered_at = OutboxStatus.DELIVERED, now
                    row.result, row.last_error = outcome.result, None
                    if delivery.on_delivered:
                        delivery.on_delivered(session, payload, outcome)
                    log.info("outbox delivered: id=%s kind=%s attempts=%s", entry_id, kind, attempts)
                case GiveUp():
                    row.status, row.last_error = OutboxStatus.FAILED, outcome.reason[:2000]
                    if delivery.on_given_up:
                        delivery.on_given_up(session, payload, outcome)
                    log.warning("outbox gave up: id=%s kind=%s reason=%s", entry_id, kind, outcome.reason[:200])
                case TryLater():
                    row.last_error = outcome.reason[:2000]
                    row.next_attempt_at = max(outcome.not_before or now, now + backoff(attempts))
                    log.info("outbox will retry: id=%s kind=%s attempts=%s at=%s", entry_id, kind, attempts,
                             row.next_attempt_at.isoformat())
                case _:
                    assert_never(outcome)


def backoff(attempts: int) -> timedelta:
    """Exponential with full jitter, 30 s doubling to at most an hour."""
    ceiling = min(MAX_BACKOFF.total_seconds(), 30.0 * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=ceiling / 2 + random.random() * ceiling / 2)


def _entry(row: OutboxRow, *, created: bool = False) -> OutboxEntry:
    return OutboxEntry(
        id=row.id, kind=row.kind, dedupe_key=row.dedupe_key, status=OutboxStatus(row.status), attempts=row.attempts,
        next_attempt_at=row.next_attempt_at, last_error=row.last_error, delivered_at=row.delivered_at,
        result=dict(row.result) if row.result else None, created=created,
    )
