"""What every listener and job needs, built once per process by `create_app` or the CLI."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bot.settings import Settings
from models import Database


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class BotContext:
    settings: Settings
    db: Database
    # The demo and the tests run the real code at a chosen moment; production reads the wall clock.
    clock: Callable[[], datetime] = field(default=utc_now)
