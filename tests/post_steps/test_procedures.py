"""Procedures are what the customer saw, on both databases: an internal note starts no clock, trips no
guardrail and changes no rule; a reply does all three."""

from __future__ import annotations

from sqlalchemy import select

from bot.features.post_steps.blocks import POST_NOTE_ACTION
from models import Database
from models.escalations import FollowUpRow
from tests.clock import Clock
from tests.post_steps.conftest import (
    NOW,
    TICKET,
    add_customer,
    check,
    click,
    procedures,
    running_bot,
    send_to_customer,
    standin_for,
    text_of,
)


def follow_ups(db: Database, customer_id: str) -> list[FollowUpRow]:
    with db.sessions() as session:
        return list(session.scalars(select(FollowUpRow).where(FollowUpRow.customer_id == customer_id)))


def test_a_note_is_not_a_procedure_and_a_reply_is(db: Database) -> None:
    add_customer(db, "C-6001", procedures_days_ago=(12,))  # REAUTH; one more procedure would make it ESCALATE
    with standin_for("zendesk") as standin, running_bot(db, standin, Clock(NOW)) as rig:
        click(rig.bot, check(rig.bot, f"C-6001 {TICKET}"), POST_NOTE_ACTION)
        click(rig.bot, check(rig.bot, f"C-6001 {TICKET}"), POST_NOTE_ACTION)  # a second note: no guardrail
        after_notes = check(rig.bot, f"C-6001 {TICKET}")
        assert len(procedures(db, "C-6001")) == 1 and follow_ups(db, "C-6001") == []
        assert "Re-authorize" in text_of(after_notes)  # the rules did not count the notes

        send_to_customer(rig.bot, after_notes)
        assert len(procedures(db, "C-6001")) == 2 and len(follow_ups(db, "C-6001")) == 1
        after_reply = check(rig.bot, f"C-6001 {TICKET}")
        assert "Escalate" in text_of(after_reply)  # two procedures in 30 days: rule 3

    add_customer(db, "C-6002")
    with standin_for("zendesk") as standin, running_bot(db, standin, Clock(NOW)) as rig:
        send_to_customer(rig.bot, check(rig.bot, f"C-6002 {TICKET}"))
        warned = send_to_customer(rig.bot, check(rig.bot, f"C-6002 {TICKET}"))
    assert "Steps already went to this customer" in text_of(warned)  # a reply trips the guardrail
    assert len(standin.notes(TICKET)) == 1
