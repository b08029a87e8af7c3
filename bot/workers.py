"""Background work inside `serve`: every instance runs the same workers; the database picks who acts."""

from __future__ import annotations

from typing import Protocol

from bot.context import BotContext
from bot.digest import start_scheduler
from bot.follow_ups import FollowUpWorker
from bot.outbox import OutboxWorker


class Worker(Protocol):
    def stop(self, timeout: float = ...) -> None: ...


def start_workers(context: BotContext) -> list[Worker]:
    """Start every background worker of one instance; `serve` stops them on shutdown."""
    workers: list[Worker] = [OutboxWorker(context.outbox).start()]
    workers.append(FollowUpWorker(context).start())
    digest = start_scheduler(context)
    if digest is not None:
        workers.append(digest)
    return workers
