"""What every listener and job needs, built once per process by `bot.app.build_context`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from slack_sdk import WebClient

from bot.answers import ResponseUrls
from bot.settings import Settings
from models import Database

if TYPE_CHECKING:
    from bot.helpdesk import Helpdesk
    from bot.outbox import Outbox
    from commands.post_steps import StepTemplate


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class BotContext:
    settings: Settings
    db: Database
    client: WebClient
    # The demo and the tests run the real code at a chosen moment; production reads the wall clock.
    clock: Callable[[], datetime] = field(default=utc_now)
    # None when HELPDESK is not set: "Post steps to ticket" then says that no helpdesk is configured.
    helpdesk: Helpdesk | None = None
    # The canned steps by template name, loaded and checked at start-up (post_steps.template_files).
    templates: Mapping[str, StepTemplate] = field(default_factory=dict)
    # Slash command answers, posted over connections kept open (closed by serve's drain).
    responses: ResponseUrls = field(default_factory=ResponseUrls)
    # Set by build_context: the outbox's deliveries need the context itself.
    outbox: Outbox = field(init=False)
