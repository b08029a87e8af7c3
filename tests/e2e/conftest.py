"""The real app over HTTP on 127.0.0.1, on the demo dataset, against the Slack stand-in."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.demo.harness import LocalBot
from bot.demo.tour import DATASET, DEMO_NOW
from models import Database
from models.imports import import_files


def load_demo_dataset(db: Database) -> None:
    results = import_files(db, sorted(Path(DATASET).glob("*.csv")))
    assert all(not isinstance(r, Exception) for r in results), results


@pytest.fixture
def bot(sqlite_db: Database) -> Iterator[LocalBot]:
    load_demo_dataset(sqlite_db)
    with LocalBot(sqlite_db, clock=lambda: DEMO_NOW) as running:
        yield running
