"""Steps posted to the ticket of an escalated customer: a reply in the case thread, and a follow-up clock."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.features.post_steps.service import after_steps_posted
from commands.post_steps import StepsPost
from models.customers import ProcedureRow
from models.escalations import FollowUpRow
from tests.escalations.conftest import Escalations


def test_posted_steps_reply_in_the_case_thread_and_set_a_follow_up(cases: Escalations) -> None:
    parent = cases.escalate("C-1005")
    now = cases.clock()
    post = StepsPost(
        dedupe_key="steps|C-1005|zendesk|4521|sce_reauth|reply|g0", customer_id="C-1005", utility="SCE",
        ticket_id="4521", helpdesk="Zendesk", template="sce_reauth", action="REAUTH", public=True,
        agent="U0CAROL", body="Revoke every authorization...", requested_at=now.isoformat(),
    )
    result = {"posted_at": now.isoformat(), "url": "https://acme.zendesk.com/agent/tickets/4521"}
    with cases.db.transaction() as session:
        after_steps_posted(session, cases.context, post, result)
    with cases.db.transaction() as session:  # a second delivery of the same post adds nothing
        after_steps_posted(session, cases.context, post, result)
    cases.context.outbox.deliver_due()  # what the outbox worker of `serve` does every 15 s

    thread = cases.wait_thread(parent, 1)
    assert thread == [
        ":envelope: <@U0CAROL> sent the steps to the customer on Zendesk "
        "<https://acme.zendesk.com/agent/tickets/4521|ticket 4521>."
    ]
    with cases.db.sessions() as session:
        clocks = session.scalars(select(FollowUpRow).where(FollowUpRow.customer_id == "C-1005")).all()
    assert [(c.due_at, c.agent) for c in clocks] == [(now + timedelta(days=7), "U0CAROL")]


def test_an_internal_note_tells_the_thread_but_sets_no_clock(cases: Escalations) -> None:
    parent = cases.escalate("C-1005")
    now = cases.clock()
    post = StepsPost(
        dedupe_key="steps|C-1005|zendesk|4521|sce_reauth|note|g0", customer_id="C-1005", utility="SCE",
        ticket_id="4521", helpdesk="Zendesk", template="sce_reauth", action="REAUTH", public=False,
        agent="U0CAROL", body="Revoke every authorization...", requested_at=now.isoformat(),
    )
    with cases.db.transaction() as session:
        after_steps_posted(session, cases.context, post, {"posted_at": now.isoformat(), "url": ""})
    cases.context.outbox.deliver_due()
    assert cases.wait_thread(parent, 1) == [
        ":memo: <@U0CAROL> added the steps to Zendesk ticket 4521 as an internal note "
        "(the customer has not seen them)."
    ]
    with cases.db.sessions() as session:
        clocks = session.scalars(select(FollowUpRow).where(FollowUpRow.customer_id == "C-1005")).all()
        procedures = session.scalars(select(ProcedureRow).where(ProcedureRow.customer_id == "C-1005")).all()
    assert clocks == [] and procedures == []
