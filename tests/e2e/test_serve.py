"""`reauth-bot serve` as a deployer runs it: a real process, configured by the environment alone."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from bot.standins.slack_api import SlackStandIn
from bot.standins.slack_requests import SlackRequests
from tests.e2e.serving import import_demo_dataset, serve_env

SECRET = "serve-test-signing-secret"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def slack() -> Iterator[SlackStandIn]:
    with SlackStandIn() as standin:
        yield standin


def test_serve_answers_slack_over_http_and_stops_on_ctrl_c(slack: SlackStandIn, tmp_path: Path) -> None:
    port = free_port()
    env = serve_env(tmp_path, SLACK_BOT_TOKEN=slack.token, SLACK_SIGNING_SECRET=SECRET,
                    SLACK_API_URL=slack.api_url, PORT=str(port), BIND_ADDRESS="127.0.0.1")
    import_demo_dataset(env, tmp_path)
    server = subprocess.Popen([sys.executable, "-m", "bot", "serve"], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(trust_env=False, timeout=5) as http:
            deadline = time.monotonic() + 30
            while True:
                try:
                    health = http.get(f"{base}/healthz")
                    break
                except httpx.TransportError:
                    assert server.poll() is None, server.communicate()[0]
                    assert time.monotonic() < deadline, "serve did not start listening in 30 s"
                    time.sleep(0.1)
            assert health.status_code == 200 and health.json()["database"] == "up"
            request = SlackRequests(SECRET).slash_command(
                "/reauth-check", "C-1003", response_url=slack.response_url("serve")
            )
            acked = http.post(f"{base}/slack/events", content=request.body, headers=request.headers)
            assert acked.status_code == 200
        answer = slack.wait_for_responses("serve", 1, timeout=10)[0]
        assert "C-1003" in answer["text"] and "Connect" in answer["text"]
        assert [c.method for c in slack.calls][:1] == ["auth.test"]  # the token was checked at start-up
    finally:
        server.send_signal(signal.SIGINT)
        output, _ = server.communicate(timeout=20)
    assert server.returncode == 0, output
    assert f"serving HTTP on 127.0.0.1 port {port}" in output and "stopped" in output
    assert "WARNING" not in output
    assert "chen.wu" not in output  # the customer's e-mail never reaches the log
