"""Where `serve` listens, and stopping the local HTTP server (the demo's and the tests' `LocalBot`)."""

from __future__ import annotations

import os
import threading

import httpx
import pytest

from bot.app import create_app
from bot.server import bound_port, http_server, stop_server
from bot.serving import GunicornServer
from bot.settings import Settings
from bot.standins.slack_api import SlackStandIn
from models import Database


def test_the_server_stops_even_when_its_wake_up_pipe_is_already_closed(
    sqlite_db: Database, slack: SlackStandIn
) -> None:
    """`stop_server` wakes the server's loop through a pipe. Once that pipe was found closed (EBADF) in a
    loaded run, and the stop raised, leaving the server running: it now closes the sockets itself."""
    settings = Settings(slack_bot_token=slack.token, slack_api_url=slack.api_url, slack_signing_secret="secret")
    app = create_app(settings, db=sqlite_db)
    server = http_server(app, sqlite_db, host="127.0.0.1", port=0)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{bound_port(server)}/healthz"
    assert httpx.get(url, trust_env=False).status_code == 200
    os.close(server.trigger.trigger)  # the pipe's write end, closed under the server

    stop_server(server)
    thread.join(5)

    assert not thread.is_alive()
    try:
        httpx.get(url, trust_env=False, timeout=1)
    except httpx.ConnectError:
        pass
    else:
        raise AssertionError("the server still answers")


@pytest.mark.parametrize(("address", "bind"), [
    (None, "0.0.0.0:3100"),
    ("127.0.0.1", "127.0.0.1:3100"),
    ("::1", "[::1]:3100"),
    ("[::]", "[::]:3100"),
])
def test_serve_listens_where_bind_address_says(address: str | None, bind: str) -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_SIGNING_SECRET": "s", "PORT": "3100"}
    settings = Settings.from_env(env if address is None else {**env, "BIND_ADDRESS": address})

    assert GunicornServer(settings, {}, workers=1).options["bind"] == bind
