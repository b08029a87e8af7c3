"""A local stand-in of Slack's Socket Mode: a real WebSocket server on 127.0.0.1 that pushes envelopes.

`SlackStandIn(app_token=..., socket_mode=standin)` answers `apps.connections.open` with a one-use
`ws://127.0.0.1:<port>/link/?ticket=...` URL of this server. What it does, like Slack
(docs.slack.dev "Using Socket Mode"; shapes as slack_sdk's SocketModeClient and Bolt's adapter read them):

- the handshake is RFC 6455 (`Sec-WebSocket-Accept`); an unknown or used ticket gets HTTP 401;
- on connect it sends `{"type": "hello", "num_connections": n, "debug_info": {...}, "connection_info": {...}}`;
- `push()` sends `{"envelope_id", "type", "payload", "accepts_response_payload"}` (events_api envelopes also
  carry `retry_attempt` and `retry_reason`) to the newest connection;
- the app's acks `{"envelope_id": ..., "payload"?: {...}}` are recorded with the time they arrived;
- pings are answered with pongs; a close frame is echoed; client frames must be masked (else close 1002).

Stdlib only, so it has no opinion of its own about WebSockets beyond the RFC.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import itertools
import json
import socket
import struct
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, parse_qsl, urlsplit

from bot.standins.slack_requests import JSON, SignedRequest

JsonDict = dict[str, Any]

APP_ID = "A0REAUTH"
_WS_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_OP_CONTINUATION, _OP_TEXT, _OP_BINARY, _OP_CLOSE, _OP_PING, _OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
_MAX_HANDSHAKE = 16_384
_POLL_SECONDS = 0.02

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
    sock: socket.socket
    opened_at: float
    send_lock: threading.Lock = field(default_factory=threading.Lock)
    open: bool = True
    close_code: int | None = None


class _ProtocolError(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def accept_key(key: str) -> str:
    """The `Sec-WebSocket-Accept` value for a client's `Sec-WebSocket-Key` (RFC 6455 section 4.2.2)."""
    return base64.b64encode(hashlib.sha1((key + _WS_GUID).encode("ascii")).digest()).decode("ascii")


def _frame(opcode: int, data: bytes) -> bytes:
    """A final, unmasked server frame (servers never mask)."""
    head = bytes([0x80 | opcode])
    if len(data) <= 125:
        head += bytes([len(data)])
    elif len(data) <= 0xFFFF:
        head += struct.pack("!BH", 126, len(data))
    else:
        head += struct.pack("!BQ", 127, len(data))
    return head + data


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


