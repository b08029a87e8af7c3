"""A post to a ticket and a reply to the customer each leave one row in the audit trail."""

from __future__ import annotations

import pytest

from bot.features.post_steps.blocks import POST_NOTE_ACTION, POST_REPLY_ACTION
from models import Database
from models.audit import audit_trail
from tests.clock import Clock
from tests.post_steps.conftest import NOW, TICKET, add_customer, check, click, running_bot, standin_for


@pytest.mark.parametrize(("action", "audited"), [(POST_NOTE_ACTION, "post_steps"),
                                                 (POST_REPLY_ACTION, "reply_to_customer")])
def test_a_post_is_audited_once_with_its_ticket(db: Database, action: str, audited: str) -> None:
    add_customer(db, "C-2001")
    with standin_for("zendesk") as standin, running_bot(db, standin, Clock(NOW)) as rig:
        answer = check(rig.bot, f"C-2001 {TICKET}", user="U0ALICE")
        click(rig.bot, answer, action, user="U0ALICE")
        click(rig.bot, answer, action, user="U0ALICE")  # a double click posts once, and is audited once
    with db.reading() as session:
        trail = [(e.agent, e.action, e.customer_id, e.source, e.detail) for e in audit_trail(session)]
    assert ("U0ALICE", audited, "C-2001", "button", f"ticket {TICKET}") in trail
    assert [row[1] for row in trail].count(audited) == 1
