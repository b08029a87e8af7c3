"""The digest's first line and "Act today" on a population with known changes, on both databases."""

from __future__ import annotations

from datetime import timedelta

from bot.features.digest.service import DigestPosted, run_digest
from bot.standins.slack_api import SlackStandIn
from models import Database
from models.escalations import open_escalation, record_parent, schedule_follow_up, take
from tests.clock import Clock
from tests.digest.conftest import CHANNEL, DAY, NOW, Customers, make_context, top_level


def escalate(db: Database, customer_id: str, *, days_ago: int, taken_by: str | None = None) -> None:
    with db.transaction() as session:
        case_id = open_escalation(session, customer_id=customer_id, at=NOW - timedelta(days=days_ago),
                                  opened_by="U0ALICE", reason="no data", ticket=None, note=None,
                                  channel="C0ESCALATE", summary="")
        assert case_id is not None
        record_parent(session, case_id, f"1700000000.{case_id:06d}")
        if taken_by:
            take(session, case_id, agent=taken_by, at=NOW)


def test_the_first_line_is_the_change_and_act_today_lists_what_waits_on_a_person(
    db: Database, slack: SlackStandIn, customers: Customers
) -> None:
    for n in range(3):
        customers.stuck(f"C-00{n}")
    clock = Clock(NOW - timedelta(days=3))  # Friday's digest: 3 stuck
    context = make_context(db, slack, clock)
    assert isinstance(run_digest(context, DAY - timedelta(days=3), CHANNEL), DigestPosted)

    for n in range(3, 5):  # two more since Friday
        customers.stuck(f"C-00{n}")
    escalate(db, "C-000", days_ago=2)  # nobody has it
    escalate(db, "C-001", days_ago=1, taken_by="U0BOB")  # taken: not today's work
    with db.transaction() as session:
        schedule_follow_up(session, "C-002", NOW + timedelta(hours=5), at=NOW, agent="U0BOB")
        schedule_follow_up(session, "C-003", NOW + timedelta(days=3), at=NOW, agent="U0BOB")  # not due yet
    clock.set(NOW)
    assert isinstance(run_digest(context, DAY, CHANNEL), DigestPosted)

    blocks = top_level(slack)[-1]["blocks"]
    assert blocks[1]["text"]["text"] == "*5 stuck, +2 since Friday · 2 newly stuck · 1 escalation nobody has taken*"
    act = blocks[2]["text"]["text"].split("\n")
    assert act[0] == "*Act today*" and len(act) == 5
    assert act[1].startswith("• Escalation of C-000, open since <!date^")
    thread = "https://slack.com/archives/C0ESCALATE/p1700000000000001"
    assert act[1].endswith(f"nobody has it: <{thread}|take it in its thread>")
    assert act[2].startswith("• Follow-up on C-002 due <!date^")
    assert [line.split(" (")[0] for line in act[3:]] == ["• Newly stuck: C-003", "• Newly stuck: C-004"]
    categories = blocks[3]["text"]["text"]
    assert "Past the verification window, still not connected: *5* (+2)" in categories
    assert "Open escalations: *2*" in categories and "1 under a day" not in categories.split("Open")[0]
    assert "without a grant date" not in categories and ": *0*" not in categories  # zero rows hidden
    # The digest's own last line: on OUTCOMES_WEEKDAY (Monday, as here) the outcomes section follows it.
    [context_line] = [b["elements"][0]["text"] for b in blocks if b["type"] == "context" and " → " in str(b)]
    assert context_line.startswith("3 3 days ago → 5 today")
    assert "Longest stuck" not in str(blocks) and "longest stuck first, is in the thread" in context_line
