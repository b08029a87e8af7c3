"""A local stand-in of Slack's Socket Mode: a real WebSocket server on 127.0.0.1 that pushes envelopes.

`SlackStandIn(app_token=..., socket_mode=standin)` answers `apps.connections.open` with a one-use
`ws://127.0.0.1:<port>/link/?ticket=...` URL of this server. What it does, like Slack
(docs.slack.dev "Using Socket Mode"; shapes as slack_sdk's SocketModeClient and Bolt's adapter read them):

- the handshake is RFC 6455 (`Sec-WebSocket-Accept`); an unknown or used ticket gets HTTP 401;
- on connect it sends `{"type": "hello", "num_connections": n, "debug_info": {...}, "connection_info": {...}}`;
- `push()` sends `{"envelope_id", "type", "payload", "accepts_response_payload"}` (events_api envelopes also
  carry `retry_attempt` and `retry_reason`) to the newest connection;
- the app's acks `{"envelope_id": ..., "payload"?: {...}}` are recorded with the time they arrived;
- pings are answered with pongs; a close frame is echoed; client frames must be masked (else close 1002);
- `stop()` drops every connection without a close frame, like a lost link.

The WebSocket protocol itself (handshake, framing, masking, ping/pong, close) is the `websockets`
library's threaded server, a maintained implementation, so a bug in this stand-in cannot hide one in
the client. It does not ping on its own, compress, or limit message sizes.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.sync.server import Server, ServerConnection, serve
from websockets.utils import accept_key as accept_key  # re-exported: tests check it against RFC 6455

from bot.standins.server import StandInServer, poll
from bot.standins.slack_requests import JSON, SignedRequest

JsonDict = dict[str, Any]

APP_ID = "A0REAUTH"

SLASH_COMMANDS = "slash_commands"
INTERACTIVE = "interactive"
EVENTS_API = "events_api"
# Interactions whose ack may carry a response (view errors, options); Slack marks the others false.
_RESPONDING_INTERACTIONS = frozenset({"view_submission", "block_suggestion"})


@dataclass(frozen=True)
class Envelope:
    """One envelope pushed to the app."""

    envelope_id: str
    type: str
    payload: JsonDict
    accepts_response_payload: bool
    connection: int
    at: float


@dataclass(frozen=True)
class Ack:
    """The app's acknowledgement of an envelope; `at` is when it arrived (time.time())."""

    envelope_id: str
    payload: JsonDict | None
    connection: int
    at: float


@dataclass
class _Connection:
    number: int
    websocket: ServerConnection
    opened_at: float
    open: bool = True


class _Server:
    """websockets' threaded server, stopped like a lost link: connections end without a close frame."""

    def __init__(self, server: Server) -> None:
        self._server = server

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def shutdown(self) -> None:
        for connection in self._server.connections:
            with contextlib.suppress(OSError):  # the client may have closed it first
                connection.socket.shutdown(socket.SHUT_RDWR)
        # Closes the listener and waits for every connection's handler; one that opened meanwhile
        # gets a close frame (1001) instead.
        self._server.shutdown()


def socket_payload(request: SignedRequest) -> tuple[str, JsonDict]:
    """(envelope type, payload) Slack sends over Socket Mode for what it would POST to a Request URL.

    Slash commands become a dict of their form fields, interactions the JSON of their `payload` field,
    Events API callbacks their JSON body.
    """
    if request.headers.get("Content-Type", "").startswith(JSON):
        return EVENTS_API, json.loads(request.body)
    fields = dict(parse_qsl(request.text, keep_blank_values=True))
    if "payload" in fields and "command" not in fields:
        return INTERACTIVE, json.loads(fields["payload"])
    return SLASH_COMMANDS, fields


