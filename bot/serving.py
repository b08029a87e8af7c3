"""`reauth-bot serve` in HTTP mode: N processes under gunicorn, each one a full instance; SIGTERM drains.

Each gunicorn worker process builds its own instance after the fork (its own database pool, Slack client,
outbox name and background workers), so the processes share nothing but the database, which already decides
who sends each post, who fires each follow-up and who posts the digest. Threaded workers (`gthread`) serve
several requests per process, as Slack's retries and an agent's clicks arrive together.

On SIGTERM a process stops accepting and finishes the requests in flight (gunicorn's graceful stop), then
`Instance.drain`: no new background pass, the Slack listeners still running after their ack finish, the
outbox leases it holds are given back (due now) so another instance takes that work at once, and it exits,
all within `SHUTDOWN_GRACE` seconds. After the grace, gunicorn kills what is left; a row whose lease was not
given back waits for the lease to run out, and is then read back before it is sent again.

Waitress stays for serving the app inside a process that does other things (the demo, the tests, the
benchmark harness): gunicorn forks and owns its process, waitress runs in a thread.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

from gunicorn.app.base import BaseApplication
from slack_bolt import App

from bot.app import build_context, create_app
from bot.context import BotContext
from bot.features.post_steps.listeners import POSTING_THREADS
from bot.periodic import Periodic
from bot.server import WSGIApp, wsgi_app
from bot.settings import Settings
from bot.workers import start_workers
from commands.post_steps import StepTemplate
from models import Database

log = logging.getLogger(__name__)

# Request threads per process: Slack needs an ack within 3 s, and a click's helpdesk call can take seconds.
THREADS = 8
# Listener threads per process: the work Bolt runs after each ack (lookups, helpdesk and Slack calls).
LISTENER_THREADS = 16
# Database connections each process keeps open: one per thread that reads or writes during a request (the
# listeners, and the posting threads of "Post steps"), so that under load a transaction finds an open
# connection instead of opening one (a PostgreSQL backend to start, its plan cache empty) and closing it
# after one lookup: the bench saw one opened every 6 answers with SQLAlchemy's default 5 + 10. A few more
# past that for the background workers, closed once returned. PostgreSQL's max_connections (100 by
# default) must cover POOL_SIZE + POOL_OVERFLOW per process.
POOL_SIZE = LISTENER_THREADS + POSTING_THREADS
POOL_OVERFLOW = 2
# Kept from the grace for the last steps (giving back leases, closing the pool) after the waits.
_RELEASE_MARGIN = 1.0


@dataclass
class Instance:
    """One process's bot: the WSGI app, its background workers and Bolt's listener threads."""

    context: BotContext
    app: App
    wsgi: WSGIApp
    workers: list[Periodic]
    listeners: ThreadPoolExecutor

    def drain(self, grace: float) -> None:
        """Finish what was started, start nothing new, give back leases: within `grace` seconds."""
        deadline = time.monotonic() + max(0.0, grace - _RELEASE_MARGIN)
        self.context.outbox.stop()
        for worker in self.workers:
            worker.request_stop()
        finished = _wait(lambda: self.listeners.shutdown(wait=True), deadline)
        for worker in self.workers:
            worker.stop(timeout=max(0.0, deadline - time.monotonic()))
        busy = [worker.name for worker in self.workers if worker.running()]
        released = self.context.outbox.release_leases()
        log.info("drained: listeners_finished=%s workers_still_busy=%s leases_released=%s", finished, busy, released)
        self.context.db.dispose()
        self.context.responses.close()


def start_instance(settings: Settings, templates: Mapping[str, StepTemplate]) -> Instance:
    """Build one instance in this process (after any fork) and start its background workers."""
    db = Database(settings.database_url, **pool_options(settings.database_url))
    db.ensure_schema(migrate=db.is_sqlite)
    context = build_context(settings, db=db, templates=templates)
    listeners = ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="listener")
    app = create_app(settings, context=context, listener_executor=listeners)
    return Instance(context, app, wsgi_app(app, db), start_workers(context), listeners)


def pool_options(database_url: str) -> dict[str, Any]:
    """The connection pool of one serving process (SQLite keeps SQLAlchemy's own)."""
    if database_url.startswith("sqlite"):
        return {}
    return {"pool_size": POOL_SIZE, "max_overflow": POOL_OVERFLOW}


def _wait(task: Callable[[], object], deadline: float) -> bool:
    """Run `task` in a daemon thread; True if it ended before `deadline` (monotonic)."""
    thread = threading.Thread(target=task, name="drain", daemon=True)
    thread.start()
    thread.join(max(0.0, deadline - time.monotonic()))
    return not thread.is_alive()


class GunicornServer(BaseApplication):
    """gunicorn run from code: `workers` processes of `THREADS` threads, each building its own instance."""

    def __init__(self, settings: Settings, templates: Mapping[str, StepTemplate], *, workers: int) -> None:
        self.settings = settings
        self.templates = templates
        address = settings.bind_address
        if ":" in address:
            address = f"[{address}]"  # IPv6, as gunicorn reads it
        self.options: dict[str, Any] = {
            "bind": f"{address}:{settings.port}",
            "workers": workers,
            "worker_class": "gthread",
            "threads": THREADS,
            # gunicorn kills the workers this long after SIGTERM; the drain fits inside it.
            "graceful_timeout": math.ceil(settings.shutdown_grace),
            "keepalive": 5,
            "preload_app": False,  # every worker builds its own instance after the fork
            "worker_exit": _drain_on_exit,
            "loglevel": logging.getLevelName(logging.getLogger().getEffectiveLevel()).lower(),
            "proc_name": "reauth-bot",
        }
        self.instance: Instance | None = None
        super().__init__()

    def load_config(self) -> None:
        for name, value in self.options.items():
            self.cfg.set(name, value)

    def load(self) -> Any:  # a WSGI app; the stubs' type is narrower than the WSGI one bot.server uses
        self.instance = start_instance(self.settings, self.templates)
        log.info("worker ready: serving HTTP on port %s: POST /slack/events, GET /healthz", self.settings.port)
        return self.instance.wsgi


def _drain_on_exit(server: Any, worker: Any) -> None:
    """gunicorn's `worker_exit` hook, in the worker process once it stopped accepting and its requests ended."""
    application = worker.app
    if isinstance(application, GunicornServer) and application.instance is not None:
        application.instance.drain(application.settings.shutdown_grace)
