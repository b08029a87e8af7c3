"""A post to a ticket and a reply to the customer each leave one row in the audit trail."""

from __future__ import annotations

from bot.features.post_steps.blocks import POST_NOTE_ACTION
from models import Database
from models.audit import audit_trail
from tests.clock import Clock
from tests.post_steps.conftest import (
    NOW,
    TICKET,
    add_customer,
    check,
    click,
    running_bot,
    send_to_customer,
    standin_for,
)


def test_a_post_is_audited_once_with_its_ticket(db: Database) -> None:
    add_customer(db, "C-2001")
    with standin_for("zendesk") as standin, running_bot(db, standin, Clock(NOW)) as rig:
        answer = check(rig.bot, f"C-2001 {TICKET}", user="U0ALICE")
        click(rig.bot, answer, POST_NOTE_ACTION, user="U0ALICE")
        click(rig.bot, answer, POST_NOTE_ACTION, user="U0ALICE")  # a double click posts once, audited once
        send_to_customer(rig.bot, answer, user="U0ALICE")  # the reply is sent from its confirmation form
    with db.reading() as session:
        trail = [(e.agent, e.action, e.customer_id, e.source, e.detail) for e in audit_trail(session)]
    assert ("U0ALICE", "post_steps", "C-2001", "button", f"ticket {TICKET}") in trail
    assert ("U0ALICE", "reply_to_customer", "C-2001", "form", f"ticket {TICKET}") in trail
    for audited in ("post_steps", "reply_to_customer"):
        assert [row[1] for row in trail].count(audited) == 1
