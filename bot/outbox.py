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

from sqlalchemy import CursorResult, Row, Table, bindparam, select, update
from sqlalchemy.orm import Session

from models import Database
from models.claims import insert_returning
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
    created_at: datetime
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
        return self._insert(session, kind, dedupe_key, payload, leased=False)

    def claim(self, session: Session, kind: str, dedupe_key: str, payload: dict[str, Any]) -> OutboxEntry:
        """`enqueue`, with the row leased to this instance by the INSERT itself when it creates it: once the
        caller's transaction commits, `deliver_claimed` sends it, without a transaction to take the lease.

        Nothing is lost in between: a process that dies before sending leaves a leased row counting one
        attempt, which the worker takes once the lease runs out, reading back before it sends.
        """
        return self._insert(session, kind, dedupe_key, payload, leased=True)

    def _insert(self, session: Session, kind: str, dedupe_key: str, payload: dict[str, Any], *,
                leased: bool) -> OutboxEntry:
        if kind not in self.deliveries:
            raise ValueError(f"no delivery registered for outbox kind {kind!r}")
        now = self.clock()
        values: dict[str, Any] = {"kind": kind, "dedupe_key": dedupe_key, "payload": payload,
                                  "status": OutboxStatus.PENDING, "attempts": 0, "created_at": now,
                                  "next_attempt_at": now}
        if leased:
            values |= {"attempts": 1, "leased_until": now + self.lease, "leased_by": self.instance}
        inserted = insert_returning(session, cast(Table, OutboxRow.__table__), values, ["dedupe_key"], [_outbox.id])
        if inserted is not None:  # this call's row, as just written: nothing to read back
            return OutboxEntry(id=inserted.id, kind=kind, dedupe_key=dedupe_key, status=OutboxStatus.PENDING,
                               attempts=values["attempts"], next_attempt_at=now, last_error=None, delivered_at=None,
                               result=None, created_at=now, created=True)
        row = session.scalars(select(OutboxRow).where(OutboxRow.dedupe_key == dedupe_key)).one()
        return _entry(row)

    def deliver(self, entry_id: int) -> OutboxEntry:
        """Try one row now (after a click); it stays queued for the worker when the service is down."""
        finished = self._attempt(entry_id)
        if finished is not None:
            return finished
        with self.db.reading() as session:  # another instance holds it, or it is done: as it stands now
            return _entry(session.get_one(OutboxRow, entry_id))

    def deliver_claimed(
        self, entry: OutboxEntry, payload: dict[str, Any], then: Callable[[Session], None] | None = None
    ) -> OutboxEntry:
        """Send a row this instance created with `claim` (its transaction committed); the row as it ends.

        `then` runs inside the transaction that records the outcome, after the delivery's own records:
        a caller that reads what the delivery wrote (the agent's refreshed answer) needs no transaction
        of its own.
        """
        if not entry.created or entry.attempts != 1:
            raise ValueError("deliver_claimed takes the entry its own claim() just created")
        attempt = Attempt(entry.id, entry.dedupe_key, payload, entry.attempts, entry.created_at)
        return self._send_and_finish(attempt, entry.kind, then)

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
            attempted += self._attempt(entry_id) is not None
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

    def _attempt(self, entry_id: int) -> OutboxEntry | None:
        """Lease the row and deliver it; the row as it ends, None when it was not this instance's to try."""
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
                return None  # another instance holds it, or it is done
            row = session.get_one(OutboxRow, entry_id)
            attempt = Attempt(entry_id, row.dedupe_key, dict(row.payload), row.attempts, row.created_at)
            kind = row.kind
        return self._send_and_finish(attempt, kind)

    def _send_and_finish(
        self, attempt: Attempt, kind: str, then: Callable[[Session], None] | None = None
    ) -> OutboxEntry:
        delivery = self.deliveries[kind]
        try:
            outcome = self._read_back_or_send(attempt, kind, delivery)
        except Exception as exc:  # a bug or an unexpected failure must not lose the row
            log.exception("outbox delivery raised: id=%s kind=%s", attempt.entry_id, kind)
            outcome = TryLater(f"unexpected error: {exc.__class__.__name__}")
        return self._finish(attempt, kind, outcome, delivery, then)

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
        self, attempt: Attempt, kind: str, outcome: DeliveryResult, delivery: Delivery,
        then: Callable[[Session], None] | None,
    ) -> OutboxEntry:
        now = self.clock()
        entry_id, payload, attempts = attempt.entry_id, attempt.payload, attempt.attempts
        values: dict[str, Any] = {"leased_until": None, "leased_by": None}
        match outcome:
            case Delivered():
                values |= {"status": OutboxStatus.DELIVERED, "delivered_at": now, "result": outcome.result,
                           "last_error": None}
            case GiveUp():
                values |= {"status": OutboxStatus.FAILED, "last_error": outcome.reason[:2000]}
            case TryLater():
                values |= {"last_error": outcome.reason[:2000],
                           "next_attempt_at": max(outcome.not_before or now, now + backoff(attempts))}
            case _:
                assert_never(outcome)
        with self.db.transaction() as session:
            # One UPDATE that gives the row back, not a read then a write: the lease is checked in the same
            # statement, and only a lease lost (a send slower than the lease) costs a second one.
            row = session.execute(_FINISH_HELD, {"entry_id": entry_id, "holder": self.instance, **values}).first()
            if row is None:
                log.warning("outbox lease lost before finishing: id=%s kind=%s", entry_id, kind)
                row = session.execute(_FINISH, {"entry_id": entry_id, **values}).one()
            match outcome:
                case Delivered():
                    if delivery.on_delivered:
                        delivery.on_delivered(session, payload, outcome)
                    log.info("outbox delivered: id=%s kind=%s attempts=%s", entry_id, kind, attempts)
                case GiveUp():
                    if delivery.on_given_up:
                        delivery.on_given_up(session, payload, outcome)
                    log.warning("outbox gave up: id=%s kind=%s reason=%s", entry_id, kind, outcome.reason[:200])
                case TryLater():
                    log.info("outbox will retry: id=%s kind=%s attempts=%s at=%s", entry_id, kind, attempts,
                             row.next_attempt_at.isoformat())
                case _:
                    assert_never(outcome)
            if then is not None:
                then(session)
        return _entry(row)


