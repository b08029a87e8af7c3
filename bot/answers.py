"""Delivering an answer to the agent who asked: on the response_url, else ephemerally in the same channel.

A response_url takes five answers within 30 minutes. Past that Slack answers HTTP 404 `used_url` or
`expired_url`, and slack_sdk returns that response without raising, so an answer that came late (a slow
helpdesk, a click on an old message) would be lost without a trace. It is logged (ids only) and posted
instead with chat.postEphemeral to the same agent in the same channel, when the bot can post there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

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