class SocketModeStandIn(StandInServer):
    """Slack's Socket Mode end on 127.0.0.1: hands out connection URLs, pushes envelopes, records acks."""

    scheme = "ws"

    def __init__(self, app_id: str = APP_ID, port: int = 0) -> None:
        super().__init__(port)
        self.app_id = app_id
        self._lock = threading.Lock()
        self._tickets: set[str] = set()
        self._connections: list[_Connection] = []
        self._envelopes: list[Envelope] = []
        self._acks: list[Ack] = []
        self._received: list[str] = []
        self._pings: list[tuple[bytes, threading.Event]] = []
        self._refused = 0
        self._numbers = itertools.count(1)

    # ---------------------------------------------------------------- lifecycle

    def _serve(self, listener: socket.socket) -> _Server:
        return _Server(serve(
            self._converse, sock=listener, process_response=self._check_ticket,
            # What the tests were written against: pings only from ping() (keepalive pings would close the
            # link of an app slow to answer), no permessage-deflate, no message size limit of the library's.
            ping_interval=None, compression=None, max_size=None,
            # How long a close, or a refusal, waits for the app to end the TCP connection. The app is local
            # and answers in milliseconds, unless it never does (slack_sdk keeps a refused socket open):
            # the library's 10 s would then hold up close_connections() and stop().
            close_timeout=1,
        ))

    def issue_url(self) -> str:
        """A one-use connection URL, as `apps.connections.open` returns it."""
        ticket = uuid.uuid4().hex
        base_url = self.base_url
        with self._lock:
            self._tickets.add(ticket)
        return f"{base_url}/link/?ticket={ticket}&app_id={self.app_id}"

    # ---------------------------------------------------------------- pushing

    def push(
        self,
        type: str,
        payload: Mapping[str, Any],
        *,
        accepts_response_payload: bool | None = None,
        retry_attempt: int = 0,
        retry_reason: str = "",
    ) -> str:
        """Send one envelope to the newest open connection; returns its envelope_id.

        `accepts_response_payload` defaults as Slack sets it: true for slash commands, view submissions
        and option requests, false otherwise.
        """
        if accepts_response_payload is None:
            accepts_response_payload = type == SLASH_COMMANDS or (
                type == INTERACTIVE and payload.get("type") in _RESPONDING_INTERACTIONS
            )
        envelope_id = str(uuid.uuid4())
        message: JsonDict = {
            "envelope_id": envelope_id,
            "payload": dict(payload),
            "type": type,
            "accepts_response_payload": accepts_response_payload,
        }
        if type == EVENTS_API:
            message["retry_attempt"] = retry_attempt
            message["retry_reason"] = retry_reason
        connection = self._newest()
        with self._lock:
            self._envelopes.append(
                Envelope(envelope_id, type, dict(payload), accepts_response_payload, connection.number, time.time())
            )
        connection.websocket.send(json.dumps(message))
        return envelope_id

    def push_request(self, request: SignedRequest) -> str:
        """Push what `SlackRequests` builds for HTTP (slash command, interaction, event) as Slack would here."""
        kind, payload = socket_payload(request)
        retry = request.headers.get("X-Slack-Retry-Num")
        if retry is not None:
            return self.push(kind, payload, retry_attempt=int(retry),
                             retry_reason=request.headers.get("X-Slack-Retry-Reason", ""))
        return self.push(kind, payload)

    def slash_command(self, payload: Mapping[str, Any]) -> str:
        return self.push(SLASH_COMMANDS, payload)

    def interactive(self, payload: Mapping[str, Any]) -> str:
        return self.push(INTERACTIVE, payload)

    def events_api(self, payload: Mapping[str, Any], *, retry_attempt: int = 0, retry_reason: str = "") -> str:
        return self.push(EVENTS_API, payload, retry_attempt=retry_attempt, retry_reason=retry_reason)

    def request_disconnect(self, reason: str = "refresh_requested") -> None:
        """Ask the newest connection to reconnect, as Slack does before it recycles a link."""
        self._newest().websocket.send(json.dumps({"type": "disconnect", "reason": reason,
                                                  "debug_info": {"host": "applink-standin"}}))

    def ping(self, data: bytes = b"standin") -> None:
        """Ping the newest connection; its pong lands in `pongs`."""
        pong = self._newest().websocket.ping(data)
        with self._lock:
            self._pings.append((data, pong))

    def close_connections(self, code: int = 1001, reason: str = "going away") -> None:
        """Close every open connection with a close frame (the app should reconnect).

        Returns once each closing handshake is done, or the app dropped the link instead of answering.
        """
        with self._lock:
            connections = [c for c in self._connections if c.open]
        for connection in connections:
            connection.websocket.close(code, reason)

    # ---------------------------------------------------------------- records

    @property
    def envelopes(self) -> list[Envelope]:
        with self._lock:
            return list(self._envelopes)

    @property
    def acks(self) -> list[Ack]:
        """Every ack the app sent, in arrival order."""
        with self._lock:
            return list(self._acks)

    @property
    def received(self) -> list[str]:
        """Every text message the app sent (acks included), in arrival order."""
        with self._lock:
            return list(self._received)

    @property
    def pongs(self) -> list[bytes]:
        """The data of every ping the app answered, in the order the pings were sent."""
        with self._lock:
            return [data for data, pong in self._pings if pong.is_set()]

    @property
    def connection_count(self) -> int:
        """Connections ever established (after a successful handshake)."""
        with self._lock:
            return len(self._connections)

    @property
    def open_connections(self) -> int:
        with self._lock:
            return sum(1 for c in self._connections if c.open)

    @property
    def refused_handshakes(self) -> int:
        with self._lock:
            return self._refused

    def ack_for(self, envelope_id: str) -> Ack | None:
        with self._lock:
            return next((a for a in self._acks if a.envelope_id == envelope_id), None)

    def wait_connected(self, count: int = 1, timeout: float = 10.0) -> None:
        """Poll until at least `count` connections were established and one is open."""
        _, connected = poll(lambda: self.connection_count >= count and self.open_connections > 0, bool, timeout)
        if not connected:
            raise AssertionError(f"SocketModeStandIn: expected at least {count} connection(s) within {timeout}s. "
                                 f"{self._summary()}")

    def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> Ack:
        """Poll until the app acked `envelope_id`; AssertionError on timeout."""
        ack, _ = poll(lambda: self.ack_for(envelope_id), lambda found: found is not None, timeout)
        if ack is None:
            raise AssertionError(f"SocketModeStandIn: expected an ack of envelope {envelope_id} within {timeout}s. "
                                 f"{self._summary()}")
        return ack

    def _summary(self) -> str:
        with self._lock:
            return (f"Connections: {len(self._connections)} ({sum(c.open for c in self._connections)} open), "
                    f"refused handshakes: {self._refused}; envelopes: {[e.type for e in self._envelopes]}; "
                    f"acks: {[a.envelope_id for a in self._acks]}")

    # ---------------------------------------------------------------- server side

    def _newest(self) -> _Connection:
        with self._lock:
            for connection in reversed(self._connections):
                if connection.open:
                    return connection
        raise RuntimeError(f"SocketModeStandIn: no app is connected. {self._summary()}")

    def _check_ticket(self, websocket: ServerConnection, request: Request, response: Response) -> Response | None:
        """Refuse (401) an upgrade whose ticket is unknown or used; consume a good one.

        Checked once websockets has validated the handshake (a malformed one keeps the library's own
        answer and uses no ticket), and the ticket consumed under the lock, so it opens one connection.
        """
        if response.status_code != 101:
            return None
        split = urlsplit(request.path)
        ticket = (parse_qs(split.query).get("ticket") or [""])[0]
        with self._lock:
            if split.path == "/link/" and ticket in self._tickets:
                self._tickets.discard(ticket)  # one use, like Slack's
                return None
            self._refused += 1
        return websocket.respond(401, "invalid or used ticket\n")

    def _converse(self, websocket: ServerConnection) -> None:
        """One connection, from hello until it closes or drops: every text message the app sends is recorded."""
        with self._lock:
            number = next(self._numbers)
            open_count = 1 + sum(1 for c in self._connections if c.open)
        connection = _Connection(number, websocket, time.time())
        try:
            # Sent before the connection counts as established, so nothing is pushed ahead of it.
            websocket.send(json.dumps({
                "type": "hello",
                "num_connections": open_count,
                "debug_info": {"host": "applink-standin", "build_number": 1, "approximate_connection_time": 18060},
                "connection_info": {"app_id": self.app_id},
            }))
            with self._lock:
                self._connections.append(connection)
            for message in websocket:
                if isinstance(message, str):
                    self._record(connection, message)
        except ConnectionClosed:
            pass  # a dropped link ends the conversation as a close does
        finally:
            connection.open = False

    def _record(self, connection: _Connection, text: str) -> None:
        now = time.time()
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        with self._lock:
            self._received.append(text)
            if isinstance(data, dict) and isinstance(data.get("envelope_id"), str):
                payload = data.get("payload")
                self._acks.append(Ack(data["envelope_id"], payload if isinstance(payload, dict) else None,
                                      connection.number, now))
