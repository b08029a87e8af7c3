"""One digest per day and channel: racing instances, crashes at every step, Slack failing, retriggers."""

from __future__ import annotations

import threading
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select

from bot.context import BotContext
from bot.features.digest.service import (
    LEASE,
    DigestAlreadyPosted,
    DigestBusy,
    DigestFailed,
    DigestOutcome,
    DigestPosted,
    DigestScheduler,
    digest_metadata,
    run_digest,
)
from bot.standins.slack_api import SlackStandIn
from models import Database
from models.digest.runs import DigestRow, DigestState, claim, get_run, record_post, take_lease
from models.digest.snapshots import DigestStuckRow
from tests.clock import Clock
from tests.digest.conftest import (
    CHANNEL,
    DAY,
    NOW,
    Customers,
    make_context,
    top_level,
    url_of,
)


def race(contexts: list[BotContext]) -> list[DigestOutcome | None]:
    """Every instance's scheduler ticks at the same instant, each in its own thread."""
    schedulers = [DigestScheduler(c, CHANNEL) for c in contexts]
    outcomes: list[DigestOutcome | None] = [None] * len(schedulers)
    errors: list[BaseException] = []
    start = threading.Barrier(len(schedulers))

    def tick(n: int) -> None:
        try:
            start.wait(timeout=10)
            outcomes[n] = schedulers[n].tick()
        except BaseException as exc:  # surfaced below: a thread's failure must fail the test
            errors.append(exc)

    threads = [threading.Thread(target=tick, args=(n,)) for n in range(len(schedulers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return outcomes


def rows(db: Database) -> list[DigestRow]:
    with db.sessions() as session:
        return list(session.scalars(select(DigestRow).order_by(DigestRow.day)))


def test_three_instances_racing_the_trigger_post_one_digest(
    db: Database, slack: SlackStandIn, clock: Clock, customers: Customers
) -> None:
    for n in range(12):
        customers.stuck(f"C-{n:03d}", days=10 + n)
    # Three instances: each its own engine on the same SQLite file or PostgreSQL database.
    databases = [Database(url_of(db)) for _ in range(3)]
    try:
        instances = [make_context(d, slack, clock) for d in databases]
        for day in range(4):  # a few days, so the race is run more than once
            clock.set(NOW + timedelta(days=day))
            outcomes = race(instances)
            posted = [o for o in outcomes if isinstance(o, DigestPosted)]
            assert len(posted) == 1, outcomes
            assert all(isinstance(o, DigestPosted | DigestBusy | DigestAlreadyPosted) for o in outcomes), outcomes
            # The losers try again on their next tick and find it done.
            assert all(isinstance(o, DigestAlreadyPosted) for o in (race(instances)))
    finally:
        for database in databases:
            database.dispose()

    messages = top_level(slack)
    assert len(messages) == 4
    assert len([c for c in slack.calls_to("chat.postMessage") if not c.args.get("thread_ts")]) == 4
    assert [r.state for r in rows(db)] == [DigestState.DONE] * 4
    assert [r.ts for r in rows(db)] == [m["ts"] for m in messages]
    for message in messages:
        assert len(slack.thread(CHANNEL, message["ts"])) == 1  # the full list, once
    # One snapshot of who was stuck per posted run (a second INSERT would break its primary key); the older
    # ones pruned as the days went by.
    with db.sessions() as session:
        recorded = session.execute(
            select(DigestRow.day, func.count(DigestStuckRow.customer_id))
            .join(DigestStuckRow, DigestStuckRow.digest_id == DigestRow.id)
            .where(DigestRow.stuck_recorded.is_(True))
            .group_by(DigestRow.day).order_by(DigestRow.day)
        ).all()
    assert recorded == [(DAY + timedelta(days=2), 12), (DAY + timedelta(days=3), 12)]
    # Every day after the first compared with the day before: nobody new, so no "newly stuck" part.
    assert [("newly stuck" in str(m["blocks"])) for m in messages] == [False] * 4


def test_a_crash_between_claim_and_post_is_finished_once_by_the_next_trigger(
    db: Database, slack: SlackStandIn, clock: Clock, customers: Customers
) -> None:
    customers.stuck("C-001")
    # What an instance that died right after claiming leaves behind: the claim and its lease, no post.
    with db.transaction() as session:
        assert claim(session, DAY, CHANNEL, now=NOW, by="crashed-instance")
        assert take_lease(session, DAY, CHANNEL, now=NOW, until=NOW + LEASE, by="crashed-instance")
    survivor = make_context(db, slack, clock)

    # While the dead instance's lease runs, nobody posts (it might still be alive and posting).
    assert isinstance(run_digest(survivor, DAY, CHANNEL), DigestBusy)
    assert top_level(slack) == []

    clock.advance(LEASE + timedelta(seconds=1))
    outcome = run_digest(survivor, DAY, CHANNEL)

    assert isinstance(outcome, DigestPosted) and not outcome.recovered
    assert len(top_level(slack)) == 1
    assert outcome.run.state == DigestState.DONE and outcome.run.attempts == 2
    # Neither skipped nor doubled afterwards.
    assert isinstance(run_digest(survivor, DAY, CHANNEL), DigestAlreadyPosted)
    clock.advance(LEASE * 3)
    assert isinstance(run_digest(make_context(db, slack, clock), DAY, CHANNEL), DigestAlreadyPosted)
    assert len(top_level(slack)) == 1
    # The channel was searched for a post of the dead attempt before posting.
    assert len(slack.calls_to("conversations.history")) == 1


def test_a_crash_after_slack_accepted_the_post_adopts_that_message(
    db: Database, slack: SlackStandIn, clock: Clock, customers: Customers
) -> None:
    customers.stuck("C-001")
    customers.stuck("C-002")
    with db.transaction() as session:
        claim(session, DAY, CHANNEL, now=NOW, by="crashed-instance")
        take_lease(session, DAY, CHANNEL, now=NOW, until=NOW + LEASE, by="crashed-instance")
    # The dead instance's chat.postMessage went through; it died before recording the ts.
    crashed = make_context(db, slack, clock)
    lost = crashed.client.chat_postMessage(channel=CHANNEL, text="digest", metadata=digest_metadata(DAY, 0))
    crashed.client.chat_postMessage(channel=CHANNEL, text="someone talks in the channel")

    clock.advance(LEASE + timedelta(seconds=1))
    outcome = run_digest(make_context(db, slack, clock), DAY, CHANNEL)

    assert isinstance(outcome, DigestPosted) and outcome.recovered
    assert outcome.ts == lost["ts"] == outcome.run.ts
    digests = [m for m in top_level(slack) if m["text"] == "digest"]
    assert len(top_level(slack)) == 2 and len(digests) == 1
    # The thread (the full list) was still missing, and is completed once.
    assert len(slack.thread(CHANNEL, lost["ts"])) == 1


def test_a_crash_in_the_middle_of_the_list_posts_only_the_missing_replies(
    db: Database, slack: SlackStandIn, clock: Clock, customers: Customers
) -> None:
    for n in range(330):  # a list of several replies
        customers.stuck(f"C-{n:04d}", days=8 + n % 300)
    first = make_context(db, slack, clock)
    complete = run_digest(first, DAY, CHANNEL)
    assert isinstance(complete, DigestPosted) and complete.list_replies >= 3
    expected_parts = complete.list_replies
    # Replay the same day on a fresh channel as a dead instance would have left it: the message and the
    # first list reply are in Slack, only the message's ts reached the database.
    other = "C0DIGEST2"
    with db.transaction() as session:
        claim(session, DAY, other, now=NOW, by="crashed-instance")
        take_lease(session, DAY, other, now=NOW, until=NOW + LEASE, by="crashed-instance")
        run = get_run(session, DAY, other)
        assert run is not None
    parent = first.client.chat_postMessage(channel=other, text="digest", metadata=digest_metadata(DAY, 0))
    with db.transaction() as session:
        record_post(session, run.id, by="crashed-instance", ts=parent["ts"], now=NOW, as_of=NOW,
                    counts={"reasons": {}}, total=330, compared_with=None)
    first.client.chat_postMessage(channel=other, thread_ts=parent["ts"], text="part 1",
                                  metadata=digest_metadata(DAY, 1))

    clock.advance(LEASE + timedelta(seconds=1))
    outcome = run_digest(make_context(db, slack, clock), DAY, other)

    assert isinstance(outcome, DigestPosted) and outcome.ts == parent["ts"]
    thread = slack.thread(other, parent["ts"])
    assert len(thread) == expected_parts
    assert len(top_level(slack, other)) == 1
    assert next(m["text"] for m in thread) == "part 1"


def test_slack_failing_leaves_the_digest_to_the_next_trigger(
    db: Database, slack: SlackStandIn, clock: Clock, customers: Customers
) -> None:
    customers.stuck("C-001")
    context = make_context(db, slack, clock)
    scheduler = DigestScheduler(context, CHANNEL)
    slack.fail_next("chat.postMessage", status=503)

    failed = scheduler.tick()

    assert isinstance(failed, DigestFailed) and "service_unavailable" in failed.reason
    assert top_level(slack) == []
    assert rows(db)[0].leased_by is None and rows(db)[0].state == DigestState.POSTING
    # The scheduler waits before trying again rather than hammering Slack every tick.
    clock.advance(timedelta(minutes=1))
    assert scheduler.tick() is None
    clock.advance(timedelta(minutes=5))
    assert isinstance(scheduler.tick(), DigestPosted)
    assert len(top_level(slack)) == 1
    assert scheduler.tick() is None


def test_without_history_access_an_interrupted_post_is_posted_rather_than_lost(
    db: Database, slack: SlackStandIn, clock: Clock, customers: Customers
) -> None:
    customers.stuck("C-001")
    with db.transaction() as session:
        claim(session, DAY, CHANNEL, now=NOW, by="crashed-instance")
        take_lease(session, DAY, CHANNEL, now=NOW, until=NOW + LEASE, by="crashed-instance")
    slack.fail_next("conversations.history", status=200, error="missing_scope")
    clock.advance(LEASE + timedelta(seconds=1))

    outcome = run_digest(make_context(db, slack, clock), DAY, CHANNEL)

    assert isinstance(outcome, DigestPosted) and not outcome.recovered
    assert len(top_level(slack)) == 1


def test_the_digest_records_counts_and_total_for_the_next_one(
    db: Database, slack: SlackStandIn, clock: Clock, customers: Customers
) -> None:
    customers.stuck("C-001")
    customers.stuck("C-002")
    context = make_context(db, slack, clock)
    first = run_digest(context, DAY, CHANNEL)
    customers.stuck("C-003")
    clock.advance(timedelta(days=1))
    second = run_digest(context, DAY + timedelta(days=1), CHANNEL)

    assert isinstance(first, DigestPosted) and isinstance(second, DigestPosted)
    assert [r.total for r in rows(db)] == [2, 3]
    assert rows(db)[0].counts == first.digest.counts.to_json()
    assert second.digest.total_change == 1
    assert [t.total for t in second.digest.trend][-2:] == [2, 3]
    text = _texts(slack.message(CHANNEL, second.ts))
    assert "*3 stuck, +1 since Monday · 1 newly stuck*" in text


def _texts(message: dict[str, Any]) -> str:
    return "\n".join(str(b.get("text", {}).get("text", "")) for b in message["blocks"] or [])
