"""`reauth-bot outcomes [--since D] [--utility U] [--json | --csv]` on the known history."""

from __future__ import annotations

import csv
import io
import json

import pytest

from bot.cli import main
from models import Database
from tests.digest.conftest import url_of
from tests.outcomes.histories import AS_OF, known_answers

ARGS = ["outcomes", "--since", "2026-08-01", "--as-of", AS_OF.isoformat()]


@pytest.fixture
def history(sqlite_db: Database, monkeypatch: pytest.MonkeyPatch) -> Database:
    monkeypatch.setenv("DATABASE_URL", url_of(sqlite_db))
    known_answers().load(sqlite_db)
    return sqlite_db


def test_json_has_every_week_and_the_wait_warning(history: Database, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*ARGS, "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["history_since"] == "2026-09-01T16:00:00+00:00"
    weeks = {(w["utility"], w["week"]): w for w in report["weeks"]}
    assert sorted(weeks) == [("PGE", "2026-11-09"), ("PGE", "2026-11-16"), ("SCE", "2026-10-26"),
                             ("SCE", "2026-11-02")]
    dst_week = weeks[("SCE", "2026-10-26")]
    assert (dst_week["procedures_sent"], dst_week["verification_median_days"], dst_week["verification_p90_days"]) == (
        9, 5.5, 9.0)
    (warning,) = report["warnings"]
    assert (warning["utility"], warning["configured_wait_days"], warning["needed_wait_days"]) == ("PGE", 7, 10)


def test_csv_is_one_row_per_utility_and_week(history: Database, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*ARGS, "--csv", "--utility", "pge"]) == 0
    rows = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    assert [(r["utility"], r["week"], r["procedures_sent"], r["verification_p90_days"]) for r in rows] == [
        ("PGE", "2026-11-09", "2", "8.0"), ("PGE", "2026-11-16", "1", "10.0")]


def test_text_says_where_history_starts_and_warns(history: Database, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(ARGS) == 0
    out = capsys.readouterr().out
    assert out.startswith("History since 2026-09-01")
    assert "the wait would have to be 10 days" in out and "The policy is unchanged" in out


@pytest.mark.parametrize(("extra", "message"), [
    (["--since", "last week"], "--since 'last week' is not a date"),
    (["--utility", "ConEd"], "--utility 'ConEd' is not a utility we serve: use one of SCE, PGE, SDGE"),
])
def test_bad_input_says_what_to_do(
    history: Database, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    assert main(["outcomes", *extra]) == 2
    assert message in capsys.readouterr().err


def test_json_and_csv_together_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["outcomes", "--json", "--csv"])
    assert exited.value.code == 2
    assert "not allowed with argument" in capsys.readouterr().err
