"""Serving the app: HTTP (waitress, `POST /slack/events`, `GET /healthz`) or Socket Mode."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress import wasyncore
from waitress.server import create_server

from bot.request_guard import MAX_BODY, request_guard
from models import Database

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def wsgi_app(app: App, db: Database) -> WSGIApp:
    """Slack at `POST /slack/events`, behind the request guard; `GET /healthz` is 200 when every database
    check passes, else 503 naming the failed ones."""
    slack = SlackRequestHandler(app, path="/slack/events")

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
    # Closing from the loop's own thread, woken by its trigger, ends run() at once and safely.
    server.trigger.pull_trigger(lambda: wasyncore.close_all(server._map))


def bound_port(server: Any) -> int:
    return int(server.effective_port)
