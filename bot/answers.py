"""Delivering an answer to the agent who asked: on the response_url, else ephemerally in the same channel.

A response_url takes five answers within 30 minutes. Past that Slack answers HTTP 404 `used_url` or
`expired_url`, and slack_sdk returns that response without raising, so an answer that came late (a slow
helpdesk, a click on an old message) would be lost without a trace. It is logged (ids only) and posted
instead with chat.postEphemeral to the same agent in the same channel, when the bot can post there.
"""

from __future__ import annotations

import http.client
import json
import logging
import threading
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.basic_objects import JsonObject

log = logging.getLogger(__name__)

# What only a response_url understands; chat.postEphemeral takes text and blocks.
_RESPONSE_URL_ONLY = ("response_type", "replace_original", "delete_original")


def answer_agent(
    reply: Callable[..., Any],
    client: WebClient,
    payload: Mapping[str, Any],
    *,
    agent: str,
    channel: str | None,
    what: str,
) -> bool:
    """Send ``payload`` with ``reply`` (Bolt's ``respond`` or a WebhookClient's ``send``); True once delivered.

    ``what`` names the answer in the log (`reauth-check`, `post-steps`): never its text, which may hold
    a customer's e-mail.
    """
    try:
        response = reply(**payload)
        status, error = getattr(response, "status_code", 200), str(getattr(response, "body", "") or "")
    except Exception as exc:  # the network between us and Slack: the fallback may still get through
        status, error = None, type(exc).__name__
    if status == 200:
        return True
    log.warning("%s answer not delivered to response_url: status=%s error=%s agent=%s channel=%s",
                what, status, error[:40], agent, channel)
    if not channel or not agent:
        return False
    message = {key: value for key, value in payload.items() if key not in _RESPONSE_URL_ONLY}
    try:
        client.chat_postEphemeral(channel=channel, user=agent, **message)
    except SlackApiError as exc:  # not_in_channel, channel_not_found, user_not_in_channel: the bot cannot post
        log.warning("%s answer not delivered as an ephemeral message either: error=%s agent=%s channel=%s",
                    what, exc.response.get("error"), agent, channel)
        return False
    log.info("%s answer delivered as an ephemeral message instead: agent=%s channel=%s", what, agent, channel)
    return True


@dataclass(frozen=True)
class PostedAnswer:
    """What `answer_agent` reads of a response_url post: the HTTP status and the body."""

    status_code: int
    body: str


class ResponseUrls:
    """Answers posted to response_urls over connections kept open: one per thread and host, per process.

    Bolt's `respond` opens a connection for every answer, to hooks.slack.com a TLS handshake each time: a
    share of every `/reauth-check`'s CPU that a kept-alive connection pays once. http.client, not httpx:
    on this path httpx's own work per request cost more than the connections it saved (measured with
    py-spy). Where the environment names a proxy for the URL, `replier` gives None and the caller keeps
    Bolt's `respond`, which goes through it.
    """

    def __init__(self, timeout: float = 30.0) -> None:
        self._timeout = timeout
        self._local = threading.local()
        self._opened: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()

    def replier(self, url: str) -> Callable[..., PostedAnswer] | None:
        """A `reply` for `answer_agent` posting to `url` (text, blocks, response_type, ...); None if a proxy applies."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            return None
        if parts.scheme in urllib.request.getproxies() and not urllib.request.proxy_bypass(parts.hostname):
            return None
        target = parts.path + (f"?{parts.query}" if parts.query else "")

        def send(**payload: Any) -> PostedAnswer:
            message = {key: _as_json(value) for key, value in payload.items() if value is not None}
            return self._post(parts.scheme, parts.netloc, target, json.dumps(message).encode())

        return send

    def _post(self, scheme: str, host: str, target: str, body: bytes) -> PostedAnswer:
        connections: dict[tuple[str, str], http.client.HTTPConnection] = self._local.__dict__.setdefault(
            "connections", {})
        headers = {"Content-Type": "application/json;charset=utf-8", "User-Agent": _USER_AGENT}
        for attempt in range(2):
            connection = connections.get((scheme, host))
            reused = connection is not None
            if connection is None:
                connection = connections[(scheme, host)] = self._open(scheme, host)
            try:
                connection.request("POST", target, body, headers)
                response = connection.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._forget(connections, scheme, host)
                # The server closed a connection kept from an earlier answer: once more, on a new one.
                if reused and attempt == 0:
                    continue
                raise
            except Exception:
                self._forget(connections, scheme, host)
                raise
            if response.will_close:
                self._forget(connections, scheme, host)
            return PostedAnswer(response.status, data.decode("utf-8", errors="replace"))
        raise AssertionError("unreachable: the second attempt returns or raises")

    def _open(self, scheme: str, host: str) -> http.client.HTTPConnection:
        connection_class = http.client.HTTPSConnection if scheme == "https" else http.client.HTTPConnection
        connection = connection_class(host, timeout=self._timeout)
        with self._lock:
            self._opened.append(connection)
        return connection

    def _forget(self, connections: dict[tuple[str, str], http.client.HTTPConnection], scheme: str, host: str) -> None:
        connection = connections.pop((scheme, host), None)
        if connection is not None:
            connection.close()
            with self._lock:
                self._opened.remove(connection)

    def close(self) -> None:
        """Close every kept connection (serve's drain); later answers open new ones."""
        with self._lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()


_USER_AGENT = "reauth-bot (response_url)"


def _as_json(value: Any) -> Any:
    """Block Kit objects (slack_sdk.models) as the dicts Slack reads; anything else as it is."""
    if isinstance(value, list | tuple):
        return [item.to_dict() if isinstance(item, JsonObject) else item for item in value]
    return value.to_dict() if isinstance(value, JsonObject) else value
