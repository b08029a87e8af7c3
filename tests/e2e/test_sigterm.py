"""SIGTERM while a post is in flight: `serve` exits within SHUTDOWN_GRACE and gives its lease back, so the next
instance takes the post at once (not after the 5-minute lease), reads the ticket back and finds it."""

from __future__ import annotations

from pathlib import Path

from bot.context import utc_now
from bot.features.post_steps.blocks import POST_NOTE_ACTION
from bot.standins.helpdesk import ZendeskStandIn
from bot.standins.slack_api import SlackStandIn
from models.outbox import OutboxStatus
from tests.e2e.processes import Serve, click_post, database, env_for, outbox_rows, serving, wait_until
from tests.post_steps.conftest import TICKET, add_customer

GRACE = 3


def test_sigterm_mid_post_drains_within_the_grace_and_gives_the_lease_back(slack: SlackStandIn,
                                                                            tmp_path: Path) -> None:
    db = database(tmp_path)
    add_customer(db, "C-7201", now=utc_now())
    with ZendeskStandIn(tickets=[TICKET]) as zendesk:
        env = {**env_for(tmp_path, slack, zendesk), "SHUTDOWN_GRACE": str(GRACE)}
        del env["OUTBOX_LEASE_SECONDS"]  # the production lease: 5 minutes, far longer than this test waits
        zendesk.hold_next_after_storing()
        with serving(env, tmp_path) as first:
            click_post(first, slack, "C-7201", POST_NOTE_ACTION, "first")
            wait_until(zendesk.holding, lambda held: held == 1, "the helpdesk to store the note and hold its answer")
            # gunicorn kills what is left after the grace: the exit comes within it, whatever is in flight.
            assert first.terminate(timeout=GRACE + 10) == 0, first.output()
            assert "leases_released=1" in first.output()
        [row] = outbox_rows(db)
        assert row.status == OutboxStatus.PENDING and row.leased_by is None and row.leased_until is None
        zendesk.release_held()

        second = Serve(env, tmp_path).start()
        try:
            delivered = wait_until(lambda: outbox_rows(db)[0], lambda r: r.status == OutboxStatus.DELIVERED,
                                   "the next instance to take the given-back post", timeout=60)
        finally:
            second.stop_quietly()
        [note] = zendesk.notes(TICKET)
        assert len(zendesk.posts()) == 1
        assert delivered.result is not None and delivered.result["external_id"] == str(note.id)
