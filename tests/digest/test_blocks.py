"""The digest within Slack's limits: 50 blocks and 3000-character sections per message, replies kept below
the ~13,000-character refusal, a CSV when the list is longer; the composition (changes, trend, sparkline)."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import update

from bot.features.digest.blocks import (
    CSV_HEADER,
    MAX_LIST_REPLIES,
    MAX_REPLY_TEXT,
    ListWriter,
    digest_blocks,
    list_replies,
)
from bot.features.digest.service import DigestPosted, run_digest
from bot.standins.slack_api import SlackStandIn, block_errors
from commands.digest import (
    STUCK_REASONS,
    EscalationAge,
    PastDigest,
    StuckCounts,
    StuckCustomer,
    compose_digest,
    sparkline,
)
from commands.policy import Utility
from commands.rules import Reason
from models import Database
from models.customers import CustomerRow
from tests.clock import Clock
from tests.digest.conftest import (
    CHANNEL,
    DAY,
    NOW,
    Customers,
    make_context,
    top_level,
)
from tests.digest.oracle import csv_lines

LONG_ID = "X" * 64  # the longest customer id the database holds


def stuck(n: int, customer_id: str | None = None) -> StuckCustomer:
    return StuckCustomer(customer_id or f"{LONG_ID[:-6]}{n:06d}", Utility.SDGE,
                         STUCK_REASONS[n % len(STUCK_REASONS)], NOW - timedelta(days=8 + n))


def assert_within_slack_limits(blocks: list[dict[str, Any]]) -> None:
    assert len(blocks) <= 50
    assert block_errors(blocks, "/blocks", 50) == []
    for block in blocks:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000


def as_dicts(blocks: list[Any]) -> list[dict[str, Any]]:
    return [b.to_dict() for b in blocks]


@pytest.mark.parametrize("count", [1, 20, 59, 150, 280])
def test_list_replies_stay_within_block_and_text_limits(count: int) -> None:
    customers = [stuck(n) for n in range(count)]

    replies = list_replies(customers, NOW)

    assert replies is not None and 1 <= len(replies) <= MAX_LIST_REPLIES
    listed: list[str] = []
    for reply in replies:
        blocks = as_dicts(reply)
        assert_within_slack_limits(blocks)
        sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
        assert sum(len(s) for s in sections) <= MAX_REPLY_TEXT
        listed += [line for s in sections for line in s.splitlines()]
    # Every customer once, in order, none cut.
    assert [line.split("`")[1] for line in listed] == [c.customer_id for c in customers]


def test_a_list_too_long_for_messages_goes_as_csv() -> None:
    short = [stuck(n) for n in range(100)]
    assert list_replies(short, NOW) is not None
    # Grow the list until it no longer fits in MAX_LIST_REPLIES replies.
    size = 100
    while list_replies([stuck(n) for n in range(size)], NOW) is not None:
        size += 50
    assert size < 2000
    writer = ListWriter(keep=size)
    writer.write_lines(csv_lines([stuck(n) for n in range(size)], NOW))
    rows = list(csv.reader(io.StringIO(writer.csv_bytes().decode())))
    assert tuple(rows[0]) == CSV_HEADER
    assert len(rows) == size + 1
    assert rows[1][:5] == [stuck(0).customer_id, "SDGE", STUCK_REASONS[0].value, "REAUTH", "8"]


def test_the_digest_message_stays_within_limits_with_long_ids_and_every_category() -> None:
    counts = StuckCounts(dict.fromkeys(STUCK_REASONS, 10 ** 9), dict.fromkeys(EscalationAge, 10 ** 6))
    previous = PastDigest(DAY - timedelta(days=1), StuckCounts(dict.fromkeys(STUCK_REASONS, 1), {}))
    digest = compose_digest(DAY, NOW, counts, [stuck(n) for n in range(10)], [previous])

    blocks = as_dicts(digest_blocks(digest))

    assert_within_slack_limits(blocks)
    text = json.dumps(blocks, ensure_ascii=False)
    assert "+999,999,999" in text and "Open escalations: *4,000,000*" in text


def test_changes_trend_and_sparkline() -> None:
    history = [
        PastDigest(DAY - timedelta(days=d), StuckCounts({Reason.NOT_CONNECTED_7D: 100 - d}, {}))
        for d in (20, 13, 5, 2, 1)  # day 20 is outside the 14-day trend; days 3, 4, 6-12 have no digest
    ]
    today = StuckCounts({Reason.NOT_CONNECTED_7D: 90, Reason.SCOPE_INCOMPLETE: 4}, {})

    digest = compose_digest(DAY, NOW, today, [], list(reversed(history)))

    assert digest.previous is not None and digest.previous.day == DAY - timedelta(days=1)
    assert digest.change(Reason.NOT_CONNECTED_7D) == 90 - 99
    assert digest.change(Reason.SCOPE_INCOMPLETE) == 4
    assert digest.total_change == 94 - 99
    assert [t.day for t in digest.trend] == [DAY - timedelta(days=d) for d in range(13, -1, -1)]
    assert [t.total for t in digest.trend] == [87, None, None, None, None, None, None, None, 95, None, None, 98,
                                                99, 94]
    # 87 is the lowest (▁), 99 the highest (█); 95, 98 and 94 fall between; "·" marks a day without digest.
    assert digest.sparkline == "▁" + "·" * 7 + "▆" + "··" + "▇█▅"
    assert sparkline([]) == "" and sparkline([None, None]) == "··" and sparkline([0, 0]) == "▁▁"
    assert sparkline([5, 5]) == "██"
    first = compose_digest(DAY, NOW, today, [], [])
    assert first.previous is None and first.change(Reason.SCOPE_INCOMPLETE) is None


def test_a_digest_stored_without_escalation_counts_shows_no_escalation_change() -> None:
    # Digests (migration 0004) do not depend on escalations (0003): such rows may be stored.
    today = StuckCounts({Reason.NOT_CONNECTED_7D: 1}, {EscalationAge.UNDER_1_DAY: 2})
    before = PastDigest.from_json(DAY - timedelta(days=1), {"reasons": {Reason.NOT_CONNECTED_7D.value: 1}})
    counted = PastDigest.from_json(DAY - timedelta(days=1), StuckCounts({}, {}).to_json())

    assert compose_digest(DAY, NOW, today, [], [before]).escalations_change is None
    assert compose_digest(DAY, NOW, today, [], [counted]).escalations_change == 2


def test_a_long_list_is_posted_as_replies_slack_accepts(
    db: Database, slack: SlackStandIn, customers: Customers
) -> None:
    for n in range(300):
        customers.stuck(f"C-{n:05d}-{'y' * 40}"[:64], days=8 + n)

    outcome = run_digest(make_context(db, slack, Clock(NOW)), DAY, CHANNEL)

    assert isinstance(outcome, DigestPosted) and not outcome.csv and outcome.list_replies > 1
    assert slack.rejected_calls == []  # the stand-in refuses what Slack refuses (blocks, text, threads)
    thread = slack.thread(CHANNEL, outcome.ts)
    assert len(thread) == outcome.list_replies
    sections = [b["text"]["text"] for m in thread for b in m["blocks"] if b["type"] == "section"]
    lines = [line for section in sections for line in section.splitlines()]
    assert len(lines) == 300 and len(set(lines)) == 300
    # Longest stuck first, as in the digest's top 10.
    assert lines[0].startswith("• `C-00299-") and lines[-1].startswith("• `C-00000-")


def test_a_list_longer_than_messages_allow_is_uploaded_as_csv_in_the_thread(
    db: Database, slack: SlackStandIn, customers: Customers
) -> None:
    for n in range(1200):
        customers.stuck(f"C-{n:05d}", days=8 + n % 500)

    outcome = run_digest(make_context(db, slack, Clock(NOW)), DAY, CHANNEL)

    assert isinstance(outcome, DigestPosted) and outcome.csv
    assert slack.rejected_calls == []
    [upload] = slack.uploads()
    assert upload[0] == f"stuck-customers-{DAY.isoformat()}.csv"
    rows = list(csv.DictReader(io.StringIO(upload[1].decode())))
    assert len(rows) == 1200 and len({r["customer_id"] for r in rows}) == 1200
    assert [int(r["days_stuck"]) for r in rows] == sorted((int(r["days_stuck"]) for r in rows), reverse=True)
    [reply] = slack.thread(CHANNEL, outcome.ts)
    assert reply["files"][0]["name"] == upload[0]
    assert "1,200" in reply["text"]
    assert len(top_level(slack)) == 1
    # The file went to the digest's thread, and to no other channel.
    [complete] = slack.calls_to("files.completeUploadExternal")
    assert complete.args["channel_id"] == CHANNEL and complete.args["thread_ts"] == outcome.ts


def test_the_digest_never_shows_an_email(db: Database, slack: SlackStandIn, customers: Customers) -> None:
    customers.stuck("C-001")
    with db.transaction() as session:
        session.execute(update(CustomerRow).values(email="secret.person@example.com", name="Secret Person"))

    outcome = run_digest(make_context(db, slack, Clock(NOW)), DAY, CHANNEL)

    assert isinstance(outcome, DigestPosted)
    everything = json.dumps([c.args for c in slack.calls], ensure_ascii=False) + str(slack.uploads())
    assert "C-001" in everything
    assert "secret.person" not in everything and "Secret Person" not in everything


def test_the_trend_is_numbers_from_the_oldest_digest_within_a_week(
    db: Database, slack: SlackStandIn, customers: Customers
) -> None:
    customers.stuck("C-001")
    clock = Clock(NOW)
    context = make_context(db, slack, clock)
    for offset in (0, 1, 3):
        clock.set(NOW + timedelta(days=offset))
        if offset == 3:
            customers.stuck("C-002")
        run_digest(context, DAY + timedelta(days=offset), CHANNEL)
    first, _, last = top_level(slack)
    context_line = next(e["text"] for b in last["blocks"] if b["type"] == "context" for e in b["elements"])
    assert context_line.startswith("1 3 days ago → 2 today")  # Mon, Tue, no digest Wed, Thu
    assert "→" not in json.dumps(first["blocks"])  # the first digest has nothing to compare with
