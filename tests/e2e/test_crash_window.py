"""The crash window: `serve` is killed (SIGKILL) after the remote side stored a post and before it answered.

The restarted `serve` finds the lease run out, reads the remote side back, finds the post and marks it
delivered with the remote id: one note, one reply, one parent, one thread reply, one DM, never two.
One helpdesk keeps a marker (Zendesk's audit metadata), one is matched by words and time (Freshdesk).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from slack_sdk import WebClient

from bot.app import build_context
from bot.context import utc_now
from bot.features.escalations.posts import METADATA_TYPE, PARENT, REPLY
from bot.features.escalations.service import escalate, schedule_follow_up
from bot.features.post_steps.blocks import POST_NOTE_ACTION, POST_REPLY_ACTION
from bot.features.post_steps.service import OUTBOX_KIND
from bot.settings import Settings
from bot.standins.helpdesk import FreshdeskStandIn, HelpdeskStandIn, ZendeskStandIn
from bot.standins.slack_api import SlackStandIn
from commands.check import Query, QueryKind
from commands.escalations import EscalationForm
from models.outbox import OutboxStatus
from tests.e2e.processes import (
    CHANNEL,
    click_post,
    database,
    env_for,
    outbox_rows,
    restart_after_the_lease,
    serving,
    wait_until,
)
from tests.post_steps.conftest import TICKET, add_customer


@pytest.mark.parametrize(("standin_class", "action_id"), [(ZendeskStandIn, POST_NOTE_ACTION),
                                                          (FreshdeskStandIn, POST_REPLY_ACTION)],
                         ids=["zendesk-note", "freshdesk-customer-reply"])
def test_a_post_stored_while_serve_was_killed_is_found_not_posted_again(
    slack: SlackStandIn, tmp_path: Path, standin_class: type[HelpdeskStandIn], action_id: str
) -> None:
    db = database(tmp_path)
    add_customer(db, "C-7001", now=utc_now())
    with standin_class(tickets=[TICKET]) as helpdesk:
        env = env_for(tmp_path, slack, helpdesk)
        helpdesk.hold_next_after_storing()
        with serving(env, tmp_path) as first:
            click_post(first, slack, "C-7001", action_id, "first")
            wait_until(helpdesk.holding, lambda held: held == 1, "the helpdesk to store the post and hold its answer")
            first.kill()
        helpdesk.release_held()
        [row] = [r for r in outbox_rows(db) if r.kind == OUTBOX_KIND]
        assert row.status == OutboxStatus.PENDING and row.leased_by is not None  # the dead process's lease

        second = restart_after_the_lease(db, env, tmp_path)
        try:
            # Its start-up outbox pass reads the ticket back and finds the post.
            delivered = wait_until(lambda: outbox_rows(db)[0], lambda r: r.status == OutboxStatus.DELIVERED,
                                   "the restarted serve to mark the post delivered")
            # The agent's view: a new click on the same button says the steps went, and sends nothing.
            click_post(second, slack, "C-7001", action_id, "again")
            again = slack.wait_for_responses("again-click", 1, timeout=30)[0]
        finally:
            second.stop_quietly()
        [note] = helpdesk.notes(TICKET)
        assert len(helpdesk.posts()) == 1 and helpdesk.reads()
        assert note.public is (action_id == POST_REPLY_ACTION)
        assert delivered.result is not None and delivered.result["external_id"] == str(note.id)
        if action_id == POST_REPLY_ACTION:
            # The procedure the recovered reply recorded: the steps went, by this agent, on this ticket.
            assert "Steps already went to this customer" in again["text"]
            assert f"by <@U0AGENT> on ticket {TICKET}" in json.dumps(again)
        else:  # a note is no procedure, but the recovered one is known: the agent is told it is there
            assert "These steps were already added to" in again["text"]


def test_slack_posts_stored_while_serve_was_killed_are_found_not_posted_again(
    slack: SlackStandIn, tmp_path: Path
) -> None:
    db = database(tmp_path)
    now = utc_now()
    add_customer(db, "C-7101", now=now, granted_days_ago=(2,))  # WAIT: escalating sets a follow-up reply
    add_customer(db, "C-7102", now=now)
    env = env_for(tmp_path, slack)
    context = build_context(Settings.from_env(env), WebClient(token=slack.token, base_url=slack.api_url), db=db)
    form = EscalationForm(customer=Query(QueryKind.IDENTIFIER, "C-7101"), reason="Re-authorized twice, still no data",
                          ticket=None, note=None)
    escalate(context, "C-7101", form, "U0AGENT")  # queued: the parent and a reply in its thread

    # 1. The parent lands; serve dies before hearing so.
    slack.hold_next_after_storing("chat.postMessage")
    with serving(env, tmp_path) as first:
        wait_until(slack.holding, lambda held: held == 1, "Slack to store the parent and hold its answer")
        first.kill()
    slack.release_held()
    with db.transaction() as session:  # a follow-up due now, for a customer without a case: a DM
        schedule_follow_up(session, "C-7102", now - timedelta(minutes=1), agent="U0OTHER", at=now)
    # 2. Restarted: the parent is found in the channel; the thread reply and the DM land; serve dies again.
    slack.hold_next_after_storing("chat.postMessage", times=2)
    second = restart_after_the_lease(db, env, tmp_path)
    try:
        wait_until(slack.holding, lambda held: held == 2, "Slack to store the reply and the DM and hold both")
        second.kill()
    finally:
        second.stop_quietly()
    slack.release_held()
    # 3. Restarted: both are found (the thread, the DM channel) and marked delivered.
    third = restart_after_the_lease(db, env, tmp_path)
    try:
        rows = wait_until(lambda: outbox_rows(db), lambda found: all(r.status == OutboxStatus.DELIVERED for r in found),
                          "every post to be marked delivered")
    finally:
        third.stop_quietly()

    [parent] = [m for m in slack.messages(CHANNEL) if m["thread_ts"] is None]
    [reply] = [m for m in slack.thread(CHANNEL, parent["ts"]) if m["ts"] != parent["ts"]]
    [dm] = slack.messages(slack.dm_channel("U0OTHER"))
    by_kind = {row.kind: row for row in rows}
    assert {PARENT, REPLY} <= set(by_kind) and len(rows) == 3
    assert by_kind[PARENT].result == {"channel": CHANNEL, "ts": parent["ts"]}
    assert by_kind[REPLY].result == {"channel": CHANNEL, "ts": reply["ts"]}
    assert [r.result for r in rows if r.kind not in (PARENT, REPLY)] == [
        {"channel": slack.dm_channel("U0OTHER"), "ts": dm["ts"]}]
    posted = slack.calls_to("chat.postMessage")
    assert len(posted) == 3  # one each: the look-backs found them
    assert all(json.loads(c.args["metadata"])["event_type"] == METADATA_TYPE if isinstance(c.args["metadata"], str)
               else c.args["metadata"]["event_type"] == METADATA_TYPE for c in posted)
    assert slack.calls_to("conversations.history") and slack.calls_to("conversations.replies")
    with db.sessions() as session:  # the case shows its thread: the parent's ts was recorded
        from models import escalations as store

        case = store.open_escalation_of(session, "C-7101")
        assert case is not None and case.parent_ts == parent["ts"]
