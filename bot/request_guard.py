"""A WSGI middleware in front of Bolt: requests that are too big or not what Slack sends are refused
before Bolt parses them, with a 4xx and one log line that carries no part of the body.

Slack sends form-encoded slash commands, form-encoded interactions (one `payload` field of JSON) and
JSON events, each with a numeric `X-Slack-Request-Timestamp`. Bolt parses whatever arrives and reads
fields by shape (`body["actions"][0]`, `payload["user"]["id"]`, ...): a body of another shape ends in a
traceback and a 500, or a listener that never acks. So the shapes Bolt and the listeners read are
checked here, the same way whatever the WSGI server (waitress, gunicorn).
"""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from typing import Any
from urllib.parse import parse_qsl

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# Slack's largest payloads (a modal's view with its blocks and state) stay well under this.
MAX_BODY = 1024 * 1024
_MAX_TIMESTAMP_DIGITS = 12
_GUARDED_METHODS = ("POST", "PUT", "PATCH")


class Refused(Exception):
    """The request is not one Slack would send: `status` and a short code for the log and the answer."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def request_guard(app: WSGIApp, *, max_body: int = MAX_BODY) -> WSGIApp:
    """Wrap a WSGI app: POSTs are read (at most `max_body` bytes), checked, and handed on intact."""

    def guarded(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("REQUEST_METHOD") not in _GUARDED_METHODS:
            return app(environ, start_response)
        try:
            body = _read_body(environ, max_body)
            check_request(environ, body)
        except Refused as refused:
            log.warning("request refused: status=%s reason=%s path=%s length=%s", refused.status, refused.reason,
                        environ.get("PATH_INFO", ""), environ.get("CONTENT_LENGTH") or "?")
            return _answer(start_response, refused.status, refused.reason)
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return app(environ, start_response)

    return guarded


def _answer(start_response: Callable[..., Any], status: int, reason: str) -> list[bytes]:
    body = json.dumps({"ok": False, "error": reason}).encode()
    phrase = {400: "Bad Request", 413: "Payload Too Large"}.get(status, "Error")
    start_response(f"{status} {phrase}", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]


def _read_body(environ: Mapping[str, Any], max_body: int) -> bytes:
    raw_length = str(environ.get("CONTENT_LENGTH") or "").strip()
    if raw_length:
        if not raw_length.isascii() or not raw_length.isdigit():
            raise Refused(400, "bad_content_length")
        if int(raw_length) > max_body:
            raise Refused(413, "body_too_large")  # not read: the declared length is enough to say no
        length = int(raw_length)
    else:
        length = max_body + 1  # no length given (chunked): read one byte past the limit to see it
    stream = environ.get("wsgi.input")
    body = stream.read(length) if stream is not None and length else b""
    if len(body) > max_body:
        raise Refused(413, "body_too_large")
    return bytes(body)


def check_request(environ: Mapping[str, Any], body: bytes) -> None:
    """Raise `Refused` unless the request is shaped like one Slack sends."""
    timestamp = str(environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP") or "").strip()
    if not timestamp:
        raise Refused(400, "missing_timestamp")
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > _MAX_TIMESTAMP_DIGITS:
        raise Refused(400, "bad_timestamp")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused(400, "not_utf8") from None
    data = parse_slack_body(text, media_type(str(environ.get("CONTENT_TYPE") or "")))
    check_shape(data)


def media_type(content_type: str) -> str:
    """`application/x-www-form-urlencoded` of `Application/X-WWW-Form-Urlencoded; charset=utf-8`."""
    return content_type.split(";")[0].strip().lower()


def parse_slack_body(text: str, content_type: str) -> dict[str, Any]:
    """The body as Bolt is given it (`bot.server.SlackRequests`), or `Refused`: JSON, an interaction's
    `payload` field of JSON, or a slash command's form."""
    if not text:
        raise Refused(400, "empty_body")
    if content_type == "application/json" or text.startswith("{"):
        return _json_object(text, "bad_json")
    if content_type != "application/x-www-form-urlencoded":
        raise Refused(400, "unsupported_content_type")
    try:
        fields = parse_qsl(text, keep_blank_values=True, strict_parsing=True, errors="strict")
    except (ValueError, UnicodeDecodeError):
        raise Refused(400, "bad_form") from None
    form = dict(fields)
    if "payload" in form:
        return _json_object(form["payload"], "bad_payload")
    return form


def _json_object(text: str, reason: str) -> dict[str, Any]:
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise Refused(400, reason) from None
    if not isinstance(data, dict):
        raise Refused(400, reason)
    return data


# --- shapes ---------------------------------------------------------------------------------------------

def _fail(field: str) -> Refused:
    return Refused(400, f"bad_field:{field}")


def _optional_str(data: Mapping[str, Any], *names: str) -> None:
    for name in names:
        if data.get(name) is not None and not isinstance(data[name], str):
            raise _fail(name)


def _required_str(data: Mapping[str, Any], *names: str, allow_empty: bool = False) -> None:
    for name in names:
        value = data.get(name)
        if not isinstance(value, str) or (not value and not allow_empty):
            raise _fail(name)


def _optional_dict(data: Mapping[str, Any], name: str) -> Mapping[str, Any] | None:
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _fail(name)
    return value


