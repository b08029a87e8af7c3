"""The weekly outcomes section and chart in the digest: once per week and channel, whatever the instances."""

from __future__ import annotations

import io
import struct
import threading
from datetime import timedelta
from typing import Any

import matplotlib.image
import pytest

from bot.features.digest.service import RETRY_AFTER_FAILURE, DigestFailed, DigestOutcome, DigestPosted, DigestScheduler
from bot.features.outcomes.chart import ARTICLE_BAND, chart_data, render_chart
from bot.features.outcomes.service import read_report
from bot.standins.slack_api import SlackStandIn
from bot.terminal_text import blocks_as_text
from commands.policy import Utility
from models import Database
from tests.clock import Clock
from tests.digest.conftest import DAY, NOW, make_context, top_level
from tests.outcomes.histories import AS_OF, PACIFIC, known_answers

CHANNELS = ("C0DIGEST", "C0OTHER")
CHART = "outcomes-2026-11-30.png"


def png_size(png: bytes) -> tuple[int, int]:
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert png[12:16] == b"IHDR"
    width, height = struct.unpack(">II", png[16:24])
    return width, height


def _charts(slack: SlackStandIn, channel: str) -> list[dict[str, Any]]:
    files = []
    for message in slack.messages(channel):
        files += [f for f in message.get("files") or [] if f["name"].startswith("outcomes-")]
    return files


def _race(db: Database, slack: SlackStandIn, clock: Clock, channel: str, instances: int = 3) -> list[DigestOutcome]:
    schedulers = [DigestScheduler(make_context(db, slack, clock, digest_channel=channel), channel)
                  for _ in range(instances)]
    outcomes: list[DigestOutcome | None] = [None] * instances
    start = threading.Barrier(instances)

    def tick(n: int) -> None:
        start.wait(timeout=10)
        outcomes[n] = schedulers[n].tick()

    threads = [threading.Thread(target=tick, args=(n,)) for n in range(instances)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return [o for o in outcomes if o is not None]


def test_the_weekly_section_and_chart_go_out_once_per_week_and_channel(
    db: Database, slack: SlackStandIn, clock: Clock
) -> None:
    known_answers().load(db)
    for channel in CHANNELS:
        outcomes = _race(db, slack, clock, channel)
        assert len([o for o in outcomes if isinstance(o, DigestPosted)]) == 1, outcomes
    for channel in CHANNELS:
        (message,) = top_level(slack, channel)
        text = blocks_as_text(message["blocks"])
        assert "Did the steps work?" in text
        assert "PG&E: the measured 90th percentile verification time exceeded the configured 7-day wait" in text
        (chart,) = _charts(slack, channel)
        assert chart["name"] == CHART
    uploads = [content for name, content in slack.uploads() if name == CHART]
    assert len(uploads) == len(CHANNELS)
    width, height = png_size(uploads[0])
    assert 800 <= width <= 2000 and 300 <= height <= 1200
    assert matplotlib.image.imread(io.BytesIO(uploads[0]), format="png").shape[:2] == (height, width)

    # The rest of the week: daily digests without the section or a chart; a re-run Monday changes nothing.
    clock.set(NOW + timedelta(days=1))
    _race(db, slack, clock, CHANNELS[0])
    tuesday = top_level(slack, CHANNELS[0])[-1]
    assert "Did the steps work?" not in blocks_as_text(tuesday["blocks"])
    assert len(_charts(slack, CHANNELS[0])) == 1
    assert DAY.weekday() == 0


def test_a_failed_chart_upload_is_retried_and_posted_once(db: Database, slack: SlackStandIn, clock: Clock) -> None:
    known_answers().load(db)
    scheduler = DigestScheduler(make_context(db, slack, clock), CHANNELS[0])
    slack.fail_next("files.getUploadURLExternal", status=200, error="internal_error")
    # The list fits in messages, so the chart is the first file of the run.
    assert isinstance(scheduler.tick(), DigestFailed)
    clock.advance(RETRY_AFTER_FAILURE)
    assert isinstance(scheduler.tick(), DigestPosted)
    assert len(top_level(slack, CHANNELS[0])) == 1
    assert len(_charts(slack, CHANNELS[0])) == 1


def test_the_chart_shows_the_report(sqlite_db: Database) -> None:
    known_answers().load(sqlite_db)
    with sqlite_db.reading() as session:
        report = read_report(session, AS_OF, PACIFIC, since=AS_OF.date() - timedelta(weeks=12))
    data = chart_data(report)
    assert data.band == ARTICLE_BAND == (5, 7)
    assert data.verification_days == {"SCE": (3.0, 5.0, 6.0, 9.0), "PG&E": (2.0, 8.0, 10.0)}
    assert data.connected_14d["SCE"] == tuple(
        (w.week, w.connected_14d) for w in report.weeks_of(Utility.SCE) if w.connected_14d is not None
    )
    # P1 and P2 connected 3 and 9 days after their steps; P3's 14 days are not over.
    assert dict(data.connected_14d["PG&E"]) == {DAY - timedelta(weeks=3): 1.0}
    width, height = png_size(render_chart(data))
    assert (width, height) == (1100, 420)


@pytest.mark.parametrize("weekday", ["Tuesday", "tue"])
def test_outcomes_weekday_is_read_by_name(weekday: str) -> None:
    from bot.settings import Settings

    assert Settings.from_env({"OUTCOMES_WEEKDAY": weekday}).outcomes_weekday == 1


@pytest.mark.parametrize(("name", "value", "message"), [
    ("OUTCOMES_WEEKDAY", "Moonday", "OUTCOMES_WEEKDAY must be a day of the week such as Monday"),
    ("HISTORY_RETENTION_DAYS", "two years", "HISTORY_RETENTION_DAYS must be a whole number of days such as 730"),
    ("HISTORY_RETENTION_DAYS", "0", "HISTORY_RETENTION_DAYS must be a whole number of days such as 730"),
])
def test_bad_outcome_settings_are_named(name: str, value: str, message: str) -> None:
    from bot.settings import Settings, SettingsError

    with pytest.raises(SettingsError, match=message):
        Settings.from_env({name: value})
