"""Real `reauth-bot serve` processes for the crash, SIGTERM and several-process tests: start, wait, kill.

Every wait is on a condition (a port answering, a row changing), never a fixed sleep, and bounded.
Everything listens on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from sqlalchemy import select

from bot.context import utc_now
from bot.features.post_steps.blocks import POST_REPLY_ACTION
from bot.standins.helpdesk import HelpdeskStandIn
from bot.standins.server import poll
from bot.standins.slack_api import SlackStandIn
from bot.standins.slack_requests import SlackRequests
from models import Database
from models.outbox import OutboxRow, OutboxStatus
from tests.e2e.serving import serve_env
from tests.post_steps.conftest import TICKET, button, credentials_for, kind_of

START_TIMEOUT = 60.0  # a loaded 2-core machine can take a while to import and migrate

_T = TypeVar("_T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Serve:
    """One `reauth-bot serve` process; its output is collected in a file so a full pipe never blocks it."""

    env: dict[str, str]
    folder: Path
    args: tuple[str, ...] = ()
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Serve:
        self.log_path = self.folder / f"serve-{self.port}-{time.monotonic_ns()}.log"
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "bot", "serve", *self.args],
                env={**self.env, "PORT": str(self.port), "BIND_ADDRESS": "127.0.0.1"},
                cwd=self.folder, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the master and its workers die together
            )
        self.wait_healthy()
        return self

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def wait_healthy(self) -> None:
        assert self.process is not None
        with httpx.Client(trust_env=False, timeout=5) as http:
            deadline = time.monotonic() + START_TIMEOUT
            while True:
                try:
                    if http.get(f"{self.base_url}/healthz").status_code == 200:
                        return
                except httpx.TransportError:
                    pass
                assert self.process.poll() is None, f"serve exited at start-up:\n{self.output()}"
                assert time.monotonic() < deadline, f"serve did not answer /healthz in {START_TIMEOUT} s"
                time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL to the master and every worker: no handler runs, nothing is released (a machine lost)."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=20)

    def terminate(self, timeout: float = 60.0) -> int:
        """SIGTERM, then wait for the drain; returns the exit code."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=timeout)

    def stop_quietly(self) -> None:
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=20)


@contextlib.contextmanager
def serving(env: dict[str, str], folder: Path, *args: str) -> Iterator[Serve]:
    process = Serve(env, folder, args).start()
    try:
        yield process
    finally:
        process.stop_quietly()


def wait_until(read: Callable[[], _T], ready: Callable[[_T], bool], what: str, timeout: float = 30.0) -> _T:
    value, done = poll(read, ready, timeout)
    assert done, f"timed out after {timeout} s waiting for {what}; last seen: {value!r}"
    return value


def outbox_rows(db: Database) -> list[OutboxRow]:
    with db.sessions() as session:
        return list(session.scalars(select(OutboxRow).order_by(OutboxRow.id)))


def leases_expired(db: Database) -> bool:
    """No pending row is leased any more (the real clock: `serve` runs on it)."""
    now = utc_now()
    return not any(row.status == OutboxStatus.PENDING and row.leased_until is not None and row.leased_until >= now
                   for row in outbox_rows(db))


# --- one deployment on a SQLite file, its settings, and the agent's path through it -------------------

SECRET = "e2e-signing-secret"
CHANNEL = "C0ESCALATE"
LEASE_SECONDS = "2"  # short, so a restart after a crash does not wait the production 5 minutes


def env_for(folder: Path, slack: SlackStandIn, helpdesk: HelpdeskStandIn | None = None) -> dict[str, str]:
    settings = {"SLACK_BOT_TOKEN": slack.token, "SLACK_SIGNING_SECRET": SECRET, "SLACK_API_URL": slack.api_url,
                "ESCALATION_CHANNEL": CHANNEL, "OUTBOX_LEASE_SECONDS": LEASE_SECONDS}
    if helpdesk is not None:
        settings |= {"HELPDESK": kind_of(helpdesk), "HELPDESK_URL": helpdesk.base_url, **credentials_for(helpdesk)}
    return serve_env(folder, **settings)


def database(folder: Path) -> Database:
    db = Database(f"sqlite:///{folder}/serve.db")
    db.ensure_schema(migrate=True)
    return db


def restart_after_the_lease(db: Database, env: dict[str, str], folder: Path) -> Serve:
    wait_until(lambda: leases_expired(db), bool, "the killed process's leases to run out")
    return Serve(env, folder).start()


def click_post(serve: Serve, slack: SlackStandIn, customer: str, action_id: str, key: str) -> dict[str, Any]:
    """The agent's path: /reauth-check with the ticket, then a click on one of the answer's buttons."""
    requests = SlackRequests(SECRET)
    with httpx.Client(trust_env=False, timeout=10) as http:
        command = requests.slash_command("/reauth-check", f"{customer} {TICKET}", response_url=slack.response_url(key))
        assert http.post(f"{serve.base_url}/slack/events", content=command.body, headers=command.headers).is_success
        answer = slack.wait_for_responses(key, 1, timeout=30)[0]
        opened_before = len(slack.calls_to("views.open"))
        click = requests.block_actions(action_id=action_id, value=button(answer, action_id)["value"],
                                       response_url=slack.response_url(f"{key}-click"))
        assert http.post(f"{serve.base_url}/slack/events", content=click.body, headers=click.headers).is_success
        if action_id == POST_REPLY_ACTION:
            # A reply to the customer is confirmed in a form that shows it first: the agent submits it.
            view = slack.wait_for("views.open", opened_before + 1, 30)[-1].args["view"]
            view = json.loads(view) if isinstance(view, str) else view
            field = next(b for b in view["blocks"] if b.get("block_id") == "ticket")
            values = {"ticket": {"value": {"type": "plain_text_input",
                                           "value": field["element"].get("initial_value") or TICKET}}}
            submit = requests.view_submission(view=view, state_values=values)
            answered = http.post(f"{serve.base_url}/slack/events", content=submit.body, headers=submit.headers)
            assert answered.is_success and answered.text == "", answered.text
    return answer


