"""Each helpdesk misbehaving: what is retried, what is queued for later, and what the agent is told."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from bot import messages
from bot.helpdesk import HELPDESK_KINDS
from bot.standins.helpdesk import HelpdeskStandIn, IntercomStandIn
from bot.standins.server import poll
from models import Database
from models.outbox import OutboxStatus
from tests.clock import Clock
from tests.post_steps.conftest import (
    BACKOFF_AFTER_FIRST,
    NOW,
    TICKET,
    add_customer,
    assert_requests_follow_the_contract,
    check,
    posts,
    procedures,
    running_bot,
    send_to_customer,
    standin_for,
)


@pytest.fixture(params=HELPDESK_KINDS)
def standin(request: pytest.FixtureRequest, sqlite_db: Database) -> Iterator[HelpdeskStandIn]:
    add_customer(sqlite_db, "C-3001")
    with standin_for(request.param) as running:
        yield running


def outcome_of(answer: dict[str, object]) -> str:
    blocks = answer["blocks"]
    assert isinstance(blocks, list)
    text = blocks[0]["text"]["text"]
    assert isinstance(text, str)
    return text


def post_once(sqlite_db: Database, standin: HelpdeskStandIn, clock: Clock | None = None,
              **options: object) -> tuple[str, list[float]]:
    with running_bot(sqlite_db, standin, clock or Clock(NOW), **options) as rig:  # type: ignore[arg-type]
        answer = check(rig.bot, f"C-3001 {TICKET}")
        return outcome_of(send_to_customer(rig.bot, answer)), rig.sleeps


def test_a_429_with_the_helpdesks_header_waits_as_asked(sqlite_db: Database, standin: HelpdeskStandIn) -> None:
    if isinstance(standin, IntercomStandIn):
        # Intercom: the UNIX time the window resets. Far enough ahead that a loaded machine (the app starts,
        # checks and clicks between here and the retry) still leaves most of it to wait.
        standin.fail_next(429, headers={"X-RateLimit-Reset": str(int(time.time()) + 20)})
    else:
        standin.fail_next(429, headers={"Retry-After": "3"})
    outcome, sleeps = post_once(sqlite_db, standin)
    assert outcome.startswith(":white_check_mark: Sent to the customer")
    assert len(standin.notes(TICKET)) == 1 and len(standin.requests) == 2
    [slept] = sleeps
    if isinstance(standin, IntercomStandIn):
        assert 10.0 < slept <= 20.0
    else:
        assert slept == 3.0
    assert_requests_follow_the_contract(standin)


def test_a_429_without_a_header_backs_off(sqlite_db: Database, standin: HelpdeskStandIn) -> None:
    standin.fail_next(429)
    outcome, sleeps = post_once(sqlite_db, standin)
    assert outcome.startswith(":white_check_mark: Sent to the customer")
    assert sleeps == [BACKOFF_AFTER_FIRST]
    assert len(standin.notes(TICKET)) == 1


def test_a_zendesk_409_then_success_gives_one_note(sqlite_db: Database) -> None:
    # Two updates of one ticket collided (another agent, a trigger): Zendesk asks for the update again.
    add_customer(sqlite_db, "C-3001")
    with standin_for("zendesk") as standin:
        standin.fail_next(409)
        outcome, sleeps = post_once(sqlite_db, standin)
        assert outcome.startswith(":white_check_mark: Sent to the customer")
        assert sleeps == [BACKOFF_AFTER_FIRST] and len(standin.requests) == 2
        assert len(standin.notes(TICKET)) == 1
    assert [row.status for row in posts(sqlite_db)] == [OutboxStatus.DELIVERED]
    assert len(procedures(sqlite_db, "C-3001")) == 1


def test_a_server_error_is_retried(sqlite_db: Database, standin: HelpdeskStandIn) -> None:
    standin.fail_next(500, times=2)
    outcome, sleeps = post_once(sqlite_db, standin)
    assert outcome.startswith(":white_check_mark: Sent to the customer")
    assert sleeps == [BACKOFF_AFTER_FIRST, 2 * BACKOFF_AFTER_FIRST]  # exponential
    assert len(standin.notes(TICKET)) == 1 and len(standin.requests) == 3
    assert len(procedures(sqlite_db, "C-3001")) == 1


def test_a_timeout_after_the_helpdesk_stored_the_reply_gives_one_reply(
    sqlite_db: Database, standin: HelpdeskStandIn
) -> None:
    clock = Clock(NOW)
    standin.delay_next(1.0)  # answers after the client gave up, and stores the note all the same
    with running_bot(sqlite_db, standin, clock, timeout=0.3) as rig:
        answer = check(rig.bot, f"C-3001 {TICKET}")
        outcome = outcome_of(send_to_customer(rig.bot, answer))
        # Not repeated at once: the helpdesk may have it.
        assert outcome.startswith(":hourglass_flowing_sand: Not posted yet") and "did not answer in time" in outcome
        assert rig.sleeps == [] and len(standin.posts()) == 1
        notes, stored = poll(lambda: standin.notes(TICKET), lambda found: len(found) == 1, 10)
        assert stored, "the slow helpdesk never stored the note"
        clock.advance(hours=2)
        assert rig.context.outbox.deliver_due() == 1
    # The next attempt read the ticket back, found the note and sent nothing.
    assert len(standin.notes(TICKET)) == 1 and len(standin.posts()) == 1 and len(standin.reads()) >= 1
    [row] = posts(sqlite_db)
    assert row.status == OutboxStatus.DELIVERED and row.result is not None
    assert row.result["external_id"] == str(notes[0].id)
    assert len(procedures(sqlite_db, "C-3001")) == 1
    assert_requests_follow_the_contract(standin)


def test_a_post_the_helpdesk_never_stored_is_sent_once_after_the_read_back(
    sqlite_db: Database, standin: HelpdeskStandIn
) -> None:
    clock = Clock(NOW)
    standin.fail_next(500, times=4)  # every attempt of the click's delivery fails: nothing is stored
    with running_bot(sqlite_db, standin, clock) as rig:
        answer = check(rig.bot, f"C-3001 {TICKET}")
        assert outcome_of(send_to_customer(rig.bot, answer)).startswith(":hourglass_flowing_sand:")
        clock.advance(hours=2)
        assert rig.context.outbox.deliver_due() == 1
    assert len(standin.notes(TICKET)) == 1 and len(standin.posts()) == 5 and len(standin.reads()) == 1
    assert [row.status for row in posts(sqlite_db)] == [OutboxStatus.DELIVERED]
    assert len(procedures(sqlite_db, "C-3001")) == 1


def test_a_refused_connection_is_queued_then_delivered(sqlite_db: Database, standin: HelpdeskStandIn) -> None:
    clock = Clock(NOW)
    standin.stop()  # nothing listens on its port: every connection is refused
    with running_bot(sqlite_db, standin, clock) as rig:
        answer = check(rig.bot, f"C-3001 {TICKET}")
        outcome = outcome_of(send_to_customer(rig.bot, answer))
        assert outcome.startswith(":hourglass_flowing_sand: Not posted yet")
        assert "could not reach" in outcome and "will be delivered automatically" in outcome
        assert len(rig.sleeps) == 3  # four attempts
        [row] = posts(sqlite_db)
        assert row.status == OutboxStatus.PENDING and row.attempts == 1
        assert procedures(sqlite_db, "C-3001") == []

        standin.start()
        assert rig.context.outbox.deliver_due() == 0  # not due yet: the outbox backs off too
        clock.advance(hours=2)
        assert rig.context.outbox.deliver_due() == 1
    # The second attempt looked for the first one's note (none: the connection was refused), then posted.
    assert len(standin.notes(TICKET)) == 1 and len(standin.posts()) == 1 and len(standin.reads()) == 1
    assert [row.status for row in posts(sqlite_db)] == [OutboxStatus.DELIVERED]
    assert procedures(sqlite_db, "C-3001")[0].sent_at == clock.now  # when it landed, not when clicked


def test_a_401_is_not_retried_nor_queued(sqlite_db: Database, standin: HelpdeskStandIn) -> None:
    clock = Clock(NOW)
    outcome, sleeps = post_once(sqlite_db, standin, clock, wrong_credentials=True)
    assert outcome.startswith(":x: Not posted")
    assert "did not accept the bot's credentials (HTTP 401)" in outcome
    assert "Check the bot's helpdesk credentials" in outcome and "Nothing was queued" in outcome
    assert sleeps == [] and len(standin.requests) == 1
    assert [row.status for row in posts(sqlite_db)] == [OutboxStatus.FAILED]

    # Nothing comes back later; once the credentials are fixed, the same button posts.
    with running_bot(sqlite_db, standin, clock) as rig:
        clock.advance(hours=2)
        assert rig.context.outbox.deliver_due() == 0
        assert len(standin.requests) == 1
        answer = check(rig.bot, f"C-3001 {TICKET}")
        assert outcome_of(send_to_customer(rig.bot, answer)).startswith(":white_check_mark: Sent to the customer")
    assert len(standin.notes(TICKET)) == 1
    assert [row.status for row in posts(sqlite_db)] == [OutboxStatus.FAILED, OutboxStatus.DELIVERED]


def test_a_404_names_the_ticket_to_check(sqlite_db: Database, standin: HelpdeskStandIn) -> None:
    with running_bot(sqlite_db, standin, Clock(NOW)) as rig:
        answer = check(rig.bot, "C-3001 999")
        outcome = outcome_of(send_to_customer(rig.bot, answer))
    assert outcome.startswith(":x: Not posted")
    assert "has no ticket 999 (HTTP 404)" in outcome or "has no conversation 999 (HTTP 404)" in outcome
    assert "Check the ticket number" in outcome
    assert len(standin.requests) == 1 and [row.status for row in posts(sqlite_db)] == [OutboxStatus.FAILED]
    assert procedures(sqlite_db, "C-3001") == []


@pytest.mark.parametrize(("status", "words"), [(403, "does not let the bot's account post"), (422, "refused the note")])
def test_other_refusals_are_not_retried_nor_queued(sqlite_db: Database, status: int, words: str) -> None:
    add_customer(sqlite_db, "C-3001")
    with standin_for("zendesk") as standin:
        standin.fail_next(status)
        outcome, sleeps = post_once(sqlite_db, standin)
    assert outcome.startswith(":x: Not posted") and f"(HTTP {status})" in outcome and words in outcome
    assert "Check" in outcome and "Nothing was queued" in outcome
    assert sleeps == [] and len(standin.requests) == 1
    assert [row.status for row in posts(sqlite_db)] == [OutboxStatus.FAILED]


def test_a_ticket_word_that_is_no_ticket_is_refused_before_any_button(sqlite_db: Database) -> None:
    # One ticket grammar: the check refuses `INC-77` with the sentence every ticket field uses, in the ack.
    add_customer(sqlite_db, "C-3001")
    with standin_for("zendesk") as standin, running_bot(sqlite_db, standin, Clock(NOW)) as rig:
        acked = rig.bot.slash("C-3001 INC-77")
    assert acked.status == 200
    assert messages.NOT_A_TICKET in acked.body
    assert standin.requests == [] and posts(sqlite_db) == []

