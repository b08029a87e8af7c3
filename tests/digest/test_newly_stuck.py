"""The digest's "N newly stuck": stuck now and not at the previous digest of the channel, on both databases.

Who was stuck is recorded with each post (migration 0015); the next digest folds the comparison into its
one pass over the customers, with or without the full list, and both answer the same as a Python oracle.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update

from bot.features.digest.blocks import ListWriter, digest_blocks
from bot.features.digest.service import ACT_TODAY_LINES, DigestPosted, DigestPreview, run_digest
from bot.standins.slack_api import SlackStandIn
from commands.digest import (
    STUCK_REASONS,
    ActToday,
    NewlyStuck,
    PastDigest,
    StuckCounts,
    StuckCustomer,
    compose_digest,
)
from commands.policy import Utility
from commands.rules import Reason
from models import Database
from models.customers import CustomerRow
from models.digest.queries import record_stuck, stuck_snapshot
from models.digest.runs import DigestRow, claim
from models.digest.snapshots import DigestStuckRow
from tests.clock import Clock
from tests.digest.conftest import CHANNEL, DAY, FULL_SCOPE, NOW, Customers, make_context, top_level
from tests.digest.oracle import every_stuck_customer
from tests.digest.test_agreement import insert_households

ONE_DAY = timedelta(days=1)


def first_line_and_act_today(slack: SlackStandIn) -> tuple[str, list[str]]:
    blocks = top_level(slack)[-1]["blocks"]
    return blocks[1]["text"]["text"], blocks[2]["text"]["text"].split("\n")


def snapshots(db: Database) -> dict[Any, int]:
    """Recorded snapshots by digest day: how many customers each holds."""
    with db.sessions() as session:
        rows = session.execute(
            select(DigestRow.day, func.count(DigestStuckRow.customer_id))
            .join(DigestStuckRow, DigestStuckRow.digest_id == DigestRow.id, isouter=True)
            .where(DigestRow.stuck_recorded.is_(True))
            .group_by(DigestRow.day)
        ).all()
    return {day: int(n) for day, n in rows}


def test_newly_stuck_are_the_ones_stuck_since_the_previous_digest(
    db: Database, slack: SlackStandIn, customers: Customers
) -> None:
    yesterday = NOW - ONE_DAY
    customers.stuck("C-stays", days=40)  # stuck yesterday and today: not new
    customers.stuck("C-recovers", days=50)  # stuck yesterday, data flowing today: not counted at all
    # Granted 6.5 days before yesterday's digest: waiting then, past the 7-day window today.
    customers.add("C-crosses", authorizations=(("active", yesterday - timedelta(days=6, hours=12), FULL_SCOPE, None),))
    clock = Clock(yesterday)
    context = make_context(db, slack, clock)
    assert isinstance(run_digest(context, DAY - ONE_DAY, CHANNEL), DigestPosted)
    assert snapshots(db) == {DAY - ONE_DAY: 2}

    customers.stuck("C-new", days=30)  # imported since, already stuck
    with db.transaction() as session:
        session.execute(update(CustomerRow).where(CustomerRow.id == "C-recovers")
                        .values(enrollment_status="verified", last_data_at=NOW - timedelta(hours=2)))
    clock.set(NOW)
    assert isinstance(run_digest(context, DAY, CHANNEL), DigestPosted)

    first, act = first_line_and_act_today(slack)
    assert first == "*3 stuck, +1 since Sunday · 2 newly stuck*"
    # Longest stuck first, as in the full list: C-new stopped working 30 days ago, C-crosses 7.5 days ago.
    assert act == [
        "*Act today*",
        "• Newly stuck: C-new (SCE), re-authorize: past the verification window, still not connected",
        "• Newly stuck: C-crosses (SCE), re-authorize: past the verification window, still not connected",
    ]
    # Today's snapshot, and yesterday's (the one today's compared with); nothing older to prune yet.
    assert snapshots(db) == {DAY - ONE_DAY: 2, DAY: 3}


def test_no_previous_snapshot_no_newly_stuck_part(db: Database, slack: SlackStandIn, customers: Customers) -> None:
    customers.stuck("C-1")
    clock = Clock(NOW - 3 * ONE_DAY)
    context = make_context(db, slack, clock)
    assert isinstance(run_digest(context, DAY - 3 * ONE_DAY, CHANNEL), DigestPosted)
    first, act = first_line_and_act_today(slack)
    assert first == "*1 stuck*"  # the first digest: nothing to compare with, so nobody is "new"
    # As if Friday's digest was posted before migration 0015: no snapshot. Unknown is not zero.
    with db.transaction() as session:
        session.execute(delete(DigestStuckRow))
        session.execute(update(DigestRow).values(stuck_recorded=False))
    customers.stuck("C-2")
    clock.set(NOW)
    assert isinstance(run_digest(context, DAY, CHANNEL), DigestPosted)

    first, act = first_line_and_act_today(slack)
    assert first == "*2 stuck, +1 since Friday*"
    assert "newly" not in str(top_level(slack)[-1]["blocks"]).lower()
    assert act == ["*Act today*", "Nothing waits on a person: every escalation has an owner and no follow-up "
                   "falls due in the next day."]


def test_each_post_keeps_its_snapshot_and_the_one_it_compared_with(
    db: Database, slack: SlackStandIn, customers: Customers
) -> None:
    clock = Clock(NOW - 3 * ONE_DAY)
    context = make_context(db, slack, clock)
    for n in range(4):
        customers.stuck(f"C-{n}")
        clock.set(NOW - (3 - n) * ONE_DAY)
        assert isinstance(run_digest(context, DAY - (3 - n) * ONE_DAY, CHANNEL), DigestPosted)

    assert snapshots(db) == {DAY - ONE_DAY: 3, DAY: 4}
    with db.sessions() as session:
        assert session.scalar(select(func.count()).select_from(DigestStuckRow)) == 7
    # A preview after the post still compares with the digest the post compared with.
    preview = run_digest(context, DAY, CHANNEL, dry_run=True)
    assert isinstance(preview, DigestPreview)
    assert preview.digest.act_today.newly_stuck == NewlyStuck(1, (preview.digest.longest[-1],))
    assert preview.digest.longest[-1].customer_id == "C-3"


@pytest.mark.parametrize("seed", [7, 424242])
def test_both_paths_count_the_newly_stuck_as_the_oracle_does(db: Database, customers: Customers, seed: int) -> None:
    insert_households(db, 300, now=NOW, seed=seed)
    with db.transaction() as session:
        claim(session, DAY - ONE_DAY, CHANNEL, now=NOW, by="test")
        digest_id = session.scalars(select(DigestRow.id)).one()
        record_stuck(session, digest_id, NOW)
        then = every_stuck_customer(session, NOW)
    # Since then: some recovered, some were imported already stuck (ids a CSV line must quote among them).
    with db.transaction() as session:
        session.execute(update(CustomerRow).where(CustomerRow.id.in_([c.customer_id for c in then[::4]]))
                        .values(enrollment_status="verified", last_data_at=NOW))
    for n, customer_id in enumerate(['quo"te', "com,ma", "new\nline", "=formula", *(f"N-{n}" for n in range(8))]):
        customers.stuck(customer_id, days=300 + n)  # longest stuck: the first few newly stuck
    was_stuck = {c.customer_id for c in then}
    for now in (NOW, NOW + 8 * ONE_DAY):  # a week on, customers waiting then have crossed the window too
        with db.transaction() as session:
            expected = [c for c in every_stuck_customer(session, now) if c.customer_id not in was_stuck]
            listing = ListWriter(keep=10)
            listed = stuck_snapshot(session, now, listing=listing, newly_since=digest_id, newly_first=ACT_TODAY_LINES)
            counted = stuck_snapshot(session, now, newly_since=digest_id, newly_first=ACT_TODAY_LINES)
        assert len(expected) >= 12
        assert listed == counted
        assert counted.newly == NewlyStuck(len(expected), tuple(expected[:ACT_TODAY_LINES]))
    with db.transaction() as session:
        assert stuck_snapshot(session, NOW).newly is None
        assert stuck_snapshot(session, NOW, listing=ListWriter()).newly is None


def stuck(n: int) -> StuckCustomer:
    return StuckCustomer(f"C-{n:03d}", Utility.PGE, Reason.SCOPE_INCOMPLETE, NOW - timedelta(days=20 - n))


def rendered(newly: NewlyStuck | None) -> tuple[str, list[str]]:
    counts = StuckCounts(dict.fromkeys(STUCK_REASONS, 10), {})
    previous = PastDigest(DAY - ONE_DAY, StuckCounts(dict.fromkeys(STUCK_REASONS, 9), {}), stuck_snapshot=1)
    digest = compose_digest(DAY, NOW, counts, [], [previous], ActToday(newly_stuck=newly))
    blocks = [b.to_dict() for b in digest_blocks(digest)]
    return blocks[1]["text"]["text"], blocks[2]["text"]["text"].split("\n")


def test_the_first_few_newly_stuck_then_how_many_more() -> None:
    first, act = rendered(NewlyStuck(27, tuple(stuck(n) for n in range(ACT_TODAY_LINES))))

    assert first == "*60 stuck, +6 since Sunday · 27 newly stuck*"
    assert act[1] == "• Newly stuck: C-000 (PG&amp;E), re-authorize: partial scope: data types not all shared"
    assert len(act) == 1 + ACT_TODAY_LINES + 1
    assert act[-1] == f"• … and {27 - ACT_TODAY_LINES} more newly stuck"


@pytest.mark.parametrize("newly", [NewlyStuck(0), None])
def test_none_newly_stuck_or_unknown_says_nothing_of_it(newly: NewlyStuck | None) -> None:
    first, act = rendered(newly)

    assert first == "*60 stuck, +6 since Sunday*"
    assert len(act) == 2 and "newly" not in act[1]
