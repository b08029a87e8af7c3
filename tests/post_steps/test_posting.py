"""Posting the steps through the real app, for each helpdesk against its stand-in."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from bot import messages
from bot.features.post_steps.blocks import POST_NOTE_ACTION, POST_REPLY_ACTION, TICKET_MODAL_CALLBACK
from bot.helpdesk import HELPDESK_KINDS
from bot.standins.helpdesk import HelpdeskStandIn
from models import Database
from models.outbox import OutboxStatus
from tests.clock import Clock
from tests.post_steps.conftest import (
    NOW,
    TICKET,
    add_customer,
    assert_requests_follow_the_contract,
    button,
    check,
    click,
    has_button,
    posts,
    procedures,
    running_bot,
    standin_for,
    text_of,
)


@pytest.fixture(params=HELPDESK_KINDS)
def standin(request: pytest.FixtureRequest) -> Iterator[HelpdeskStandIn]:
    with standin_for(request.param) as running:
        yield running


def test_the_steps_land_on_the_ticket_as_an_internal_note(sqlite_db: Database, standin: HelpdeskStandIn) -> None:
    add_customer(sqlite_db, "C-2001")
    with running_bot(sqlite_db, standin, Clock(NOW)) as rig:
        answer = check(rig.bot, f"C-2001 {TICKET}")
        done = click(rig.bot, answer, POST_NOTE_ACTION, user="U0ALICE")
        assert rig.context.helpdesk is not None
        link = rig.context.helpdesk.ticket_url(TICKET)

    [note] = standin.notes(TICKET)
    assert note.public is False
    assert "Revoke every OhmConnect authorization" in note.body and "(we count 2 on your account)" in note.body
    assert "takes 5-7 days" in note.body and "Monday, December 7" in note.body  # 7 days on, Pacific time
    assert_requests_follow_the_contract(standin)
    # The agent's answer is replaced in place: who posted, when, and a link to the ticket.
    assert done["replace_original"] is True
    outcome = done["blocks"][0]["text"]["text"]
    assert outcome.startswith(":white_check_mark: Steps posted to")
    assert "as an internal note by <@U0ALICE>" in outcome
    assert f"<{link}|" in outcome and f" {TICKET}>" in outcome
    assert "Steps already sent*: 1" in text_of(done)  # the refreshed case below the outcome
    [procedure] = procedures(sqlite_db, "C-2001")
    assert (procedure.ticket_id, procedure.agent, procedure.template, procedure.sent_at) == (
        TICKET, "U0ALICE", "sce_reauth", NOW,
    )
    assert [row.status for row in posts(sqlite_db)] == [OutboxStatus.DELIVERED]


def test_a_customer_visible_reply_is_a_separate_explicit_button(sqlite_db: Database, standin: HelpdeskStandIn) -> None:
    add_customer(sqlite_db, "C-2002", granted_days_ago=(3,))  # WAIT: authorized 3 days ago
    with running_bot(sqlite_db, standin, Clock(NOW)) as rig:
        answer = check(rig.bot, f"C-2002 {TICKET}")
        reply = button(answer, POST_REPLY_ACTION)
        # Slack asks the agent before the click reaches the bot.
        assert "e-mails them" in reply["confirm"]["text"]["text"]
        done = click(rig.bot, answer, POST_REPLY_ACTION)

    [note] = standin.notes(TICKET)
    assert note.public is True
    assert "is checking it now" in note.body and "Friday, December 4" in note.body  # granted + 7 days
    assert "as a reply the customer sees" in done["blocks"][0]["text"]["text"]
    assert_requests_follow_the_contract(standin)


def test_the_procedure_it_records_changes_the_next_check(sqlite_db: Database) -> None:
    # Two live authorizations and one procedure 12 days ago: re-authorize (rule 4), no guardrail.
    add_customer(sqlite_db, "C-2003", procedures_days_ago=(12,))
    with standin_for("zendesk") as standin, running_bot(sqlite_db, standin, Clock(NOW)) as rig:
        before = check(rig.bot, f"C-2003 {TICKET}")
        assert "Re-authorize" in text_of(before) and "rule 4" in text_of(before)
        click(rig.bot, before, POST_NOTE_ACTION)
        after = check(rig.bot, "C-2003")

    # A second procedure within 30 days: repeating would only delay it, so escalate (rule 3).
    assert "Escalate" in text_of(after) and "rule 3" in text_of(after)
    assert "Steps already sent*: 2" in text_of(after)
    assert "on ticket 4521" in text_of(after)


def test_without_a_ticket_the_button_asks_for_it_in_a_modal(sqlite_db: Database) -> None:
    add_customer(sqlite_db, "C-2004")
    with standin_for("zendesk") as standin, running_bot(sqlite_db, standin, Clock(NOW)) as rig:
        answer = check(rig.bot, "C-2004")
        key = "no-ticket"
        request = rig.bot.requests.block_actions(
            action_id=POST_NOTE_ACTION, value=button(answer, POST_NOTE_ACTION)["value"],
            response_url=rig.bot.slack.response_url(key),
        )
        assert rig.bot.send(request).status_code == 200
        [opened] = rig.bot.slack.wait_for("views.open")
        view = opened.args["view"]
        view = json.loads(view) if isinstance(view, str) else view
        assert view["callback_id"] == TICKET_MODAL_CALLBACK
        assert standin.requests == []

        def submit(ticket: str, visibility: str) -> str:
            values = {"ticket": {"value": {"type": "plain_text_input", "value": ticket}},
                      "visibility": {"value": {"type": "radio_buttons", "selected_option": {"value": visibility}}}}
            return rig.bot.send(rig.bot.requests.view_submission(view=view, state_values=values)).text

        refused = json.loads(submit("not a ticket", "note"))
        assert refused["response_action"] == "errors"
        assert refused["errors"]["ticket"] == messages.not_a_ticket_of("Zendesk", "ticket")
        assert standin.requests == []

        assert submit(f"{standin.base_url}/agent/tickets/{TICKET}", "reply") == ""
        done = rig.bot.slack.wait_for_responses(key, 1, 20)[0]

    [note] = standin.notes(TICKET)
    assert note.public is True  # the agent chose the reply in the modal
    assert "Steps posted to Zendesk" in done["blocks"][0]["text"]["text"]
    assert procedures(sqlite_db, "C-2004")[0].ticket_id == TICKET


def test_without_a_helpdesk_the_button_says_so(sqlite_db: Database) -> None:
    add_customer(sqlite_db, "C-2005")
    with running_bot(sqlite_db, None, Clock(NOW)) as rig:
        answer = check(rig.bot, f"C-2005 {TICKET}")
        done = click(rig.bot, answer, POST_NOTE_ACTION)
    assert "No helpdesk is configured" in done["blocks"][0]["text"]["text"]
    assert "HELPDESK_URL" in done["blocks"][0]["text"]["text"]
    assert posts(sqlite_db) == [] and procedures(sqlite_db, "C-2005") == []


def test_which_buttons_a_check_answer_carries(sqlite_db: Database) -> None:
    add_customer(sqlite_db, "C-2006", connected=True)  # healthy
    add_customer(sqlite_db, "C-2007", granted_days_ago=(30,), procedures_days_ago=(35,))  # rule 7: escalate
    with standin_for("zendesk") as standin, running_bot(sqlite_db, standin, Clock(NOW)) as rig:
        healthy = check(rig.bot, "C-2006")
        escalate = check(rig.bot, f"C-2007 {TICKET}")
        assert not has_button(healthy, POST_NOTE_ACTION) and not has_button(healthy, POST_REPLY_ACTION)
        # The escalation note is for the team: no customer-visible reply.
        assert has_button(escalate, POST_NOTE_ACTION) and not has_button(escalate, POST_REPLY_ACTION)
        click(rig.bot, escalate, POST_NOTE_ACTION)
    [note] = standin.notes(TICKET)
    assert note.public is False and "Escalated to the re-authorization team" in note.body
    assert "Re-authorized after support sent the steps" in note.body  # the reasons, in words


def test_a_click_after_the_case_changed_posts_nothing(sqlite_db: Database) -> None:
    add_customer(sqlite_db, "C-2008", granted_days_ago=(5,))  # WAIT until granted + 7 days
    clock = Clock(NOW)
    with standin_for("zendesk") as standin, running_bot(sqlite_db, standin, clock) as rig:
        answer = check(rig.bot, f"C-2008 {TICKET}")
        assert "Wait" in text_of(answer)
        clock.advance(days=3)  # the wait is over: now it is a re-authorization
        done = click(rig.bot, answer, POST_NOTE_ACTION)
    assert "The case changed since this answer" in done["blocks"][0]["text"]["text"]
    assert standin.requests == [] and posts(sqlite_db) == []
