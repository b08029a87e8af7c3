"""The Socket Mode stand-in, driven by slack_sdk's own built-in SocketModeClient (what Bolt's handler uses)."""

from __future__ import annotations

import json
import logging
import socket
import struct
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from websockets.exceptions import ConnectionClosedError
from websockets.sync.client import connect

from bot.standins.slack_api import SlackStandIn
from bot.standins.slack_requests import SlackRequests
from bot.standins.socket_mode import EVENTS_API, INTERACTIVE, SocketModeStandIn, accept_key

APP_TOKEN = "xapp-1-A0REAUTH-standin-test"


@pytest.fixture
def socket_mode() -> Iterator[SocketModeStandIn]:
    with SocketModeStandIn() as standin:
        yield standin


@pytest.fixture
def slack(socket_mode: SocketModeStandIn) -> Iterator[SlackStandIn]:
    with SlackStandIn(app_token=APP_TOKEN, socket_mode=socket_mode) as standin:
        yield standin


class _Recorder:
    """What the client received; acks every request, with a payload for view submissions."""

    def __init__(self) -> None:
        self.requests: list[SocketModeRequest] = []
        self.messages: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    def on_message(self, client: SocketModeClient, message: dict[str, Any], raw: str | None) -> None:
        with self.lock:
            self.messages.append(message)

    def on_request(self, client: SocketModeClient, request: SocketModeRequest) -> None:
        with self.lock:
            self.requests.append(request)
        payload = {"response_action": "clear"} if request.payload.get("type") == "view_submission" else None
        client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id, payload=payload))


@pytest.fixture
def client(slack: SlackStandIn, socket_mode: SocketModeStandIn) -> Iterator[tuple[SocketModeClient, _Recorder]]:
    recorder = _Recorder()
    sm_client = SocketModeClient(
        app_token=APP_TOKEN, web_client=WebClient(token=slack.token, base_url=slack.api_url),
        logger=logging.getLogger("test.socket_mode"),
        ping_interval=1,  # after a close frame the client reconnects at its next ping check
    )
    sm_client.message_listeners.append(recorder.on_message)  # type: ignore[arg-type]
    sm_client.socket_mode_request_listeners.append(recorder.on_request)  # type: ignore[arg-type]
    try:
        yield sm_client, recorder
    finally:
        # A server close frame ends the client's blocking read at once; close() alone waits out its 3 s recv.
        sm_client.auto_reconnect_enabled = False
        sm_client.default_auto_reconnect_enabled = False
        socket_mode.close_connections()
        sm_client.close()


