"""`/reauth-check` through the real app over HTTP on 127.0.0.1, on the demo dataset, against the Slack stand-in."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.demo.harness import LocalBot
from bot.demo.stage import DEMO_NOW
from models import Database
from tests.demo_dataset import load_demo_dataset


@pytest.fixture
def bot(sqlite_db: Database) -> Iterator[LocalBot]:
    load_demo_dataset(sqlite_db)
    with LocalBot(sqlite_db, clock=lambda: DEMO_NOW) as running:
        yield running
