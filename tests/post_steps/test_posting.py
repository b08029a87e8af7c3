"""Posting the steps through the real app, for each helpdesk against its stand-in."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from bot import messages
from bot.features.escalations.blocks import escalation_modal
from bot.features.post_steps.blocks import (
    POST_NOTE_ACTION,
    POST_REPLY_ACTION,
    SENT_MYSELF_ACTION,
    TICKET_MODAL_CALLBACK,
)
from bot.features.post_steps.service import StepsPosted, post_escalation_note
from bot.helpdesk import HELPDESK_KINDS
from bot.standins.helpdesk import HelpdeskStandIn
from models import Database
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
    send_to_customer,
    standin_for,
    text_of,
)


@pytest.fixture(params=HELPDESK_KINDS)
def standin(request: pytest.FixtureRequest) -> Iterator[HelpdeskStandIn]:
    with standin_for(request.param) as running:
        yield running


def test_an_internal_note_is_not_steps_sent_until_the_agent_says_they_sent_them(
    sqlite_db: Database, standin: HelpdeskStandIn
) -> None:
    add_customer(sqlite_db, "C-2001")
    with running_bot(sqlite_db, standin, Clock(NOW)) as rig:
        answer = check(rig.bot, f"C-2001 {TICKET}")
        done = click(rig.bot, answer, POST_NOTE_ACTION, user="U0ALICE")
        assert rig.context.helpdesk is not None
        link = rig.context.helpdesk.ticket_url(TICKET)
        outcome = done["blocks"][0]["text"]["text"]
        # The note is not a procedure: no clock, no guardrail, and the answer says so.
        assert procedures(sqlite_db, "C-2001") == []
        assert "not* counted as steps sent" in outcome and "no steps sent yet" in text_of(done)
        assert rig.context.db is not None
        again = send_to_customer(rig.bot, check(rig.bot, f"C-2001 {TICKET}"))
        assert "Steps already went" not in text_of(again)  # the note tripped no guardrail
        assert len(procedures(sqlite_db, "C-2001")) == 1

    [note, reply] = standin.notes(TICKET)
    assert note.public is False and reply.public is True
    assert "Revoke every OhmConnect authorization" in note.body and "(we count 2 on your account)" in note.body
    assert "Monday, December 7" in note.body  # 7 days on, Pacific time
    assert_requests_follow_the_contract(standin)
    # The agent's answer is replaced in place: who posted, when, and a link to the ticket.
    assert done["replace_original"] is True
    assert outcome.startswith(":memo: Added to")
    assert "as an internal note by <@U0ALICE>" in outcome
    assert f"<{link}|" in outcome and f" {TICKET}>" in outcome


def test_i_sent_them_myself_records_one_procedure(db: Database) -> None:
    add_customer(db, "C-2011")
    with standin_for("zendesk") as standin, running_bot(db, standin, Clock(NOW)) as rig:
        noted = click(rig.bot, check(rig.bot, f"C-2011 {TICKET}"), POST_NOTE_ACTION, user="U0ALICE")
        assert procedures(db, "C-2011") == []
        first = click(rig.bot, noted, SENT_MYSELF_ACTION, user="U0ALICE")
        click(rig.bot, noted, SENT_MYSELF_ACTION, user="U0ALICE")  # a double click records nothing more
        after = check(rig.bot, f"C-2011 {TICKET}")
    assert "sent the steps to the customer" in text_of(first)
    [procedure] = procedures(db, "C-2011")
    assert (procedure.ticket_id, procedure.agent, procedure.template, procedure.sent_at) == (
        TICKET, "U0ALICE", "sce_reauth", NOW,
    )
    assert "steps sent once" in text_of(after)


def test_sending_to_the_customer_shows_the_exact_text_and_the_ticket_first(
    sqlite_db: Database, standin: HelpdeskStandIn
) -> None:
    add_customer(sqlite_db, "C-2002", granted_days_ago=(3,))  # WAIT: authorized 3 days ago
    with running_bot(sqlite_db, standin, Clock(NOW)) as rig:
        answer = check(rig.bot, f"C-2002 {TICKET}")
        assert button(answer, POST_REPLY_ACTION)["style"] == "primary"
        assert button(answer, POST_REPLY_ACTION)["text"]["text"] == "Send \u201cplease wait\u201d reply"
        done = send_to_customer(rig.bot, answer)
        [opened] = rig.bot.slack.calls_to("views.open")
    view = opened.args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    [note] = standin.notes(TICKET)
    preview = next(b for b in view["blocks"] if b.get("block_id") == "preview")["text"]["text"]
    ticket = next(b for b in view["blocks"] if b.get("block_id") == "ticket")
    # The confirmation quotes exactly what the customer got, and names the ticket.
    sent = posts(sqlite_db)[0].payload["body"]  # as the bot sent it (Intercom stores it as HTML)
    assert [line.removeprefix(">") for line in preview.split("\n")] == sent.split("\n")
    assert ticket["element"]["initial_value"] == TICKET
    assert note.public is True
    assert "is checking it now" in note.body and "Friday, December 4" in note.body  # granted + 7 days
    assert "Sent to the customer" in done["blocks"][0]["text"]["text"]
    assert_requests_follow_the_contract(standin)
    assert len(procedures(sqlite_db, "C-2002")) == 1


def test_the_procedure_it_records_changes_the_next_check(sqlite_db: Database) -> None:
    # Two live authorizations and one procedure 12 days ago: re-authorize (rule 4), no guardrail.
    add_customer(sqlite_db, "C-2003", procedures_days_ago=(12,))
    with standin_for("zendesk") as standin, running_bot(sqlite_db, standin, Clock(NOW)) as rig:
        before = check(rig.bot, f"C-2003 {TICKET}")
        assert "Re-authorize" in text_of(before)
        send_to_customer(rig.bot, before)
        after = check(rig.bot, "C-2003")

    # A second procedure within 30 days: repeating would only delay it, so escalate (rule 3).
    assert "Escalate" in text_of(after) and "already sent the steps twice" in text_of(after)
    assert "steps sent twice" in text_of(after) and "by <@U0AGENT>" in text_of(after)


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

        def submit(ticket: str) -> str:
            values = {"ticket": {"value": {"type": "plain_text_input", "value": ticket}}}
            return rig.bot.send(rig.bot.requests.view_submission(view=view, state_values=values)).text

        refused = json.loads(submit("not a ticket"))
        assert refused["response_action"] == "errors"
        assert refused["errors"]["ticket"] == messages.not_a_ticket_of("Zendesk", "ticket")
        assert standin.requests == []

        assert submit(f"{standin.base_url}/agent/tickets/{TICKET}") == ""
        done = rig.bot.slack.wait_for_responses(key, 1, 20)[0]

    [note] = standin.notes(TICKET)
    assert note.public is False  # the button was the internal note's
    assert "Added to Zendesk" in done["blocks"][0]["text"]["text"]
    assert procedures(sqlite_db, "C-2004") == []


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
    # ESCALATE: one primary button, Escalate; no steps to send (they did not help).
    assert not has_button(escalate, POST_NOTE_ACTION) and not has_button(escalate, POST_REPLY_ACTION)
    assert button(escalate, "escalate")["style"] == "primary"
    assert standin.requests == []


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


def test_the_escalation_form_can_add_the_escalation_note_to_the_ticket(sqlite_db: Database) -> None:
    add_customer(sqlite_db, "C-2012")  # REAUTH by the rules; the agent escalates anyway
    with standin_for("zendesk") as standin, running_bot(sqlite_db, standin, Clock(NOW)) as rig:
        view = escalation_modal("C-2012", TICKET, with_ticket_note=rig.context.helpdesk is not None).to_dict()
        [box] = [b for b in view["blocks"] if b["block_id"] == "ticket_note"]
        assert box["element"]["type"] == "checkboxes" and box["element"]["initial_options"]  # ticked by default
        answer = post_escalation_note(rig.context, "C-2012", TICKET, "U0ALICE")
    assert isinstance(answer.outcome, StepsPosted) and answer.outcome.public is False
    [note] = standin.notes(TICKET)
    assert note.public is False and "Escalated to the re-authorization team" in note.body
    assert "<!date" not in note.body and "&lt;" not in note.body  # plain text, not Slack's markup
    assert "2 live authorizations (should be 1)" in note.body  # the reasons, in plain words
    assert procedures(sqlite_db, "C-2012") == []  # a note is never steps sent
