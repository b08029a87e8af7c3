"""`reauth-bot serve` over Socket Mode as a deployer runs it: a real process, the xapp- token, a real WebSocket."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot import messages
from bot.standins.slack_api import SlackStandIn
from bot.standins.slack_requests import SlackRequests
from bot.standins.socket_mode import SLASH_COMMANDS, SocketModeStandIn, socket_payload
from commands.check import QueryProblem
from tests.e2e.serving import import_demo_dataset, serve_env

APP_TOKEN = "xapp-1-A0REAUTH-serve-test"


@pytest.fixture
def socket_mode() -> Iterator[SocketModeStandIn]:
    with SocketModeStandIn() as standin:
        yield standin


@pytest.fixture
def slack(socket_mode: SocketModeStandIn) -> Iterator[SlackStandIn]:
    with SlackStandIn(app_token=APP_TOKEN, socket_mode=socket_mode) as standin:
        yield standin


def test_serve_answers_slack_over_socket_mode_and_stops_on_ctrl_c(
    slack: SlackStandIn, socket_mode: SocketModeStandIn, tmp_path: Path
) -> None:
    env = serve_env(tmp_path, SLACK_BOT_TOKEN=slack.token, SLACK_APP_TOKEN=APP_TOKEN, SLACK_API_URL=slack.api_url)
    import_demo_dataset(env, tmp_path)
    server = subprocess.Popen([sys.executable, "-m", "bot", "serve"], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        try:
            socket_mode.wait_connected(timeout=30)
        except AssertionError:
            server.kill()
            raise AssertionError(server.communicate()[0]) from None
        # The WebSocket URL came from apps.connections.open, asked of SLACK_API_URL with the app token.
        opened = slack.calls_to("apps.connections.open")
        assert len(opened) == 1 and opened[0].headers["Authorization"] == f"Bearer {APP_TOKEN}"

        requests = SlackRequests("unused-over-socket-mode")
        kind, payload = socket_payload(
            requests.slash_command("/reauth-check", "C-1003", response_url=slack.response_url("socket"))
        )
        assert kind == SLASH_COMMANDS and payload["text"] == "C-1003"
        envelope_id = socket_mode.slash_command(payload)
        ack = socket_mode.wait_for_ack(envelope_id, timeout=10)
        assert ack.payload is None  # a plain ack: the answer goes to the response_url
        answer = slack.wait_for_responses("socket", 1, timeout=10)[0]
        assert "C-1003" in answer["text"] and "Connect" in answer["text"]

        empty = socket_mode.push_request(requests.slash_command("/reauth-check", "", response_url=slack.response_url()))
        help_ack = socket_mode.wait_for_ack(empty, timeout=10)
        assert help_ack.payload is not None
        assert help_ack.payload["text"] == messages.QUERY_PROBLEMS[QueryProblem.EMPTY]
        assert messages.USAGE.splitlines()[0] in str(help_ack.payload["blocks"])
        assert [e.envelope_id for e in socket_mode.envelopes] == [envelope_id, empty]
        assert server.poll() is None
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=20)
    assert server.returncode == 0, output
    assert "serving over Socket Mode" in output and "stopped" in output
    assert "Traceback" not in output and "WARNING" not in output and "ERROR" not in output, output
    assert "chen.wu" not in output  # the customer's e-mail never reaches the log


@pytest.mark.parametrize(
    ("bot_token", "app_token", "says"),
    [
        ("xoxb-revoked", APP_TOKEN, "Slack refused SLACK_BOT_TOKEN"),
        (None, "xapp-1-A0REAUTH-revoked", "Slack refused SLACK_APP_TOKEN (invalid_auth)"),
    ],
)
def test_serve_names_the_token_slack_refused_and_exits_2(
    slack: SlackStandIn, tmp_path: Path, bot_token: str | None, app_token: str, says: str
) -> None:
    env = serve_env(tmp_path, SLACK_BOT_TOKEN=bot_token or slack.token, SLACK_APP_TOKEN=app_token,
                    SLACK_API_URL=slack.api_url)
    served = subprocess.run([sys.executable, "-m", "bot", "serve"], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=60)
    assert served.returncode == 2, served.stderr
    assert says in served.stderr and "Traceback" not in served.stderr
    # auth.test only (Bolt checks the token, the access guard reads the installation): no connection URL, no post
    assert {c.method for c in slack.calls} <= {"auth.test"}
