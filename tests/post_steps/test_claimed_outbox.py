"""`Outbox.claim`: the INSERT that claims a row also leases it, so a click sends without a lease transaction.

What that must not change: a process lost between the claim's commit and the send leaves a row that is
delivered once, by the worker, after the lease runs out, and read back first in case the send had gone out.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.outbox import Attempt, Delivered, Delivery, FindResult, Outbox
from models import Database
from models.outbox import OutboxStatus
from tests.clock import Clock

KIND = "helpdesk_note"
START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class Remote:
    """A remote side that keeps what it was sent, and can be asked for an earlier attempt's post."""

    def __init__(self) -> None:
        self.posts: list[str] = []
        self.looked_for: list[int] = []  # the attempt numbers that read back

    def send(self, attempt: Attempt) -> Delivered:
        self.posts.append(attempt.dedupe_key)
        return Delivered({"id": len(self.posts)})

    def find(self, attempt: Attempt) -> FindResult:
        self.looked_for.append(attempt.attempts)
        return Delivered({"id": self.posts.index(attempt.dedupe_key) + 1}) if attempt.dedupe_key in self.posts else None


def outbox(db: Database, remote: Remote, clock: Clock, instance: str) -> Outbox:
    return Outbox(db, {KIND: Delivery(send=remote.send, find=remote.find)}, clock=clock, instance=instance)


def test_a_claim_is_leased_and_sent_by_its_claimer_alone(db: Database) -> None:
    remote, clock = Remote(), Clock(START)
    first, second = outbox(db, remote, clock, "first"), outbox(db, remote, clock, "second")
    with db.transaction() as session:
        entry = first.claim(session, KIND, "steps|C-1|1", {"body": "x"})
    with db.transaction() as session:
        again = second.claim(session, KIND, "steps|C-1|1", {"body": "x"})
    assert entry.created and entry.attempts == 1 and not again.created and again.id == entry.id
    assert second.deliver_due() == 0  # leased by the first instance: not another's to send
    finished = first.deliver_claimed(entry, {"body": "x"})
    assert finished.status is OutboxStatus.DELIVERED and finished.result == {"id": 1}
    assert remote.posts == ["steps|C-1|1"] and remote.looked_for == []


def test_a_claimer_lost_before_sending_leaves_a_row_the_worker_sends_once_after_the_lease(db: Database) -> None:
    remote, clock = Remote(), Clock(START)
    lost = outbox(db, remote, clock, "lost")
    with db.transaction() as session:
        lost.claim(session, KIND, "steps|C-2|1", {"body": "x"})
    worker = outbox(db, remote, clock, "worker")
    assert worker.deliver_due() == 0  # the lease still holds
    clock.advance(lost.lease + timedelta(seconds=1))
    assert worker.deliver_due() == 1
    assert remote.posts == ["steps|C-2|1"] and remote.looked_for == [2]  # read back first: nothing there, sent


def test_a_claimer_lost_after_sending_is_found_on_the_remote_side_not_sent_again(db: Database) -> None:
    remote, clock = Remote(), Clock(START)
    lost = outbox(db, remote, clock, "lost")
    with db.transaction() as session:
        entry = lost.claim(session, KIND, "steps|C-3|1", {"body": "x"})
    remote.send(Attempt(entry.id, entry.dedupe_key, {"body": "x"}, 1, entry.created_at))  # landed, then the crash
    clock.advance(lost.lease + timedelta(seconds=1))
    worker = outbox(db, remote, clock, "worker")
    assert worker.deliver_due() == 1
    assert remote.posts == ["steps|C-3|1"] and remote.looked_for == [2]
    assert worker.deliver(entry.id).status is OutboxStatus.DELIVERED  # as it stands: nothing left to send
