"""The real app served on 127.0.0.1 against a Slack stand-in: used by the demo, the tests and the benchmark."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from types import TracebackType
from typing import Any, Self

import httpx
from slack_bolt import App

from bot.app import create_app
from bot.context import utc_now
from bot.server import bound_port, http_server, stop_server
from bot.settings import Settings
from bot.standins.slack_api import SlackStandIn
from bot.standins.slack_requests import SignedRequest, SlackRequests
from models import Database

SIGNING_SECRET = "standin-signing-secret"


@dataclasses.dataclass(frozen=True)
class Acked:
    status: int
    body: str
    seconds: float
    response_key: str


class LocalBot:
    """`create_app` + waitress on a free port + a Slack stand-in; a context manager."""

    def __init__(
        self,
        db: Database,
        *,
        clock: Callable[[], datetime] = utc_now,
        settings: Settings | None = None,
        slack: SlackStandIn | None = None,
        app_factory: Callable[[Settings, Database, Callable[[], datetime]], App] | None = None,
    ) -> None:
        self.db = db
        self.clock = clock
        self.slack = slack or SlackStandIn()
        self._owns_slack = slack is None
        self._base_settings = settings or Settings()
        self._app_factory = app_factory
        self.requests = SlackRequests(SIGNING_SECRET)
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.http = httpx.Client(timeout=30.0, trust_env=False)

    def start(self) -> Self:
        if self._owns_slack:
            self.slack.start()
        base = self._base_settings
        self.settings = dataclasses.replace(
            base,
            slack_bot_token=self.slack.token,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=self.slack.api_url,
            # A tour or a test about something else lets every stand-in agent in; one about access control
            # gives its own allow-list.
            allow_all_users=base.allow_all_users or not (base.allowed_users or base.allowed_usergroups),
        )
        if self._app_factory is not None:
            self.app = self._app_factory(self.settings, self.db, self.clock)
        else:
            self.app = create_app(self.settings, db=self.db, clock=self.clock)
        self._server = http_server(self.app, self.db, host="127.0.0.1", port=0)
        self._thread = threading.Thread(target=self._server.run, name="local-bot-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.http.close()
        if self._server is not None:
            stop_server(self._server)
        if self._thread is not None:
            self._thread.join(5)
        if self._owns_slack:
            self.slack.stop()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    @property
    def port(self) -> int:
        return bound_port(self._server)

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/slack/events"

    def send(self, request: SignedRequest) -> httpx.Response:
        return self.http.post(self.events_url, content=request.body, headers=request.headers)

    def slash(self, text: str, *, user_id: str = "U0AGENT", command: str = "/reauth-check", **extra: Any) -> Acked:
        """Send a signed slash command; returns the ack and the key of its response_url."""
        key = f"cmd-{uuid.uuid4().hex[:10]}"
        request = self.requests.slash_command(
            command, text, user_id=user_id, response_url=self.slack.response_url(key), **extra
        )
        started = time.perf_counter()
        response = self.send(request)
        return Acked(response.status_code, response.text, time.perf_counter() - started, key)

    def answer(self, acked: Acked, timeout: float = 10.0) -> dict[str, Any]:
        """The message the app posted to the command's response_url."""
        return self.slack.wait_for_responses(acked.response_key, 1, timeout)[0]