def backoff(attempts: int) -> timedelta:
    """Exponential with full jitter, 30 s doubling to at most an hour."""
    ceiling = min(MAX_BACKOFF.total_seconds(), 30.0 * 2 ** max(attempts - 1, 0))
    return timedelta(seconds=ceiling / 2 + random.random() * ceiling / 2)


_outbox = cast(Table, OutboxRow.__table__).c
_ENTRY_COLUMNS = (_outbox.id, _outbox.kind, _outbox.dedupe_key, _outbox.status, _outbox.attempts,
                  _outbox.next_attempt_at, _outbox.last_error, _outbox.delivered_at, _outbox.result, _outbox.created_at)
# Built once: the columns set are the execution's parameters (which differ by outcome), the row comes back.
_FINISH = update(cast(Table, OutboxRow.__table__)).where(_outbox.id == bindparam("entry_id")).returning(*_ENTRY_COLUMNS)
_FINISH_HELD = _FINISH.where(_outbox.leased_by == bindparam("holder"))


def _entry(row: OutboxRow | Row[Any], *, created: bool = False) -> OutboxEntry:
    return OutboxEntry(
        id=row.id, kind=row.kind, dedupe_key=row.dedupe_key, status=OutboxStatus(row.status), attempts=row.attempts,
        next_attempt_at=row.next_attempt_at, last_error=row.last_error, delivered_at=row.delivered_at,
        result=dict(row.result) if row.result else None, created_at=row.created_at, created=created,
    )