def _id_holder(data: Mapping[str, Any], name: str, *, required: bool = False) -> None:
    """`team`, `user`, `enterprise`, `channel`: an id string, or an object whose `id` is a string."""
    value = data.get(name)
    if value is None:
        if required:
            raise _fail(name)
        return
    if isinstance(value, str):
        return
    if not isinstance(value, dict):
        raise _fail(name)
    if required and not isinstance(value.get("id"), str):
        raise _fail(f"{name}.id")
    _optional_str(value, "id", "team_id", "enterprise_id")


def _common(data: Mapping[str, Any]) -> None:
    """What Bolt reads of every body to build its context."""
    _optional_str(data, "type", "token", "team_id", "enterprise_id", "user_id", "channel_id", "api_app_id",
                  "response_url", "trigger_id", "thread_ts", "callback_id", "function_execution_id",
                  "bot_access_token", "event_id")
    for name in ("team", "user", "enterprise", "channel"):
        _id_holder(data, name)
    if "is_enterprise_install" in data and not isinstance(data["is_enterprise_install"], bool | str | None):
        raise _fail("is_enterprise_install")
    if "is_ext_shared_channel" in data and not isinstance(data["is_ext_shared_channel"], bool | None):
        raise _fail("is_ext_shared_channel")
    authorizations = data.get("authorizations")
    if authorizations is not None:
        if not isinstance(authorizations, list) or not all(isinstance(a, dict) for a in authorizations):
            raise _fail("authorizations")
        for authorization in authorizations:
            _optional_str(authorization, "team_id", "enterprise_id", "user_id")
            _id_holder(authorization, "enterprise")
            _id_holder(authorization, "team")
    response_urls = data.get("response_urls")
    if response_urls is not None and (
        not isinstance(response_urls, list)
        or not all(isinstance(u, dict) and isinstance(u.get("response_url"), str) for u in response_urls)
    ):
        raise _fail("response_urls")
    for name in ("message", "previous_message", "item", "assistant_thread", "function_data", "container", "state"):
        nested = _optional_dict(data, name)
        if nested is not None and name in ("message", "previous_message"):
            _optional_str(nested, "text", "ts", "thread_ts", "user_id", "channel_id")
            for holder in ("user", "channel", "team"):
                _id_holder(nested, holder)
    view = _optional_dict(data, "view")
    if view is not None:
        _view(view)


def _view(view: Mapping[str, Any]) -> None:
    _optional_str(view, "id", "callback_id", "private_metadata", "team_id", "app_installed_team_id", "hash")
    state = _optional_dict(view, "state")
    if state is None:
        return
    values = state.get("values")
    if values is None:
        return
    if not isinstance(values, dict):
        raise _fail("view.state.values")
    for block in values.values():
        if not isinstance(block, dict) or not all(isinstance(element, dict) for element in block.values()):
            raise _fail("view.state.values")
        for element in block.values():
            _optional_str(element, "value", "type")
            option = element.get("selected_option")
            if option is not None and (not isinstance(option, dict) or not isinstance(option.get("value"), str)):
                raise _fail("view.state.values.selected_option")


def check_shape(data: Mapping[str, Any]) -> None:
    """Raise `Refused` when a field Bolt or a listener reads has a type Slack never sends."""
    _common(data)
    if "command" in data:  # a slash command: form fields, all strings
        _required_str(data, "command", "user_id", "team_id", "response_url", "trigger_id")
        _required_str(data, "text", allow_empty=True)
        return
    kind = data.get("type")
    if kind == "url_verification":
        _required_str(data, "challenge")
    elif kind == "block_actions":
        _id_holder(data, "user", required=True)
        _required_str(data, "trigger_id", "api_app_id")
        actions = data.get("actions")
        if not isinstance(actions, list) or not actions or not all(isinstance(a, dict) for a in actions):
            raise _fail("actions")
        for action in actions:
            _required_str(action, "action_id")
            _optional_str(action, "value", "block_id", "type", "action_ts")
        container = data.get("container")
        if not (isinstance(container, dict) and container.get("type") == "view"):
            _required_str(data, "response_url")  # a button on a message answers the agent there
    elif kind in ("view_submission", "view_closed"):
        _id_holder(data, "user", required=True)
        _required_str(data, "api_app_id")
        if not isinstance(data.get("view"), dict):
            raise _fail("view")
        _required_str(data["view"], "callback_id", "type")
    elif kind in ("message_action", "shortcut"):
        _id_holder(data, "user", required=True)
        _required_str(data, "callback_id", "trigger_id")
        if kind == "message_action":
            _required_str(data, "response_url")
            if not isinstance(data.get("message"), dict):
                raise _fail("message")
    elif kind == "event_callback":
        _required_str(data, "team_id", "api_app_id", "event_id")
        event = data.get("event")
        if not isinstance(event, dict):
            raise _fail("event")
        _required_str(event, "type")
        _optional_str(event, "user_team", "team", "tab", "channel", "thread_ts", "subteam_id", "bot_id")
        for holder in ("user", "channel", "item", "message", "previous_message"):
            value = event.get(holder)
            if value is not None and not isinstance(value, str | dict):
                raise _fail(f"event.{holder}")
        for nested in ("message", "previous_message"):
            inner = event.get(nested)
            if isinstance(inner, dict):
                _optional_str(inner, "text", "user", "ts", "thread_ts")
    elif not (kind is None and "ssl_check" in data):
        # Interactions this app has no listener for (dialogs, workflow steps, suggestions) have shapes of
        # their own that Bolt reads unchecked: refused here rather than half-read there.
        raise Refused(400, "unknown_request")
