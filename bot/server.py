"""Serving the app: HTTP (waitress, `POST /slack/events`, `GET /healthz`) or Socket Mode."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.adapter.wsgi import SlackRequestHandler
from slack_bolt.adapter.wsgi.http_request import WsgiHttpRequest
from slack_bolt.request.internals import build_context
from waitress import wasyncore
from waitress.server import create_server

from bot.request_guard import MAX_BODY, media_type, parse_slack_body, request_guard
from models import Database

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class SlackRequests(SlackRequestHandler):
    """Bolt's WSGI handler, handing Bolt the body as the request guard read it.

    Bolt takes any form body holding the word "payload" for an interaction (`parse_body`), so a slash
    command such as `/reauth-check payload.team@example.com` would reach no listener. The raw body stays as
    it came, for Bolt's signature check.
    """

    def dispatch(self, request: WsgiHttpRequest) -> BoltResponse:
        bolt = BoltRequest(body=request.get_body(), query=request.query_string, headers=request.get_headers())
        # Read already, and accepted, by the guard in front (`wsgi_app`): this reading cannot be refused.
        body = parse_slack_body(bolt.raw_body, media_type(bolt.content_type or ""))
        if body != bolt.body:
            bolt.body = body
            bolt.context = build_context(BoltContext(), body)
        return self.app.dispatch(bolt)


def wsgi_app(app: App, db: Database) -> WSGIApp:
    """Slack at `POST /slack/events`, behind the request guard; `GET /healthz` is 200 when every database
    check passes, else 503 naming the failed ones."""
    slack = SlackRequests(app, path="/slack/events")

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == "/healthz" and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            checks = db.health()
            healthy = all(checks.values())
            body = json.dumps({
                "ok": healthy,
                "database": "up" if checks["answers"] else "down",
                "checks": {name: "ok" if passed else "failed" for name, passed in checks.items()},
                "failed": [name for name, passed in checks.items() if not passed],
            }).encode()
            start_response("200 OK" if healthy else "503 Service Unavailable",
                           [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        return slack(environ, start_response)

    return request_guard(application)


def http_server(app: App, db: Database, *, host: str = "0.0.0.0", port: int = 3000, threads: int = 8) -> Any:
    """A waitress server, not yet running: call `.run()` (blocks) and `.close()`; port 0 picks a free one."""
    # waitress stops reading a body past the guard's limit itself (413), instead of buffering it first.
    return create_server(wsgi_app(app, db), host=host, port=port, threads=threads, ident="reauth-bot",
                         max_request_body_size=MAX_BODY)


def stop_server(server: Any) -> None:
    """Stop a server made by `http_server`: its threads, its open keep-alive connections, its socket.

    A plain `close()` leaves `run()` looping while any client keeps a connection open.
    """
    server.task_dispatcher.shutdown(timeout=2)
    try:
        # Closing from the loop's own thread, woken by its trigger, ends run() at once and safely.
        server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))
    except OSError:
        # The trigger's pipe is already closed (seen once in a loaded test run, EBADF): close from here
        # instead; run() ends at its next poll, within the loop's one-second timeout, with nothing to serve.
        log.warning("http server: its wake-up pipe was already closed; closing its sockets directly")
        wasyncore.close_all(server._map)


def bound_port(server: Any) -> int:
    return int(server.effective_port)