class SocketModeStandIn:
    """Slack's Socket Mode end on 127.0.0.1: hands out connection URLs, pushes envelopes, records acks."""

    def __init__(self, app_id: str = APP_ID, port: int = 0) -> None:
        self.app_id = app_id
        self._port = port
        self._listener: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._tickets: set[str] = set()
        self._connections: list[_Connection] = []
        self._envelopes: list[Envelope] = []
        self._acks: list[Ack] = []
        self._received: list[str] = []
        self._pongs: list[bytes] = []
        self._refused = 0
        self._numbers = itertools.count(1)

    # ---------------------------------------------------------------- lifecycle

    def start(self) -> SocketModeStandIn:
        """Listen on 127.0.0.1 and accept in a daemon thread; idempotent."""
        if self._listener is not None:
            return self
        listener = socket.create_server(("127.0.0.1", self._port))
        listener.settimeout(0.05)  # lets stop() end the accept loop quickly
        self._listener = listener
        self._port = listener.getsockname()[1]
        self._spawn(self._accept_loop, "socket-mode-accept", listener)
        return self

    def stop(self) -> None:
        """Close the listener and every connection (without a close frame, like a dropped link); idempotent."""
        listener = self._listener
        if listener is None:
            return
        self._listener = None
        listener.close()
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            self._drop(connection)
        for thread in list(self._threads):
            thread.join(timeout=5)
        self._threads.clear()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._listener is None:
            raise RuntimeError("SocketModeStandIn is not started: call start() or use it as a context manager")
        return self._port

    def issue_url(self) -> str:
        """A one-use connection URL, as `apps.connections.open` returns it."""
        ticket = uuid.uuid4().hex
        port = self.port
        with self._lock:
            self._tickets.add(ticket)
        return f"ws://127.0.0.1:{port}/link/?ticket={ticket}&app_id={self.app_id}"

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
        self._send_text(connection, message)
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
        connection = self._newest()
        self._send_text(connection, {"type": "disconnect", "reason": reason,
                                     "debug_info": {"host": "applink-standin"}})

    def ping(self, data: bytes = b"standin") -> None:
        """Ping the newest connection; its pong lands in `pongs`."""
        self._send_frame(self._newest(), _OP_PING, data)

    def close_connections(self, code: int = 1001, reason: str = "going away") -> None:
        """Send a close frame on every open connection (the app should reconnect)."""
        with self._lock:
            connections = [c for c in self._connections if c.open]
        for connection in connections:
            with contextlib.suppress(OSError):
                self._send_frame(connection, _OP_CLOSE, struct.pack("!H", code) + reason.encode("utf-8"))

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
        with self._lock:
            return list(self._pongs)

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
        self._poll(lambda: self.connection_count >= count and self.open_connections > 0, timeout,
                   f"at least {count} connection(s)")

    def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> Ack:
        """Poll until the app acked `envelope_id`; AssertionError on timeout."""
        found: list[Ack] = []

        def acked() -> bool:
            ack = self.ack_for(envelope_id)
            if ack is not None:
                found.append(ack)
            return ack is not None

        self._poll(acked, timeout, f"an ack of envelope {envelope_id}")
        return found[0]

    def _poll(self, done: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not done():
            if time.monotonic() >= deadline:
                raise AssertionError(f"SocketModeStandIn: expected {what} within {timeout}s. {self._summary()}")
            time.sleep(_POLL_SECONDS)

    def _summary(self) -> str:
        with self._lock:
            return (f"Connections: {len(self._connections)} ({sum(c.open for c in self._connections)} open), "
                    f"refused handshakes: {self._refused}; envelopes: {[e.type for e in self._envelopes]}; "
                    f"acks: {[a.envelope_id for a in self._acks]}")

    # ---------------------------------------------------------------- server side

    def _spawn(self, target: Any, name: str, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, name=name, daemon=True)
        self._threads.append(thread)
        thread.start()

    def _newest(self) -> _Connection:
        with self._lock:
            for connection in reversed(self._connections):
                if connection.open:
                    return connection
        raise RuntimeError(f"SocketModeStandIn: no app is connected. {self._summary()}")

    def _accept_loop(self, listener: socket.socket) -> None:
        while self._listener is listener:
            try:
                sock, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:  # closed by stop()
                return
            sock.settimeout(None)
            self._spawn(self._serve, "socket-mode-connection", sock)

    def _serve(self, sock: socket.socket) -> None:
        reader = _Reader(sock)
        try:
            connection = self._handshake(sock, reader)
        except (OSError, _ProtocolError):
            with contextlib.suppress(OSError):
                sock.close()
            return
        if connection is None:
            return
        try:
            self._read_frames(connection, reader)
        except _ProtocolError as err:
            with contextlib.suppress(OSError):
                self._send_frame(connection, _OP_CLOSE, struct.pack("!H", err.code) + err.reason.encode("utf-8"))
        except OSError:
            pass
        finally:
            self._drop(connection)

    def _handshake(self, sock: socket.socket, reader: _Reader) -> _Connection | None:
        head = reader.until(b"\r\n\r\n", _MAX_HANDSHAKE).decode("latin-1")
        request_line, *header_lines = head.split("\r\n")
        headers = {}
        for line in header_lines:
            name, sep, value = line.partition(":")
            if sep:
                headers[name.strip().lower()] = value.strip()
        verb, _, rest = request_line.partition(" ")
        target = rest.rpartition(" ")[0]
        split = urlsplit(target)
        ticket = (parse_qs(split.query).get("ticket") or [""])[0]
        key = headers.get("sec-websocket-key", "")
        if (verb != "GET" or headers.get("upgrade", "").lower() != "websocket"
                or "upgrade" not in headers.get("connection", "").lower()
                or headers.get("sec-websocket-version") != "13" or not key):
            self._refuse(sock, "400 Bad Request")
            return None
        with self._lock:
            valid = split.path == "/link/" and ticket in self._tickets
            if valid:
                self._tickets.discard(ticket)  # one use, like Slack's
            else:
                self._refused += 1
        if not valid:
            self._refuse(sock, "401 Unauthorized")
            return None
        sock.sendall(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n".encode("ascii")
        )
        with self._lock:
            connection = _Connection(next(self._numbers), sock, time.time())
            self._connections.append(connection)
            open_count = sum(1 for c in self._connections if c.open)
        self._send_text(connection, {
            "type": "hello",
            "num_connections": open_count,
            "debug_info": {"host": "applink-standin", "build_number": 1, "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        })
        return connection

    def _refuse(self, sock: socket.socket, status: str) -> None:
        with contextlib.suppress(OSError):
            sock.sendall(f"HTTP/1.1 {status}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n".encode("ascii"))
            sock.close()

    def _read_frames(self, connection: _Connection, reader: _Reader) -> None:
        message = bytearray()
        message_opcode: int | None = None
        while connection.open:
            first, second = reader.exact(2)
            fin, opcode = bool(first & 0x80), first & 0x0F
            if not second & 0x80:
                raise _ProtocolError(1002, "client frames must be masked")
            length = second & 0x7F
            if length == 126:
                (length,) = struct.unpack("!H", reader.exact(2))
            elif length == 127:
                (length,) = struct.unpack("!Q", reader.exact(8))
            mask = reader.exact(4)
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(reader.exact(length)))
            if opcode == _OP_PING:
                self._send_frame(connection, _OP_PONG, data)
            elif opcode == _OP_PONG:
                with self._lock:
                    self._pongs.append(data)
            elif opcode == _OP_CLOSE:
                code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else 1005
                connection.close_code = code
                with contextlib.suppress(OSError):  # echo the close, as RFC 6455 asks
                    self._send_frame(connection, _OP_CLOSE, data[:2])
                return
            elif opcode in (_OP_TEXT, _OP_BINARY, _OP_CONTINUATION):
                if opcode != _OP_CONTINUATION:
                    message_opcode, message = opcode, bytearray()
                message += data
                if fin and message_opcode == _OP_TEXT:
                    self._record(connection, message.decode("utf-8"))
            else:
                raise _ProtocolError(1002, f"unknown opcode {opcode}")

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

    def _send_text(self, connection: _Connection, message: Mapping[str, Any]) -> None:
        self._send_frame(connection, _OP_TEXT, json.dumps(message).encode("utf-8"))

    def _send_frame(self, connection: _Connection, opcode: int, data: bytes) -> None:
        with connection.send_lock:
            connection.sock.sendall(_frame(opcode, data))

    def _drop(self, connection: _Connection) -> None:
        connection.open = False
        with contextlib.suppress(OSError):
            connection.sock.shutdown(socket.SHUT_RDWR)
        with contextlib.suppress(OSError):
            connection.sock.close()


class _Reader:
    """Buffered exact reads from a blocking socket; EOF raises ConnectionError (an OSError)."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self._buffer = bytearray()

    def _fill(self) -> None:
        chunk = self._sock.recv(65536)
        if not chunk:
            raise ConnectionError("peer closed the connection")
        self._buffer += chunk

    def exact(self, n: int) -> bytes:
        while len(self._buffer) < n:
            self._fill()
        data = bytes(self._buffer[:n])
        del self._buffer[:n]
        return data

    def until(self, marker: bytes, limit: int) -> bytes:
        while (end := self._buffer.find(marker)) < 0:
            if len(self._buffer) > limit:
                raise _ProtocolError(1009, "handshake too large")
            self._fill()
        data = bytes(self._buffer[:end])
        del self._buffer[: end + len(marker)]
        return data
