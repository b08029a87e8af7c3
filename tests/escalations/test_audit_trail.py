"""Escalating, taking and resolving leave their rows in the audit trail, next to the lookups."""

from __future__ import annotations

from bot.features.escalations.blocks import RESOLVE_ACTION, TAKE_ACTION
from models.audit import audit_trail
from tests.escalations.conftest import Escalations, poll


def test_escalate_take_and_resolve_are_in_the_trail(cases: Escalations) -> None:
    def acts() -> list[tuple[str, str, str | None, str]]:
        with cases.db.reading() as session:
            return [(e.agent, e.action, e.customer_id, e.source) for e in audit_trail(session, customer_id="C-1008")]

    parent = cases.escalate("C-1008", user="U0ALICE")
    cases.click(TAKE_ACTION, parent, "U0BOB")
    # Clicks are acked first and acted on after: the take must land before the resolve is clicked.
    poll(lambda: len(acts()) >= 3, "the take's audit row")
    cases.click(RESOLVE_ACTION, parent, "U0BOB")
    poll(lambda: len(acts()) >= 4, "the resolve's audit row")
    assert acts() == [
        ("U0ALICE", "escalate", "C-1008", "form"),
        ("U0ALICE", "lookup", "C-1008", "slash_command"),
        ("U0BOB", "resolve", "C-1008", "button"),
        ("U0BOB", "take", "C-1008", "button"),
    ]
