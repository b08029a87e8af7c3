"""A stopped helpdesk stand-in refuses connections and keeps its port: no other server, another test's in a
parallel run included, can take the port and answer in its place."""

from __future__ import annotations

import socket
from http.server import BaseHTTPRequestHandler, HTTPServer

import httpx
import pytest

from bot.standins.helpdesk import ZendeskStandIn


def test_a_stopped_standin_refuses_and_holds_its_port_until_started_again() -> None:
    with ZendeskStandIn(tickets=["1"]) as standin:
        url = f"{standin.base_url}/api/v2/tickets/1.json"
        port = int(standin.base_url.rsplit(":", 1)[1])
        standin.stop()

        with pytest.raises(httpx.ConnectError):
            httpx.get(url)
        with pytest.raises(OSError):  # HTTPServer binds with SO_REUSEADDR, as other stand-ins do
            HTTPServer(("127.0.0.1", port), BaseHTTPRequestHandler)
        plain = socket.socket()
        with pytest.raises(OSError):
            plain.bind(("127.0.0.1", port))
        plain.close()

        standin.start()
        assert standin.base_url.endswith(f":{port}")
        # Answering again: Show Ticket without credentials is refused, as Zendesk refuses it.
        assert httpx.get(url).status_code == 401
        assert len(standin.requests) == 1
    # Leaving the `with` gives the port up (to a server that, like every stand-in, reuses addresses: the
    # connection the stand-in closed keeps the port in TIME_WAIT for a plain socket).
    HTTPServer(("127.0.0.1", port), BaseHTTPRequestHandler).server_close()

