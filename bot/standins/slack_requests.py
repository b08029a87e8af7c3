"""Requests exactly as Slack sends them to an app's Request URL, signed with the app's signing secret.

Wire formats (docs.slack.dev, "Handling user interaction"; bolt-python's own tests):
slash commands are form fields; interaction payloads are one form field `payload` holding JSON;
Events API callbacks are JSON. Field sets follow the documented examples in
`/work/shared/specs/slack-payloads.json` for a non-Enterprise workspace.
"""

from __future__ import annotations

import copy
import itertools
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

JsonDict = dict[str, Any]

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
TIMESTAMP_HEADER = "X-Slack-Request-Timestamp"
SIGNATURE_HEADER = "X-Slack-Signature"
BOT_USER_ID = "U0BOT"


@dataclass(frozen=True)
class SignedRequest:
    """A request body and the headers Slack sends with it."""

    body: bytes
    headers: dict[str, str]

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def forged(request: SignedRequest) -> SignedRequest:
    """The same headers over a body an attacker changed: still well-formed, no longer matching the signature."""
    if request.headers.get("Content-Type", "").startswith(JSON):
        data = json.loads(request.body)
        data["forged"] = True
        body = json.dumps(data, separators=(",", ":")).encode("utf-8")
    else:
        body = request.body + b"&forged=1"
    return SignedRequest(body, dict(request.headers))


def unsigned(request: SignedRequest) -> SignedRequest:
    """The same request without the timestamp and signature headers."""
    headers = {k: v for k, v in request.headers.items() if k not in (TIMESTAMP_HEADER, SIGNATURE_HEADER)}
    return SignedRequest(request.body, headers)


def _find_element(blocks: Any, action_id: str) -> tuple[str | None, JsonDict | None]:
    """(block_id, element) of the interactive element with `action_id` in a list of blocks."""
    if not isinstance(blocks, list):
        return None, None
    for block in blocks:
        if not isinstance(block, dict):
            continue
        candidates = list(block.get("elements") or [])
        for key in ("accessory", "element"):
            if block.get(key) is not None:
                candidates.append(block[key])
        for element in candidates:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return block.get("block_id"), element
    return None, None


def _message_payload(message: Mapping[str, Any]) -> JsonDict:
    """A message as it appears inside interaction payloads, from a `SlackStandIn.message()` dict or raw one."""
    payload: JsonDict = {"type": "message"}
    for key, value in message.items():
        if value is None or (key == "files" and not value):
            continue
        payload[key] = copy.deepcopy(value)
    if "user" in payload and payload["user"] == BOT_USER_ID:
        payload.setdefault("bot_id", "B0BOT")
    return payload