def _upgrade(port: int, target: str) -> socket.socket:
    """A raw socket that has sent a WebSocket upgrade request for `target` (RFC 6455's sample key)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(
        f"GET {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n".encode("ascii")
    )
    return sock


def test_accept_key_is_rfc_6455s() -> None:
    assert accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_connections_open_takes_only_the_app_token_as_bearer(
    slack: SlackStandIn, socket_mode: SocketModeStandIn
) -> None:
    with pytest.raises(SlackApiError) as wrong_type:
        WebClient(token=slack.token, base_url=slack.api_url).api_call("apps.connections.open")
    assert wrong_type.value.response["error"] == "not_allowed_token_type"
    with pytest.raises(SlackApiError) as as_form:
        WebClient(base_url=slack.api_url).api_call("apps.connections.open", data={"token": APP_TOKEN})
    assert as_form.value.response["error"] == "invalid_auth"
    with pytest.raises(SlackApiError) as app_token_elsewhere:
        WebClient(token=APP_TOKEN, base_url=slack.api_url).chat_postMessage(channel="C0SUPPORT", text="hi")
    assert app_token_elsewhere.value.response["error"] == "not_allowed_token_type"
    opened = WebClient(base_url=slack.api_url).apps_connections_open(app_token=APP_TOKEN)
    assert str(opened["url"]).startswith(f"ws://127.0.0.1:{socket_mode.port}/link/?ticket=")
    assert [c.method for c in slack.calls] == ["apps.connections.open"]


def test_app_token_needs_a_socket_mode_server() -> None:
    with pytest.raises(ValueError, match="socket_mode"):
        SlackStandIn(app_token=APP_TOKEN)


def test_hello_envelopes_acks_and_reconnects(
    client: tuple[SocketModeClient, _Recorder], slack: SlackStandIn, socket_mode: SocketModeStandIn
) -> None:
    sm_client, recorder = client
    sm_client.connect()
    socket_mode.wait_connected()
    assert sm_client.is_connected()

    requests = SlackRequests("unused")
    clicked = socket_mode.interactive(requests.block_actions_payload(action_id="noop", value="1"))
    assert socket_mode.wait_for_ack(clicked).payload is None
    submitted = socket_mode.push(INTERACTIVE, {"type": "view_submission", "view": {"id": "V1"}})
    assert socket_mode.wait_for_ack(submitted).payload == {"response_action": "clear"}
    event = socket_mode.push_request(
        requests.event_callback({"type": "app_home_opened", "user": "U0AGENT"}, event_id="Ev1", retry_num=1)
    )
    socket_mode.wait_for_ack(event)
    with recorder.lock:
        hello = recorder.messages[0]
        by_id = {r.envelope_id: r for r in recorder.requests}
    assert hello["type"] == "hello" and hello["connection_info"] == {"app_id": socket_mode.app_id}
    assert by_id[clicked].type == INTERACTIVE and not by_id[clicked].accepts_response_payload
    assert by_id[submitted].accepts_response_payload
    assert by_id[event].type == EVENTS_API and by_id[event].retry_attempt == 1
    assert by_id[event].payload["event"]["type"] == "app_home_opened"

    socket_mode.ping(b"are-you-there")
    socket_mode.request_disconnect()  # the client asks apps.connections.open for a new URL and reconnects
    socket_mode.wait_connected(count=2)
    socket_mode.close_connections()  # a close frame: the client reconnects again
    socket_mode.wait_connected(count=3)
    assert len(slack.calls_to("apps.connections.open")) == 3
    again = socket_mode.events_api({"type": "event_callback", "event": {"type": "app_home_opened"}})
    assert socket_mode.wait_for_ack(again).connection == 3
    assert b"are-you-there" in socket_mode.pongs


def test_a_ticket_works_once_and_unknown_tickets_are_refused(
    slack: SlackStandIn, socket_mode: SocketModeStandIn
) -> None:
    url = str(WebClient(base_url=slack.api_url).apps_connections_open(app_token=APP_TOKEN)["url"])
    path = url.removeprefix(f"ws://127.0.0.1:{socket_mode.port}")

    def handshake(target: str) -> str:
        with _upgrade(socket_mode.port, target) as sock:
            return sock.recv(4096).decode("latin-1")

    first = handshake(path)
    assert first.startswith("HTTP/1.1 101") and "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in first
    assert handshake(path).startswith("HTTP/1.1 401")
    assert handshake("/link/?ticket=forged").startswith("HTTP/1.1 401")
    assert socket_mode.refused_handshakes == 2


def test_unmasked_client_frames_are_closed_with_1002(socket_mode: SocketModeStandIn) -> None:
    with _upgrade(socket_mode.port, socket_mode.issue_url().removeprefix(socket_mode.base_url)) as sock:
        reader = sock.makefile("rb")
        assert reader.readline().startswith(b"HTTP/1.1 101")
        while reader.readline() != b"\r\n":
            pass
        assert reader.read(2) == bytes([0x81, 0x7E])  # the hello: a final text frame, 16-bit length
        (length,) = struct.unpack("!H", reader.read(2))
        assert json.loads(reader.read(length))["type"] == "hello"
        sock.sendall(bytes([0x81, 0x02]) + b"hi")  # a text frame without the mask bit
        opcode, length = reader.read(2)
        assert opcode == 0x88 and struct.unpack("!H", reader.read(length)[:2]) == (1002,)


def test_stop_drops_the_link_without_a_close_frame(socket_mode: SocketModeStandIn) -> None:
    with connect(socket_mode.issue_url()) as app:
        assert json.loads(app.recv(timeout=5))["type"] == "hello"
        socket_mode.wait_connected()
        socket_mode.stop()
        with pytest.raises(ConnectionClosedError) as dropped:
            app.recv(timeout=5)
    assert dropped.value.rcvd is None  # no close frame came: the link was lost, not closed
    assert socket_mode.open_connections == 0
