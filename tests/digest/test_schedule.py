"""When the digest goes out: at DIGEST_TIME on the local wall clock, daylight saving days included; on
start-up the same day when the bot was down; never for a day already past; and what an empty day says."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot import messages
from bot.features.digest.service import DigestAlreadyPosted, DigestPosted, DigestScheduler, run_digest
from bot.standins.slack_api import SlackStandIn
from commands.digest import digest_moment, due_day
from models import Database
from tests.clock import Clock
from tests.digest.conftest import (
    CHANNEL,
    DAY,
    NOW,
    Customers,
    make_context,
    top_level,
)

LOS_ANGELES = ZoneInfo("America/Los_Angeles")
STEP = timedelta(minutes=5)


def walk(scheduler: DigestScheduler, clock: Clock, start: datetime, end: datetime) -> list[tuple[datetime, date]]:
    """Tick every five minutes from `start` to `end`; the (moment, day) of each digest posted."""
    posted: list[tuple[datetime, date]] = []
    clock.set(start)
    while clock() <= end:
        outcome = scheduler.tick()
        if isinstance(outcome, DigestPosted):
            posted.append((clock(), outcome.run.day))
        clock.advance(STEP)
    return posted


@pytest.mark.parametrize(
    ("day", "day_before_at", "day_at"),
    [
        # Spring forward: 09:00 PST the day before is 17:00 UTC, 09:00 PDT on the day is 16:00 UTC.
        (date(2026, 3, 8), datetime(2026, 3, 7, 17, 0, tzinfo=UTC), datetime(2026, 3, 8, 16, 0, tzinfo=UTC)),
        # Fall back: 09:00 PDT the day before is 16:00 UTC, 09:00 PST on the day is 17:00 UTC.
        (date(2026, 11, 1), datetime(2026, 10, 31, 16, 0, tzinfo=UTC), datetime(2026, 11, 1, 17, 0, tzinfo=UTC)),
    ],
)
def test_the_digest_goes_out_at_nine_on_the_wall_clock_on_daylight_saving_days(
    db: Database, slack: SlackStandIn, customers: Customers, day: date, day_before_at: datetime, day_at: datetime
) -> None:
    customers.stuck("C-001", days=400)
    start = day_before_at - timedelta(hours=6)  # 03:00 the day before: nothing is due yet
    clock = Clock(start)
    scheduler = DigestScheduler(make_context(db, slack, clock), CHANNEL)

    posted = walk(scheduler, clock, start, day_at + timedelta(hours=20))

    assert posted == [(day_before_at, day - timedelta(days=1)), (day_at, day)]
    assert len(top_level(slack)) == 2


def test_a_digest_time_the_clock_skips_or_repeats_still_gives_one_digest(
    db: Database, slack: SlackStandIn, customers: Customers
) -> None:
    customers.stuck("C-001", days=400)
    # 02:30 does not exist on 2026-03-08; 01:30 happens twice on 2026-11-01.
    assert digest_moment(date(2026, 3, 8), time(2, 30), LOS_ANGELES) == datetime(2026, 3, 8, 10, 30, tzinfo=UTC)
    assert digest_moment(date(2026, 11, 1), time(1, 30), LOS_ANGELES) == datetime(2026, 11, 1, 8, 30, tzinfo=UTC)
    clock = Clock(NOW)
    skipped = DigestScheduler(make_context(db, slack, clock, digest_time=time(2, 30)), CHANNEL)
    repeated = DigestScheduler(make_context(db, slack, clock, digest_time=time(1, 30)), "C0REPEATED")

    spring = walk(skipped, clock, datetime(2026, 3, 8, 8, 0, tzinfo=UTC), datetime(2026, 3, 9, 7, 55, tzinfo=UTC))
    autumn = walk(repeated, clock, datetime(2026, 11, 1, 7, 0, tzinfo=UTC), datetime(2026, 11, 2, 7, 55, tzinfo=UTC))
    # A second instance starting during the repeated hour finds the day done.
    clock.set(datetime(2026, 11, 1, 9, 35, tzinfo=UTC))  # 01:35 PST, the second 01:30 hour
    again = DigestScheduler(make_context(db, slack, clock, digest_time=time(1, 30)), "C0REPEATED").tick()

    assert spring == [(datetime(2026, 3, 8, 10, 30, tzinfo=UTC), date(2026, 3, 8))]
    assert autumn == [(datetime(2026, 11, 1, 8, 30, tzinfo=UTC), date(2026, 11, 1))]
    assert isinstance(again, DigestAlreadyPosted)


def test_an_instance_started_after_the_digest_time_posts_at_start_up_the_same_day(
    db: Database, slack: SlackStandIn, customers: Customers
) -> None:
    customers.stuck("C-001")
    clock = Clock(NOW + timedelta(hours=6))  # 15:00 in Los Angeles; nobody posted at 09:00
    scheduler = DigestScheduler(make_context(db, slack, clock), CHANNEL)

    outcome = scheduler.tick()

    assert isinstance(outcome, DigestPosted) and outcome.run.day == DAY
    assert outcome.digest.as_of == clock()
    assert scheduler.tick() is None
    assert len(top_level(slack)) == 1


def test_a_day_missed_entirely_is_never_posted_later(
    db: Database, slack: SlackStandIn, customers: Customers
) -> None:
    customers.stuck("C-001")
    # Down all of Monday; started on Tuesday before 09:00, then past it.
    clock = Clock(NOW + timedelta(hours=15))  # Tuesday 00:00 in Los Angeles
    scheduler = DigestScheduler(make_context(db, slack, clock), CHANNEL)

    assert scheduler.tick() is None
    assert due_day(clock(), time(9, 0), LOS_ANGELES) is None
    clock.set(NOW + timedelta(days=1))
    outcome = scheduler.tick()

    assert isinstance(outcome, DigestPosted) and outcome.run.day == DAY + timedelta(days=1)
    assert len(top_level(slack)) == 1


def test_an_empty_day_says_nobody_is_stuck(db: Database, slack: SlackStandIn, customers: Customers) -> None:
    customers.healthy("C-001")
    customers.add("C-002", authorizations=(("pending", NOW - timedelta(days=2), "FB=1_3", None),))  # scope: stuck
    customers.add("C-003", authorizations=(("pending", NOW - timedelta(days=2), "FB=1_3_4_5", None),))  # waits
    customers.add("C-004")  # never connected: first-connection steps, not stuck
    context = make_context(db, slack, Clock(NOW + timedelta(days=1)))
    # The one stuck customer re-authorizes with every data type: the next day nobody is stuck.
    first = run_digest(make_context(db, slack, Clock(NOW)), DAY, CHANNEL)
    customers.grant("C-002", "pending", NOW + timedelta(hours=2))

    outcome = run_digest(context, DAY + timedelta(days=1), CHANNEL)

    assert isinstance(first, DigestPosted) and first.digest.total == 1
    assert isinstance(outcome, DigestPosted) and outcome.digest.is_empty
    message = slack.message(CHANNEL, outcome.ts)
    texts = [b["text"]["text"] for b in message["blocks"] if b["type"] == "section"]
    assert texts == [messages.DIGEST_EMPTY]
    assert message["text"] == messages.digest_text(0, -1)
    assert slack.thread(CHANNEL, outcome.ts) == []  # no list to post
    assert outcome.list_replies == 0 and outcome.run.total == 0
