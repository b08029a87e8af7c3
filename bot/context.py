"""What every listener and job needs, built once per process by `bot.app.build_context`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from slack_sdk import WebClient

from bot.settings import Settings
from models import Database

if TYPE_CHECKING:
    from bot.outbox import Outbox


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class BotContext:
    settings: Settings
    db: Database
    client: WebClient
    # The demo and the tests run the real code at a chosen moment; production reads the wall clock.
    clock: Callable[[], datetime] = field(default=utc_now)
    # Set by build_context: the outbox's deliveries need the context itself.
    outbox: Outbox = field(init=False)