class SlackRequests:
    """Builds signed slash commands, interactions and events for one app in one workspace."""

    def __init__(
        self,
        signing_secret: str,
        team_id: str = "T0STANDIN",
        api_app_id: str = "A0REAUTH",
        *,
        team_domain: str = "standin",
        verification_token: str = "standin-verification-token",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._verifier = SignatureVerifier(signing_secret)
        self.team_id = team_id
        self.api_app_id = api_app_id
        self.team_domain = team_domain
        # The deprecated verification token Slack still puts in every payload.
        self.verification_token = verification_token
        self._clock = clock
        self._sequence = itertools.count(1)

    forged = staticmethod(forged)
    unsigned = staticmethod(unsigned)

    # ---------------------------------------------------------------- signing

    def sign(self, body: bytes, content_type: str, *, timestamp: int | None = None) -> SignedRequest:
        """Sign any body the way Slack does (`v0=` HMAC-SHA256 of `v0:{timestamp}:{body}`)."""
        ts = str(int(self._clock()) if timestamp is None else timestamp)
        signature = self._verifier.generate_signature(timestamp=ts, body=body)
        assert signature is not None  # only None when the timestamp is None
        return SignedRequest(
            body,
            {"Content-Type": content_type, TIMESTAMP_HEADER: ts, SIGNATURE_HEADER: signature},
        )

    def _form(self, fields: Sequence[tuple[str, str]], timestamp: int | None) -> SignedRequest:
        return self.sign(urlencode(fields).encode("utf-8"), FORM, timestamp=timestamp)

    def _interaction(self, payload: Mapping[str, Any], timestamp: int | None) -> SignedRequest:
        return self._form([("payload", json.dumps(payload, separators=(",", ":")))], timestamp)

    # ---------------------------------------------------------------- shared pieces

    def new_trigger_id(self) -> str:
        """A fresh trigger_id shaped like Slack's (`13345224609.738474920.8088930838d88f008e0`)."""
        n = next(self._sequence)
        return f"{13345224609 + n}.{738474920 + n}.{n:032x}"

    def _action_ts(self) -> str:
        now = self._clock()
        return f"{int(now)}.{int((now % 1) * 1_000_000):06d}"

    def _team(self) -> JsonDict:
        return {"id": self.team_id, "domain": self.team_domain}

    def _user(self, user_id: str, user_name: str) -> JsonDict:
        return {"id": user_id, "username": user_name, "name": user_name, "team_id": self.team_id}

    # ---------------------------------------------------------------- builders

    def slash_command(
        self,
        command: str,
        text: str,
        *,
        user_id: str = "U0AGENT",
        user_name: str = "agent",
        channel_id: str = "C0SUPPORT",
        channel_name: str = "support",
        response_url: str,
        trigger_id: str | None = None,
        timestamp: int | None = None,
    ) -> SignedRequest:
        """A slash command: top-level form fields in the documented order."""
        fields = [
            ("token", self.verification_token),
            ("team_id", self.team_id),
            ("team_domain", self.team_domain),
            ("channel_id", channel_id),
            ("channel_name", channel_name),
            ("user_id", user_id),
            ("user_name", user_name),
            ("command", command),
            ("text", text),
            ("api_app_id", self.api_app_id),
            ("is_enterprise_install", "false"),
            ("response_url", response_url),
            ("trigger_id", trigger_id or self.new_trigger_id()),
        ]
        return self._form(fields, timestamp)

    def block_actions_payload(
        self,
        *,
        action_id: str,
        value: str | None = None,
        user_id: str = "U0AGENT",
        user_name: str = "agent",
        response_url: str | None = None,
        trigger_id: str | None = None,
        block_id: str | None = None,
        action_text: str | None = None,
        action_type: str = "button",
        channel_id: str = "C0SUPPORT",
        channel_name: str = "support",
        message: Mapping[str, Any] | None = None,
        container: Mapping[str, Any] | None = None,
        view: Mapping[str, Any] | None = None,
    ) -> JsonDict:
        """The `block_actions` payload (unsigned), for tests that dispatch without HTTP."""
        source = view if view is not None else message
        found_block_id, element = _find_element((source or {}).get("blocks"), action_id)
        element = element or {}
        action: JsonDict = {
            "action_id": action_id,
            "block_id": block_id or found_block_id or "actions",
            "text": {
                "type": "plain_text",
                "text": action_text or (element.get("text") or {}).get("text") or "Button",
                "emoji": True,
            },
            "type": action_type,
            "action_ts": self._action_ts(),
        }
        if element.get("type") == "overflow":
            # An overflow menu reports the option chosen (the one with `value`, else the first), not a value.
            options = element.get("options") or [{}]
            chosen = next((o for o in options if value is None or o.get("value") == value), options[0])
            action["type"] = "overflow"
            action.pop("text")
            action["selected_option"] = dict(chosen)
        else:
            chosen_value = value if value is not None else element.get("value")
            if chosen_value is not None:
                action["value"] = chosen_value

        payload: JsonDict = {
            "type": "block_actions",
            "team": self._team(),
            "user": self._user(user_id, user_name),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
        }
        if view is not None:
            payload["container"] = dict(container or {"type": "view", "view_id": view.get("id")})
        else:
            message_ts = (message or {}).get("ts") or self._action_ts()
            payload["container"] = dict(
                container
                or {
                    "type": "message",
                    "message_ts": message_ts,
                    "channel_id": channel_id,
                    # Without the message itself, the button sat on an ephemeral message.
                    "is_ephemeral": message is None,
                }
            )
        payload["trigger_id"] = trigger_id or self.new_trigger_id()
        if view is None:
            payload["channel"] = {"id": channel_id, "name": channel_name}
        if message is not None:
            payload["message"] = _message_payload(message)
        if view is not None:
            payload["view"] = copy.deepcopy(dict(view))
        if response_url is not None:
            payload["response_url"] = response_url
        payload["actions"] = [action]
        return payload

    def block_actions(
        self,
        *,
        action_id: str,
        value: str | None = None,
        user_id: str = "U0AGENT",
        user_name: str = "agent",
        response_url: str | None = None,
        trigger_id: str | None = None,
        block_id: str | None = None,
        action_text: str | None = None,
        action_type: str = "button",
        channel_id: str = "C0SUPPORT",
        channel_name: str = "support",
        message: Mapping[str, Any] | None = None,
        container: Mapping[str, Any] | None = None,
        view: Mapping[str, Any] | None = None,
        timestamp: int | None = None,
    ) -> SignedRequest:
        """A button click. With `message` (e.g. `SlackStandIn.message(...)`), `block_id`, `value` and the
        button text default to those of the element with `action_id` in its blocks; with `view`, the
        click came from a modal or Home tab (container type `view`, no channel)."""
        payload = self.block_actions_payload(
            action_id=action_id,
            value=value,
            user_id=user_id,
            user_name=user_name,
            response_url=response_url,
            trigger_id=trigger_id,
            block_id=block_id,
            action_text=action_text,
            action_type=action_type,
            channel_id=channel_id,
            channel_name=channel_name,
            message=message,
            container=container,
            view=view,
        )
        return self._interaction(payload, timestamp)

    def view_submission(
        self,
        *,
        callback_id: str | None = None,
        private_metadata: str | None = None,
        state_values: Mapping[str, Any],
        user_id: str = "U0AGENT",
        user_name: str = "agent",
        view_id: str = "V0STANDIN01",
        view: Mapping[str, Any] | None = None,
        title: str = "Reauth check",
        trigger_id: str | None = None,
        timestamp: int | None = None,
    ) -> SignedRequest:
        """A modal submitted. `state_values` is Slack's `view.state.values`:
        `{block_id: {action_id: {"type": "plain_text_input", "value": "..."}}}`. Pass the opened `view`
        (`SlackStandIn.view(id)`) to reuse its id, blocks, callback_id and private_metadata."""
        base: JsonDict = copy.deepcopy(dict(view)) if view is not None else {}
        resolved_callback = callback_id if callback_id is not None else base.get("callback_id")
        if not resolved_callback:
            raise ValueError("view_submission needs a callback_id, directly or through view")
        vid = str(base.get("id") or view_id)
        submitted: JsonDict = {
            "id": vid,
            "team_id": self.team_id,
            "type": "modal",
            "blocks": base.get("blocks", []),
            "private_metadata": private_metadata if private_metadata is not None else base.get("private_metadata", ""),
            "callback_id": resolved_callback,
            "state": {"values": copy.deepcopy(dict(state_values))},
            "hash": base.get("hash") or f"{int(self._clock())}.standin",
            "title": base.get("title") or {"type": "plain_text", "text": title, "emoji": True},
            "clear_on_close": base.get("clear_on_close", False),
            "notify_on_close": base.get("notify_on_close", False),
            "close": base.get("close"),
            "submit": base.get("submit") or {"type": "plain_text", "text": "Submit", "emoji": True},
            "previous_view_id": base.get("previous_view_id"),
            "root_view_id": base.get("root_view_id") or vid,
            "app_id": self.api_app_id,
            "external_id": base.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": "B0BOT",
        }
        payload: JsonDict = {
            "type": "view_submission",
            "team": self._team(),
            "user": self._user(user_id, user_name),
            "api_app_id": self.api_app_id,
            "token": self.verification_token,
            "trigger_id": trigger_id or self.new_trigger_id(),
            "view": submitted,
            "response_urls": [],
            "is_enterprise_install": False,
            "enterprise": None,
        }
        return self._interaction(payload, timestamp)

    def message_action(
        self,
        *,
        callback_id: str,
        message: Mapping[str, Any],
        channel_id: str = "C0SUPPORT",
        channel_name: str = "support",
        user_id: str = "U0AGENT",
        user_name: str = "agent",
        response_url: str,
        trigger_id: str | None = None,
        timestamp: int | None = None,
    ) -> SignedRequest:
        """A message shortcut on `message` (which needs a `ts`)."""
        msg = _message_payload(message)
        payload: JsonDict = {
            "type": "message_action",
            "token": self.verification_token,
            "action_ts": self._action_ts(),
            "team": self._team(),
            "user": self._user(user_id, user_name),
            "channel": {"id": channel_id, "name": channel_name},
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": trigger_id or self.new_trigger_id(),
            "message_ts": msg["ts"],
            "message": msg,
            "response_url": response_url,
        }
        return self._interaction(payload, timestamp)

    def event_callback(
        self,
        event: Mapping[str, Any],
        *,
        event_id: str,
        retry_num: int | None = None,
        retry_reason: str = "http_timeout",
        event_time: int | None = None,
        timestamp: int | None = None,
    ) -> SignedRequest:
        """An Events API delivery; with `retry_num`, a redelivery carrying `X-Slack-Retry-*` headers."""
        when = int(self._clock()) if event_time is None else event_time
        envelope: JsonDict = {
            "token": self.verification_token,
            "team_id": self.team_id,
            "api_app_id": self.api_app_id,
            "event": copy.deepcopy(dict(event)),
            "type": "event_callback",
            "event_id": event_id,
            "event_time": when,
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.team_id,
                    "user_id": BOT_USER_ID,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": f"4-standin-{event_id}",
        }
        request = self.sign(json.dumps(envelope, separators=(",", ":")).encode("utf-8"), JSON, timestamp=timestamp)
        if retry_num is None:
            return request
        headers = {**request.headers, "X-Slack-Retry-Num": str(retry_num), "X-Slack-Retry-Reason": retry_reason}
        return SignedRequest(request.body, headers)

    def url_verification(self, challenge: str, *, timestamp: int | None = None) -> SignedRequest:
        """The handshake Slack sends when the Events Request URL is saved."""
        body = {"token": self.verification_token, "challenge": challenge, "type": "url_verification"}
        return self.sign(json.dumps(body, separators=(",", ":")).encode("utf-8"), JSON, timestamp=timestamp)
