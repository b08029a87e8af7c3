"""One click, one comment: double clicks, many agents, restarts and several instances, on both databases."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

from bot.app import build_context
from bot.features.post_steps.blocks import CANCEL_ACTION, POST_AGAIN_ACTION, POST_NOTE_ACTION
from bot.helpdesk import RetryPolicy
from models import Database
from models.outbox import OutboxStatus
from tests.clock import Clock
from tests.post_steps.conftest import (
    NOW,
    TICKET,
    add_customer,
    check,
    click,
    helpdesk_settings,
    posts,
    procedures,
    running_bot,
    send_click,
    send_to_customer,
    standin_for,
    text_of,
)


def test_twenty_concurrent_clicks_give_one_comment(db: Database) -> None:
    add_customer(db, "C-4001")
    with standin_for("zendesk") as standin, running_bot(db, standin, Clock(NOW)) as rig:
        answer = check(rig.bot, f"C-4001 {TICKET}")
        # Twenty agents (or one agent's double clicks and Slack's retries) on the same button at once.
        with ThreadPoolExecutor(max_workers=20) as pool:
            keys = list(pool.map(lambda n: send_click(rig.bot, answer, POST_NOTE_ACTION, user=f"U0AGENT{n:02d}"),
                                 range(20)))
        answers = [rig.bot.slack.wait_for_responses(key, 1, 60)[0] for key in keys]

    assert len(standin.notes(TICKET)) == 1
    assert len(standin.requests) == 1
    assert [row.status for row in posts(db)] == [OutboxStatus.DELIVERED]
    assert procedures(db, "C-4001") == []  # an internal note is not steps sent
    agent = posts(db)[0].payload["agent"]
    outcomes = [text_of(a) for a in answers]
    assert sum("Added to Zendesk" in o for o in outcomes) == 1
    # Every other click says it was already posted (or waiting for it), and by whom.
    assert all("already" in o for o in outcomes if "Added to Zendesk" not in o)
    assert all(f"<@{agent}>" in o for o in outcomes)


def test_an_outage_longer_than_the_retries_ends_in_one_comment_after_a_restart(db: Database) -> None:
    add_customer(db, "C-4002")
    clock = Clock(NOW)
    with standin_for("intercom") as standin:
        standin.set_down(True)
        with running_bot(db, standin, clock) as first:
            answer = check(first.bot, f"C-4002 {TICKET}")
            queued = text_of(send_to_customer(first.bot, answer))
            assert "Not posted yet" in queued and "server error (HTTP 503)" in queued
            assert "will be delivered automatically" in queued
        assert len(standin.requests) == 4 and standin.notes(TICKET) == []
        # The bot stopped with the post in the outbox; the helpdesk recovers; a new instance starts.
        standin.set_down(False)
        with running_bot(db, standin, clock) as second:
            assert second.context.outbox.deliver_due() == 0  # its time has not come
            clock.advance(hours=1)
            assert second.context.outbox.deliver_due() == 1
            clock.advance(hours=1)
            assert second.context.outbox.deliver_due() == 0
            after = check(second.bot, "C-4002")

    # 4 posts refused, then the look for an earlier attempt's note (none), then the post that landed.
    assert len(standin.notes(TICKET)) == 1 and len(standin.posts()) == 5 and len(standin.reads()) == 1
    assert [row.status for row in posts(db)] == [OutboxStatus.DELIVERED]
    assert len(procedures(db, "C-4002")) == 1
    assert "steps sent once" in text_of(after)


def test_several_instances_never_deliver_one_post_twice(db: Database) -> None:
    add_customer(db, "C-4003")
    clock = Clock(NOW)
    with standin_for("freshdesk") as standin:
        standin.set_down(True)
        with running_bot(db, standin, clock) as rig:
            send_to_customer(rig.bot, check(rig.bot, f"C-4003 {TICKET}"))
        standin.set_down(False)
        clock.advance(hours=1)
        instances = [
            build_context(helpdesk_settings(standin), db=db, clock=clock,
                          retry_policy=RetryPolicy(sleep=lambda _s: None))
            for _ in range(4)
        ]
        start = threading.Barrier(len(instances))

        def run_worker(n: int) -> int:
            start.wait()
            return instances[n].outbox.deliver_due()

        with ThreadPoolExecutor(max_workers=len(instances)) as pool:
            attempted = list(pool.map(run_worker, range(len(instances))))
        for context in instances:
            assert context.helpdesk is not None
            context.helpdesk.close()

    assert sum(attempted) == 1
    assert len(standin.notes(TICKET)) == 1
    assert len(procedures(db, "C-4003")) == 1


def test_the_guardrail_asks_before_posting_again_and_says_when_and_by_whom(db: Database) -> None:
    add_customer(db, "C-4004")
    clock = Clock(NOW)
    with standin_for("zendesk") as standin, running_bot(db, standin, clock) as rig:
        send_to_customer(rig.bot, check(rig.bot, f"C-4004 {TICKET}", user="U0ALICE"), user="U0ALICE")
        clock.advance(days=2)

        # Two days later another agent checks the same customer and clicks again.
        answer = check(rig.bot, f"C-4004 {TICKET}", user="U0BOB")
        warning = send_to_customer(rig.bot, answer, user="U0BOB")
        text = text_of(warning)
        assert "Steps already went to this customer in the last 7 days" in text
        assert "by <@U0ALICE> on ticket 4521" in text and "Mon Nov 30, 2026 17:00 UTC" in text
        assert "delays the utility's check further" in text
        assert len(standin.notes(TICKET)) == 1  # nothing posted without confirmation

        cancelled = click(rig.bot, warning, CANCEL_ACTION, user="U0BOB")
        assert "Not sent." in text_of(cancelled)
        assert len(standin.notes(TICKET)) == 1

        # Confirmed, with a double click on "Post again": one more comment, not two.
        warning = send_to_customer(rig.bot, check(rig.bot, f"C-4004 {TICKET}", user="U0BOB"), user="U0BOB")
        with ThreadPoolExecutor(max_workers=2) as pool:
            keys = list(pool.map(lambda _n: send_click(rig.bot, warning, POST_AGAIN_ACTION, user="U0BOB"), range(2)))
        confirmed = [text_of(rig.bot.slack.wait_for_responses(key, 1, 30)[0]) for key in keys]

    assert len(standin.notes(TICKET)) == 2
    assert sum("Sent to the customer" in c for c in confirmed) == 1
    assert [(p.agent, p.sent_at) for p in procedures(db, "C-4004")] == [
        ("U0ALICE", NOW), ("U0BOB", NOW + timedelta(days=2)),
    ]


def test_steps_already_sent_long_ago_need_no_confirmation(db: Database) -> None:
    add_customer(db, "C-4005", procedures_days_ago=(8,))  # outside the 7-day wait window
    with standin_for("zendesk") as standin, running_bot(db, standin, Clock(NOW)) as rig:
        done = send_to_customer(rig.bot, check(rig.bot, f"C-4005 {TICKET}"))
    assert "Sent to the customer" in text_of(done)
    assert len(standin.notes(TICKET)) == 1


def test_a_post_still_queued_for_another_ticket_also_asks_first(db: Database) -> None:
    add_customer(db, "C-4006")
    with standin_for("zendesk", tickets=(TICKET, "4600")) as standin, running_bot(db, standin, Clock(NOW)) as rig:
        standin.set_down(True)
        send_to_customer(rig.bot, check(rig.bot, f"C-4006 {TICKET}", user="U0ALICE"), user="U0ALICE")
        standin.set_down(False)
        warning = send_to_customer(rig.bot, check(rig.bot, "C-4006 4600", user="U0BOB"), user="U0BOB")
    text = text_of(warning)
    assert "by <@U0ALICE> on ticket 4521 (queued, not delivered yet)" in text
    assert standin.notes("4600") == [] and [row.status for row in posts(db)] == [OutboxStatus.PENDING]
