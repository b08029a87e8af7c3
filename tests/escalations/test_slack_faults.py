"""Slack's limits and outages: a 429 is waited out, an outage queues the posts, and nothing is posted twice."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.features.escalations.blocks import TAKE_ACTION
from bot.features.escalations.service import case_event, post_now
from models.escalations import EscalationRow
from models.outbox import OutboxRow, OutboxStatus
from tests.escalations.conftest import CHANNEL, Escalations


def outbox_rows(cases: Escalations) -> list[OutboxRow]:
    with cases.db.sessions() as session:
        return list(session.scalars(select(OutboxRow).order_by(OutboxRow.id)))


def test_a_429_from_slack_is_retried_after_retry_after_and_posts_once(sqlite_cases: Escalations) -> None:
    cases = sqlite_cases
    view = cases.click_escalate(cases.check("C-1008"))
    cases.slack.fail_next("chat.postMessage", status=429, retry_after=0)
    cases.submit(view)
    cases.quiet()
    [refused] = [c for c in cases.slack.rejected_calls if c.method == "chat.postMessage"]
    assert (refused.status, refused.error) == (429, "ratelimited")
    [parent] = cases.parents()  # the client's RateLimitErrorRetryHandler posted it on its second try
    assert [r.status for r in outbox_rows(cases)] == [OutboxStatus.DELIVERED]
    [row] = outbox_rows(cases)
    assert row.attempts == 1 and row.result == {"channel": CHANNEL, "ts": parent["ts"]}


def test_429s_beyond_the_clients_retries_are_retried_by_the_outbox_and_nothing_is_lost(
    sqlite_cases: Escalations,
) -> None:
    cases = sqlite_cases
    view = cases.click_escalate(cases.check("C-1008"))
    cases.slack.fail_next("chat.postMessage", status=429, retry_after=0, times=4)  # the client retries 3 times
    cases.submit(view)
    cases.quiet()
    assert cases.parents() == []
    [row] = outbox_rows(cases)
    assert row.status == OutboxStatus.PENDING and "ratelimited" in (row.last_error or "")
    cases.drain()
    [parent] = cases.parents()
    with cases.db.sessions() as session:
        assert session.scalars(select(EscalationRow.parent_ts)).one() == parent["ts"]
    assert len([c for c in cases.slack.rejected_calls if c.error == "ratelimited"]) == 4


def test_while_slack_is_down_everything_is_queued_then_posted_once_in_order(
    sqlite_cases: Escalations, tmp_path: Path
) -> None:
    cases = sqlite_cases
    view = cases.click_escalate(cases.check("C-1008"))
    cases.slack.set_unavailable()
    submitted = cases.submit(view, user="U0ALICE")
    assert submitted.json()["response_action"] == "update"  # the agent is told it is recorded
    cases.quiet()
    with cases.db.transaction() as session:
        first = case_event(session, cases.context, "C-1008", "Steps posted to ticket 4302", key="steps-4302")
        second = case_event(session, cases.context, "C-1008", "Customer replied: revoked everything")
    post_now(cases.context, [first, second])
    cases.context.outbox.deliver_due()
    assert cases.slack.messages(CHANNEL) == []
    assert all(row.status == OutboxStatus.PENDING for row in outbox_rows(cases))

    cases.slack.set_unavailable(False)
    cases.drain()
    [parent] = cases.parents()
    assert cases.thread(parent) == ["Steps posted to ticket 4302", "Customer replied: revoked everything"]
    cases.click(TAKE_ACTION, parent, "U0BOB")
    cases.wait_thread(parent, 3)
    cases.drain()
    cases.context.outbox.deliver_due()  # a second pass finds nothing left to post

    assert len(cases.parents()) == 1 and len(cases.thread(parent)) == 3
    assert all(row.status == OutboxStatus.DELIVERED for row in outbox_rows(cases))
    with cases.db.transaction() as session:  # the same event again: queued once
        again = case_event(session, cases.context, "C-1008", "Steps posted to ticket 4302", key="steps-4302")
    assert again is not None and again.status == OutboxStatus.DELIVERED
    cases.drain()
    assert len(cases.thread(parent)) == 3
