"""Follow-up clocks: due rows fired once each, whatever the restarts and the number of instances."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from bot.app import build_context
from bot.features.escalations.blocks import TAKE_ACTION
from bot.features.escalations.follow_ups import FollowUpWorker
from bot.features.escalations.service import schedule_follow_up
from bot.settings import Settings
from bot.workers import start_workers
from models import Database
from models.escalations import FollowUpRow, FollowUpStatus
from models.imports import import_files
from tests.escalations.conftest import CHANNEL, Escalations, poll

# C-1007 authorized on Nov 27 12:00 UTC: SCE's wait window ends Dec 4 12:00 UTC.
WINDOW_END = datetime(2026, 12, 4, 12, 0, tzinfo=UTC)


def follow_ups(cases: Escalations) -> list[FollowUpRow]:
    with cases.db.sessions() as session:
        return list(session.scalars(select(FollowUpRow).order_by(FollowUpRow.id)))


def test_escalating_a_waiting_customer_sets_the_clock_at_the_end_of_the_window(cases: Escalations) -> None:
    parent = cases.escalate("C-1007")
    [clock] = follow_ups(cases)
    assert (clock.customer_id, clock.due_at, clock.status, clock.agent) == (
        "C-1007", WINDOW_END, FollowUpStatus.PENDING, "U0AGENT")
    assert "I'll check again on" in cases.thread(parent)[0]
    cases.check("C-1007")  # a second check of the same window sets no second clock
    cases.wait_thread(parent, 2)
    assert len(follow_ups(cases)) == 1


def test_a_follow_up_fires_exactly_once_across_a_restart(cases: Escalations) -> None:
    parent = cases.escalate("C-1007")
    first = cases.instances[0]
    assert FollowUpWorker(first.context).run_once() == 0  # not due yet: the window is still open

    cases.stop(first)  # the instance goes away; the clock runs on while nobody is serving
    cases.clock.advance(timedelta(days=5))
    restarted = cases.start()
    workers = start_workers(restarted.context)  # what `serve` starts: overdue follow-ups fire at once
    try:
        replies = cases.wait_thread(parent, 2)
    finally:
        for worker in workers:
            worker.stop()
    assert replies[1].startswith(":alarm_clock: Follow-up: the wait window ended")
    assert "Escalate" not in replies[1] and "Re-authorize" in replies[1]  # rule 8 now: a week, no data

    assert FollowUpWorker(restarted.context).run_once() == 0
    cases.stop(restarted)
    again = cases.start()  # and a second restart
    assert FollowUpWorker(again.context).run_once() == 0
    cases.drain()
    assert len(cases.thread(parent)) == 2
    [clock] = follow_ups(cases)
    assert clock.status == FollowUpStatus.FIRED and clock.fired_at is not None


def test_two_instances_racing_fire_each_follow_up_once(cases: Escalations, db: Database) -> None:
    escalated = ["C-1003", "C-1005", "C-1009"]
    parents = {customer: cases.escalate(customer) for customer in escalated}
    due = cases.clock() + timedelta(days=1)
    dm_only = ["C-1001", "C-1002", "C-1006"]
    with cases.db.transaction() as session:
        for customer in escalated + dm_only:
            assert schedule_follow_up(session, customer, due, agent=f"U0{customer[2:]}")
            assert not schedule_follow_up(session, customer, due, agent="U0SOMEONE")  # one clock per due time
    cases.clock.advance(timedelta(days=2))

    # A second instance: its own engine on the same database, its own outbox, the same Slack.
    url = db.url.render_as_string(hide_password=False)
    other_db = Database(url)
    other = build_context(Settings(escalation_channel=CHANNEL), cases.context.client, db=other_db, clock=cases.clock)
    workers = [FollowUpWorker(cases.context), FollowUpWorker(other)]
    barrier = threading.Barrier(2)
    fired: list[int] = []

    def race(worker: FollowUpWorker) -> None:
        barrier.wait()
        fired.append(sum(worker.run_once() for _ in range(3)))

    try:
        threads = [threading.Thread(target=race, args=(w,)) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        other_db.dispose()
    assert sum(fired) == 6
    cases.drain()

    for customer, parent in parents.items():
        follow_up = [r for r in cases.thread(parent) if r.startswith(":alarm_clock: Follow-up")]
        assert len(follow_up) == 1, (customer, cases.thread(parent))
    dms = [call.args for call in cases.slack.calls_to("chat.postMessage") if call.args["channel"].startswith("D")]
    assert sorted(dm["text"].split()[3] for dm in dms) == dm_only  # "... Follow-up on C-1001 (..."
    assert {call.args["users"] for call in cases.slack.calls_to("conversations.open")} == {"U01001", "U01002",
                                                                                         "U01006"}
    assert all(row.status == FollowUpStatus.FIRED for row in follow_ups(cases))


def test_steps_sent_then_wait_gets_the_checking_agent_a_dm_when_the_window_ends(
    cases: Escalations, tmp_path: Path
) -> None:
    path = tmp_path / "procedures.csv"
    path.write_text("customer_id,sent_at,ticket_id,agent\nC-1007,2026-11-20T17:00:00Z,4600,U0AGENT2\n")
    import_files(cases.db, [path])
    cases.check("C-1007", user="U0CAROL")  # WAIT, steps already sent, no open case
    poll(lambda: len(follow_ups(cases)) == 1, "the follow-up clock")
    [clock] = follow_ups(cases)
    assert (clock.due_at, clock.agent, clock.escalation_id) == (WINDOW_END, "U0CAROL", None)

    cases.clock.advance(timedelta(days=4, hours=1))
    assert FollowUpWorker(cases.context).run_once() == 1
    [opened] = cases.slack.calls_to("conversations.open")
    assert opened.args["users"] == "U0CAROL"
    [dm] = cases.slack.messages(cases.slack.dm_channel("U0CAROL"))
    assert dm["text"].startswith(":alarm_clock: Follow-up on C-1007 (SCE)")
    assert "@example.com" not in dm["text"]
    assert cases.slack.messages(CHANNEL) == []


def test_a_follow_up_mentions_whoever_took_the_case(cases: Escalations) -> None:
    parent = cases.escalate("C-1007")
    cases.click(TAKE_ACTION, parent, "U0BOB")
    cases.wait_thread(parent, 2)  # the clock is set; Bob took it
    cases.clock.advance(timedelta(days=5))
    assert FollowUpWorker(cases.instances[0].context).run_once() == 1
    replies = cases.wait_thread(parent, 3)
    assert replies[2].startswith(":alarm_clock: <@U0BOB>: Follow-up: the wait window ended")
