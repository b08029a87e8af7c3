"""The outcomes report against a generated history with hand-worked answers, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from bot.features.outcomes.service import read_report
from commands.outcomes import OutcomesReport, WeekOutcomes, percentile_90, wait_warnings
from commands.policy import Utility
from models import Database
from tests.conftest import _truncate_all
from tests.outcomes.histories import AS_OF, DAY, HISTORY_START, PACIFIC, History, known_answers, pacific


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def reports(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, OutcomesReport]:
    """The known history loaded once per database (loading is most of the time); the reports are values."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path_factory.mktemp('outcomes')}/reauth.db")
        db.upgrade()
    else:
        db = request.getfixturevalue("postgres_database")
        _truncate_all(db)
    known_answers().load(db)
    with db.reading() as session:
        every = read_report(session, AS_OF, PACIFIC, since=date(2026, 8, 1))
        pge = read_report(session, AS_OF, PACIFIC, since=date(2026, 8, 1), utility=Utility.PGE)
    if request.param == "sqlite":
        db.dispose()
    else:
        _truncate_all(db)
    return {"every": every, "PGE": pge}


@pytest.fixture
def report(reports: dict[str, OutcomesReport]) -> OutcomesReport:
    return reports["every"]


def _week(report: OutcomesReport, utility: Utility, monday: date) -> WeekOutcomes:
    (week,) = [w for w in report.weeks if w.utility is utility and w.week == monday]
    return week


def test_the_week_of_the_dst_change_has_hand_computed_answers(report: OutcomesReport) -> None:
    week = _week(report, Utility.SCE, date(2026, 10, 26))
    # C1-C9: C9's Sunday 23:30 PST is still that week; C0 predates history.
    assert week.sent == 9
    assert week.reauthorized_7d == pytest.approx(4 / 9)
    assert week.connected_7d == pytest.approx(3 / 9)  # C1 (4 d), C2 (6 d), C3 (6.5 d); C4 took 10 d
    assert week.connected_14d == pytest.approx(4 / 9)
    assert week.verification_median == pytest.approx(5.5)  # (5 + 6) / 2
    assert week.verification_p90 == pytest.approx(9.0)  # rank ceil(0.9 * 4) = 4
    assert week.verification_count == 4
    assert (week.stuck_7d, week.stuck_14d) == (6, 5)
    # Over the 8 whose 30 days are over: C9's end on Dec 1, after the report's moment.
    assert week.repeat_rate == pytest.approx(1 / 8)  # C7
    assert week.escalation_rate == pytest.approx(1 / 8)  # C8


def test_monday_after_the_dst_change_starts_the_next_week(report: OutcomesReport) -> None:
    week = _week(report, Utility.SCE, date(2026, 11, 2))
    assert week.sent == 2  # C10 at 00:30 PST Monday, C7's second procedure
    assert week.connected_14d == 0
    assert week.verification_median is None and week.verification_p90 is None
    assert week.repeat_rate is None  # neither one's 30 days are over yet


def test_history_start_is_reported_and_nothing_before_it_counted(report: OutcomesReport) -> None:
    assert report.history_since == HISTORY_START
    assert report.procedures == 9 + 2 + 3


def test_a_utility_over_its_wait_two_weeks_running_is_named_with_the_wait_it_would_need(
    report: OutcomesReport,
) -> None:
    assert [(w.week, w.verification_p90) for w in report.weeks_of(Utility.PGE)] == [
        (date(2026, 11, 9), 8.0), (date(2026, 11, 16), 10.0)
    ]
    (warning,) = report.warnings
    assert warning.utility is Utility.PGE
    assert warning.wait_days == 7
    assert warning.weeks == (date(2026, 11, 9), date(2026, 11, 16))
    assert warning.needed_days == 10


def test_a_window_not_over_yet_counts_neither_way(report: OutcomesReport) -> None:
    # P3 was sent Nov 16 10:00 PST and connected 11 days later; its 14 days end after Nov 30 09:00, so
    # it is not counted even though it already connected (early successes alone would inflate the share).
    week = _week(report, Utility.PGE, date(2026, 11, 16))
    assert week.connected_7d == 0 and week.connected_14d is None
    assert week.verification_p90 == 10.0  # the verification itself is measured


def test_one_utility_only(reports: dict[str, OutcomesReport]) -> None:
    only = reports["PGE"]
    assert only.utilities() == [Utility.PGE]
    assert only.procedures == 3


def test_no_history_yet_says_so(db: Database) -> None:
    with db.reading() as session:
        empty = read_report(session, AS_OF, PACIFIC)
    assert empty.history_since is None and empty.weeks == ()


def test_nearest_rank_percentile_by_hand() -> None:
    assert percentile_90([1.0] * 9 + [10.0]) == 1.0  # rank 9 of 10
    assert percentile_90([float(n) for n in range(1, 12)]) == 10.0  # rank ceil(9.9) = 10
    assert percentile_90([]) is None


def test_wait_warning_needs_consecutive_weeks() -> None:
    def week(monday: date, p90: float) -> WeekOutcomes:
        return WeekOutcomes(Utility.SCE, monday, 10, None, None, None, p90, p90, 10, None, None)

    apart = [week(date(2026, 11, 2), 9.0), week(date(2026, 11, 16), 9.5)]
    assert wait_warnings(apart) == []
    running = [*apart, week(date(2026, 11, 23), 7.2)]
    (warning,) = wait_warnings(running)
    assert warning.weeks == (date(2026, 11, 16), date(2026, 11, 23)) and warning.needed_days == 10
    at_the_wait = [week(date(2026, 11, 16), 7.0), week(date(2026, 11, 23), 7.0)]
    assert wait_warnings(at_the_wait) == []


def test_an_answer_exactly_at_the_end_of_its_window_counts_and_a_millisecond_later_does_not(db: Database) -> None:
    """The windows are compared exactly on both databases (SQLite's are Julian day numbers)."""
    monday = pacific(2026, 9, 14, 10)
    late = timedelta(milliseconds=1)
    history = History().customer("E1").customer("E2")
    history.steps("E1", monday).grant("E1", monday + 7 * DAY).connect("E1", monday + 14 * DAY)
    history.steps("E2", monday).grant("E2", monday + 7 * DAY + late).connect("E2", monday + 14 * DAY + late)
    history.load(db)
    with db.reading() as session:
        report = read_report(session, AS_OF, PACIFIC, since=date(2026, 9, 14))
    week = _week(report, Utility.SCE, date(2026, 9, 14))
    assert (week.sent, week.reauthorized_7d, week.connected_14d) == (2, 0.5, 0.5)
    assert report.verification_days[Utility.SCE] == (7.0, 7.0)
