"""A local stand-in of the Slack Web API: a real HTTP server that answers like Slack and records every call.

Point `slack_sdk.WebClient(base_url=standin.api_url)` at it. What it checks, like Slack:

- the bot token (`Authorization: Bearer ...`, or a `token` form field): `not_authed` / `invalid_auth`;
- the required arguments of each method (for chat.* those listed in docs.slack.dev's `args.required`):
  `invalid_arguments` with `response_metadata.messages` naming the missing field;
- Block Kit limits (50 blocks per message, 100 per view, section text 3000, header 150, button text 75,
  button value 2000, `private_metadata` 3000, ...): `invalid_blocks`; message text over 40,000: `msg_too_long`;
- threads: `thread_ts` must be a top-level message of that channel, else `thread_not_found`;
- Socket Mode (`app_token=`, `socket_mode=`): `apps.connections.open` takes only the xapp- token as a Bearer
  header (bot token: `not_allowed_token_type`; form `token=`: `invalid_auth`) and answers a one-use
  `ws://` URL of the `SocketModeStandIn`; the xapp- token on other methods gets `not_allowed_token_type`.

Response URLs (`response_url()`) take JSON like Slack's: five posts each, then HTTP 404
`{"ok": false, "error": "used_url"}`; a URL that was never issued answers 404 `expired_url`.

Only accepted calls land in `calls`; everything refused (auth, arguments, limits, injected faults,
rate limits, outage) lands in `rejected_calls` with its status and error.
"""

from __future__ import annotations

import contextlib
import copy
import hashlib
import json
import mimetypes
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qsl, urlsplit

from bot.standins.server import StandInHTTPServer, StandInServer, poll

if TYPE_CHECKING:
    from bot.standins.socket_mode import SocketModeStandIn

JsonDict = dict[str, Any]

TEAM_ID = "T0STANDIN"
TEAM_NAME = "Stand-in"
BOT_USER_ID = "U0BOT"
BOT_ID = "B0BOT"
APP_ID = "A0REAUTH"

# Required arguments per method. chat.* copy docs.slack.dev `args.required` (tests/contracts checks that);
# `token` is satisfied by the Authorization header, as slack_sdk sends it.
REQUIRED_ARGS: Mapping[str, tuple[str, ...]] = {
    "auth.test": ("token",),
    "apps.connections.open": ("token",),
    "chat.postMessage": ("token", "channel"),
    "chat.update": ("token", "ts", "channel"),
    "chat.postEphemeral": ("token", "user", "channel"),
    "conversations.open": ("token",),
    "conversations.history": ("token", "channel"),
    "conversations.replies": ("token", "channel", "ts"),
    "views.open": ("token", "view"),
    "views.update": ("token", "view"),
    "views.publish": ("token", "user_id", "view"),
    "files.getUploadURLExternal": ("token", "filename", "length"),
    "files.completeUploadExternal": ("token", "files"),
    "usergroups.users.list": ("token", "usergroup"),
}

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_MESSAGE_TEXT = 40_000
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_SECTION_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_BUTTON_TEXT = 75
MAX_BUTTON_VALUE = 2000
MAX_URL = 3000
MAX_ID = 255  # action_id, block_id, callback_id, external_id
MAX_ACTIONS_ELEMENTS = 25
MAX_CONTEXT_ELEMENTS = 10
MAX_OVERFLOW_OPTIONS = 5
MAX_OPTION_TEXT = 75
MAX_OPTION_VALUE = 150
MAX_INPUT_LABEL = 2000
MAX_PRIVATE_METADATA = 3000
MAX_VIEW_TITLE = 24  # also submit and close
RESPONSE_URL_USES = 5

RESPONSE_URL = "response_url"
"""Pseudo-method name: `fail_next(RESPONSE_URL, ...)` makes the next response-URL post fail."""

# Form bodies carry these arguments as JSON strings; Slack decodes them, so the records do too.
_JSON_FORM_FIELDS = frozenset({"attachments", "blocks", "files", "metadata", "view", "unfurls"})
_KNOWN_BLOCK_TYPES = frozenset({
    "actions", "call", "context", "context_actions", "divider", "file", "header", "image", "input",
    "markdown", "rich_text", "section", "table", "video",
})
_TEXT_TYPES = ("mrkdwn", "plain_text")
_FIRST_TS = 1_700_000_000_000_100  # microseconds: "1700000000.000100"
_TS_STEP = 100


@dataclass(frozen=True)
class SlackCall:
    """One request the stand-in received; `status`/`error` say why a rejected one was refused."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    at: float
    status: int = 200
    error: str | None = None


@dataclass(frozen=True)
class _Reply:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


@dataclass
class _Fault:
    status: int
    retry_after: int | None
    error: str
    remaining: int


@dataclass
class _ResponseUrl:
    uses: int = 0
    channel: str | None = None
    message_ts: str | None = None


@dataclass
class _File:
    id: str
    filename: str
    length: int
    alt_txt: str | None
    snippet_type: str | None
    data: bytes | None = None


@dataclass
class _View:
    body: JsonDict
    external_id: str | None = None


class _SlackError(Exception):
    """A refusal, answered as Slack would: `{"ok": false, "error": ...}` plus details."""

    def __init__(
        self,
        error: str,
        *,
        messages: Sequence[str] = (),
        status: int = 200,
        retry_after: int | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.messages = list(messages)
        self.status = status
        self.retry_after = retry_after
        self.extra = dict(extra or {})


# A held answer is let go after this long at most, so a forgotten hold cannot hang a test run.
_MAX_HOLD_SECONDS = 60.0


def _json_reply(status: int, data: Mapping[str, Any], retry_after: int | None = None) -> _Reply:
    headers = (("Retry-After", str(retry_after)),) if retry_after is not None else ()
    return _Reply(status, json.dumps(data).encode("utf-8"), headers=headers)


def _error_body(err: _SlackError) -> JsonDict:
    body: JsonDict = {"ok": False, "error": err.error, **err.extra}
    if err.messages:
        if err.error == "invalid_blocks":
            body["errors"] = list(err.messages)
        body["response_metadata"] = {"messages": list(err.messages)}
    return body


def _decode_json_fields(args: dict[str, Any]) -> dict[str, Any]:
    for name in _JSON_FORM_FIELDS.intersection(args):
        value = args[name]
        if isinstance(value, str) and value.strip()[:1] in ("[", "{"):
            # Left as a string when not JSON: the method answers invalid_blocks_format / invalid_arguments.
            with contextlib.suppress(ValueError):
                args[name] = json.loads(value)
    return args


def _parse_args(query: str, content_type: str, body: bytes) -> tuple[dict[str, Any], bool, str | None]:
    """Return (args, came_from_json, parse_error)."""
    args: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    if "application/json" in content_type.lower():
        try:
            parsed = json.loads(body) if body else {}
        except ValueError:
            return _decode_json_fields(args), True, "invalid_json"
        if not isinstance(parsed, dict):
            return _decode_json_fields(args), True, "invalid_json"
        return {**_decode_json_fields(args), **parsed}, True, None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return _decode_json_fields(args), False, "invalid_form_data"
    args.update(parse_qsl(text, keep_blank_values=True))
    return _decode_json_fields(args), False, None


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _too_long(limit: int, pointer: str) -> str:
    return f"[ERROR] must be less than {limit + 1} characters [json-pointer:{pointer}]"


def _check_length(value: Any, limit: int, pointer: str, errors: list[str]) -> None:
    if isinstance(value, str) and len(value) > limit:
        errors.append(_too_long(limit, pointer))


def _check_text(
    obj: Any, pointer: str, limit: int, errors: list[str], *, plain_only: bool = False
) -> None:
    if not isinstance(obj, dict):
        errors.append(f"[ERROR] missing required text object [json-pointer:{pointer}]")
        return
    allowed = ("plain_text",) if plain_only else _TEXT_TYPES
    if obj.get("type") not in allowed:
        errors.append(f"[ERROR] must be one of {', '.join(allowed)} [json-pointer:{pointer}/type]")
    text = obj.get("text")
    if not isinstance(text, str):
        errors.append(f"[ERROR] missing required field: text [json-pointer:{pointer}]")
    elif not text:
        errors.append(f"[ERROR] must be more than 0 characters [json-pointer:{pointer}/text]")
    elif len(text) > limit:
        errors.append(_too_long(limit, f"{pointer}/text"))


def _check_element(element: Any, pointer: str, errors: list[str]) -> None:
    if not isinstance(element, dict) or not isinstance(element.get("type"), str):
        errors.append(f"[ERROR] missing required field: type [json-pointer:{pointer}]")
        return
    _check_length(element.get("action_id"), MAX_ID, f"{pointer}/action_id", errors)
    if element["type"] == "button":
        _check_text(element.get("text"), f"{pointer}/text", MAX_BUTTON_TEXT, errors, plain_only=True)
        _check_length(element.get("value"), MAX_BUTTON_VALUE, f"{pointer}/value", errors)
        _check_length(element.get("url"), MAX_URL, f"{pointer}/url", errors)
    elif element["type"] == "overflow":
        options = _check_list(element.get("options"), MAX_OVERFLOW_OPTIONS, f"{pointer}/options", errors)
        for j, option in enumerate(options):
            at = f"{pointer}/options/{j}"
            _check_text(option.get("text") if isinstance(option, dict) else None, f"{at}/text", MAX_OPTION_TEXT,
                        errors, plain_only=True)
            _check_length(option.get("value") if isinstance(option, dict) else None, MAX_OPTION_VALUE,
                          f"{at}/value", errors)


def _check_list(value: Any, limit: int, pointer: str, errors: list[str]) -> list[Any]:
    if not isinstance(value, list) or not value:
        errors.append(f"[ERROR] must provide a non-empty array [json-pointer:{pointer}]")
        return []
    if len(value) > limit:
        errors.append(f"[ERROR] no more than {limit} items allowed [json-pointer:{pointer}]")
    return value


def block_errors(blocks: list[Any], pointer: str, max_blocks: int) -> list[str]:
    """Slack-style error messages for the Block Kit limits the stand-in enforces (empty when valid)."""
    errors: list[str] = []
    if len(blocks) > max_blocks:
        errors.append(f"[ERROR] no more than {max_blocks} items allowed [json-pointer:{pointer}]")
    for index, block in enumerate(blocks):
        at = f"{pointer}/{index}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            errors.append(f"[ERROR] missing required field: type [json-pointer:{at}]")
            continue
        kind = block["type"]
        if kind not in _KNOWN_BLOCK_TYPES:
            errors.append(f"[ERROR] unsupported type: {kind} [json-pointer:{at}/type]")
            continue
        _check_length(block.get("block_id"), MAX_ID, f"{at}/block_id", errors)
        if kind == "section":
            if block.get("text") is None and block.get("fields") is None:
                errors.append(f"[ERROR] must provide either text or fields [json-pointer:{at}]")
            if block.get("text") is not None:
                _check_text(block["text"], f"{at}/text", MAX_SECTION_TEXT, errors)
            if block.get("fields") is not None:
                fields = _check_list(block["fields"], MAX_SECTION_FIELDS, f"{at}/fields", errors)
                for j, item in enumerate(fields):
                    _check_text(item, f"{at}/fields/{j}", MAX_SECTION_FIELD_TEXT, errors)
            if block.get("accessory") is not None:
                _check_element(block["accessory"], f"{at}/accessory", errors)
        elif kind == "header":
            _check_text(block.get("text"), f"{at}/text", MAX_HEADER_TEXT, errors, plain_only=True)
        elif kind == "actions":
            elements = _check_list(block.get("elements"), MAX_ACTIONS_ELEMENTS, f"{at}/elements", errors)
            for j, element in enumerate(elements):
                _check_element(element, f"{at}/elements/{j}", errors)
        elif kind == "context":
            _check_list(block.get("elements"), MAX_CONTEXT_ELEMENTS, f"{at}/elements", errors)
        elif kind == "input":
            _check_text(block.get("label"), f"{at}/label", MAX_INPUT_LABEL, errors, plain_only=True)
            _check_element(block.get("element"), f"{at}/element", errors)
    return errors


def view_errors(view: Mapping[str, Any], pointer: str = "/view") -> list[str]:
    """Slack-style error messages for a modal or Home tab view (empty when valid)."""
    errors: list[str] = []
    blocks = view.get("blocks")
    if not isinstance(blocks, list):
        errors.append(f"[ERROR] missing required field: blocks [json-pointer:{pointer}]")
    else:
        errors.extend(block_errors(blocks, f"{pointer}/blocks", MAX_VIEW_BLOCKS))
    _check_length(view.get("private_metadata"), MAX_PRIVATE_METADATA, f"{pointer}/private_metadata", errors)
    _check_length(view.get("callback_id"), MAX_ID, f"{pointer}/callback_id", errors)
    _check_length(view.get("external_id"), MAX_ID, f"{pointer}/external_id", errors)
    if view.get("type") == "modal":
        _check_text(view.get("title"), f"{pointer}/title", MAX_VIEW_TITLE, errors, plain_only=True)
    for name in ("submit", "close"):
        if view.get(name) is not None:
            _check_text(view[name], f"{pointer}/{name}", MAX_VIEW_TITLE, errors, plain_only=True)
    return errors


def _parse_blocks(value: Any) -> list[Any] | None:
    """Blocks as a list (None when absent); a JSON string is decoded, anything else is refused."""
    if value is None:
        return None
    if isinstance(value, str):
        if not value.strip():
            return None
        try:
            value = json.loads(value)
        except ValueError:
            raise _SlackError("invalid_blocks_format") from None
    if not isinstance(value, list):
        raise _SlackError("invalid_blocks_format")
    return value


def _check_message_content(text: Any, blocks: list[Any] | None, pointer: str = "/blocks") -> None:
    if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
        raise _SlackError("msg_too_long")
    if blocks:
        errors = block_errors(blocks, pointer, MAX_MESSAGE_BLOCKS)
        if errors:
            raise _SlackError("invalid_blocks", messages=errors)


def _has_content(text: Any, blocks: list[Any] | None, attachments: Any) -> bool:
    return (isinstance(text, str) and text != "") or bool(blocks) or bool(attachments)


def _dm_channel_id(user: str) -> str:
    return "D" + hashlib.sha1(user.encode("utf-8")).hexdigest()[:10].upper()


class _Server(StandInHTTPServer):
    def __init__(self, listener: socket.socket, standin: SlackStandIn) -> None:
        super().__init__(listener, _Handler)
        self.standin = standin
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()

    def shutdown(self) -> None:
        """Stop accepting, then close every kept-alive connection so none serves a stopped stand-in."""
        self.standin.release_held()
        super().shutdown()
        with self.connections_lock:
            open_connections = list(self.connections)
        for connection in open_connections:
            with contextlib.suppress(OSError):  # the client may have closed it first
                connection.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.1 keeps connections open for httpx pools; stop() closes whatever is still open.
    protocol_version = "HTTP/1.1"
    server_version = "SlackStandIn/1.0"
    # The head and the body go out in two writes: without TCP_NODELAY the body can wait for a delayed ACK
    # (up to 40 ms on a kept-alive connection), holding the caller's thread, as Slack's servers would not.
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        server = cast(_Server, self.server)
        with server.connections_lock:
            server.connections.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            server = cast(_Server, self.server)
            with server.connections_lock:
                server.connections.discard(self.connection)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def _serve(self, verb: str) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        split = urlsplit(self.path)
        headers = dict(self.headers.items())
        standin = cast(_Server, self.server).standin
        reply = standin._dispatch(verb, split.path, split.query, headers, body)
        try:
            self.send_response(reply.status)
            self.send_header("Content-Type", reply.content_type)
            self.send_header("Content-Length", str(len(reply.body)))
            for name, value in reply.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the caller is gone (killed while its answer was held); Slack would not notice either

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: the recorded calls tell more than an access log."""


class SlackStandIn(StandInServer):
    """A Slack Web API and response-URL server on 127.0.0.1 that answers like Slack and records calls."""

    def __init__(
        self,
        token: str = "xoxb-standin",
        port: int = 0,
        *,
        app_token: str | None = None,
        socket_mode: SocketModeStandIn | None = None,
    ) -> None:
        # Socket Mode: `apps.connections.open` takes only the app-level token and answers a URL of `socket_mode`.
        if socket_mode is not None and app_token is None:
            app_token = "xapp-1-A0REAUTH-standin"
        if app_token is not None and (socket_mode is None or not app_token.startswith("xapp-")):
            raise ValueError("app_token needs an xapp- token and a socket_mode server to point at")
        super().__init__(port)
        self.app_token = app_token
        self._socket_mode = socket_mode
        self.token = token
        self._lock = threading.RLock()
        self._calls: list[SlackCall] = []
        self._rejected: list[SlackCall] = []
        self._responses: list[tuple[str, JsonDict]] = []
        self._response_urls: dict[str, _ResponseUrl] = {}
        self._uploads: list[tuple[str, bytes]] = []
        self._files: dict[str, _File] = {}
        self._messages: dict[str, list[JsonDict]] = {}
        self._views: dict[str, _View] = {}
        self._home: dict[str, JsonDict] = {}
        self._opened_dms: set[str] = set()
        self._faults: dict[str, list[_Fault]] = {}
        self._holds: dict[str, int] = {}
        self._holding = 0
        self._release = threading.Event()
        self._unavailable = False
        self._per_channel_interval: float | None = None
        self._last_post: dict[str, float] = {}
        self._counter = 0
        self._last_ts = _FIRST_TS - _TS_STEP
        self._methods: dict[str, Callable[[dict[str, Any]], JsonDict]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "conversations.open": self._conversations_open,
            "conversations.history": self._conversations_history,
            "conversations.replies": self._conversations_replies,
            "views.open": self._views_open,
            "views.update": self._views_update,
            "views.publish": self._views_publish,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "apps.connections.open": self._apps_connections_open,
            "usergroups.users.list": self._usergroups_users_list,
        }
        self._usergroups: dict[str, list[str]] = {}

    # ---------------------------------------------------------------- lifecycle

    def _serve(self, listener: socket.socket) -> _Server:
        return _Server(listener, self)

    @property
    def api_url(self) -> str:
        """The Web API base URL, for `WebClient(base_url=...)`."""
        return f"{self.base_url}/api/"

    def response_url(self, key: str | None = None, *, channel: str | None = None, message_ts: str | None = None) -> str:
        """A response URL served here; the same key gives the same URL (and the same 5 uses).

        With `channel` and `message_ts`, `replace_original`/`delete_original` posts change that stored
        message, and `response_type: in_channel` posts a new message in `channel`, as Slack does.
        """
        base = self.base_url
        with self._lock:
            if key is None:
                key = f"r{self._next_number()}"
            if not key or "/" in key:
                raise ValueError(f"response_url key must be non-empty and contain no '/': {key!r}")
            hook = self._response_urls.setdefault(key, _ResponseUrl())
            if channel is not None:
                hook.channel = self._channel_id(channel)
            if message_ts is not None:
                hook.message_ts = message_ts
        return f"{base}/response/{key}"

    # ---------------------------------------------------------------- records

    @property
    def calls(self) -> list[SlackCall]:
        """Web API calls Slack accepted, in arrival order."""
        with self._lock:
            return list(self._calls)

    @property
    def rejected_calls(self) -> list[SlackCall]:
        """Requests refused (auth, arguments, limits, faults, rate limits, outage), in arrival order."""
        with self._lock:
            return list(self._rejected)

    def calls_to(self, method: str) -> list[SlackCall]:
        with self._lock:
            return [call for call in self._calls if call.method == method]

    def responses(self, key: str | None = None) -> list[JsonDict]:
        """Accepted posts to response URLs (all, or those of one key), in arrival order."""
        with self._lock:
            return [copy.deepcopy(body) for k, body in self._responses if key is None or k == key]

    def uploads(self) -> list[tuple[str, bytes]]:
        """(filename, content) of every file uploaded through files.getUploadURLExternal's URL."""
        with self._lock:
            return list(self._uploads)

    def messages(self, channel: str) -> list[JsonDict]:
        """Every message in a channel (top-level and replies) in posting order."""
        with self._lock:
            return copy.deepcopy(self._messages.get(self._channel_id(channel), []))

    def thread(self, channel: str, thread_ts: str) -> list[JsonDict]:
        """The replies to `thread_ts` (not the parent)."""
        return [m for m in self.messages(channel) if m["thread_ts"] == thread_ts]

    def message(self, channel: str, ts: str) -> JsonDict:
        """One message; KeyError when it does not exist."""
        for candidate in self.messages(channel):
            if candidate["ts"] == ts:
                return candidate
        raise KeyError(f"no message {ts} in channel {channel}")

    def home_view(self, user_id: str) -> JsonDict | None:
        """The Home tab last published for a user."""
        with self._lock:
            view = self._home.get(user_id)
            return copy.deepcopy(view) if view is not None else None

    def view(self, view_id: str) -> JsonDict:
        """A modal opened or updated through views.*; KeyError when unknown."""
        with self._lock:
            return copy.deepcopy(self._views[view_id].body)

    def dm_channel(self, user_id: str) -> str:
        """The DM channel id conversations.open returns for a user."""
        return _dm_channel_id(user_id)

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[SlackCall]:
        """Poll until at least `count` accepted calls to `method`; AssertionError on timeout."""
        found, enough = poll(lambda: self.calls_to(method), lambda calls: len(calls) >= count, timeout)
        if not enough:
            raise AssertionError(
                f"SlackStandIn: expected at least {count} accepted {method} call(s) within {timeout}s, "
                f"got {len(found)}. {self._summary()}"
            )
        return found

    def wait_for_responses(self, key: str | None, count: int = 1, timeout: float = 5.0) -> list[JsonDict]:
        """Poll until at least `count` accepted posts to response URL `key` (any key when None)."""
        found, enough = poll(lambda: self.responses(key), lambda posts: len(posts) >= count, timeout)
        if not enough:
            where = "any response URL" if key is None else f"response URL {key!r}"
            raise AssertionError(
                f"SlackStandIn: expected at least {count} post(s) to {where} within {timeout}s, "
                f"got {len(found)}. {self._summary()}"
            )
        return found

    def _summary(self) -> str:
        with self._lock:
            accepted = [call.method for call in self._calls]
            rejected = [f"{call.method}: {call.status} {call.error}" for call in self._rejected]
            responses = [key for key, _ in self._responses]
        return f"Accepted calls: {accepted}; rejected: {rejected}; response URL posts: {responses}"

    # ---------------------------------------------------------------- fault injection

    def fail_next(
        self,
        method: str,
        *,
        status: int = 429,
        retry_after: int | None = 1,
        times: int = 1,
        error: str | None = None,
    ) -> None:
        """Answer the next `times` calls to `method` with `status` (and `Retry-After` when given).

        The body is `{"ok": false, "error": ...}`: `ratelimited` for 429, `service_unavailable` for 503,
        `fatal_error` otherwise, or `error`. Use status 200 with `error` to inject a plain Slack error.
        `method` may be `RESPONSE_URL` to fail posts to response URLs.
        """
        if times < 1:
            raise ValueError("times must be at least 1")
        if not 200 <= status <= 599:
            raise ValueError(f"status must be an HTTP status between 200 and 599, not {status}")
        if status == 200 and error is None:
            raise ValueError("status 200 needs an error code, e.g. error='channel_not_found'")
        default = {429: "ratelimited", 503: "service_unavailable"}.get(status, "fatal_error")
        with self._lock:
            self._faults.setdefault(method, []).append(_Fault(status, retry_after, error or default, times))

    def set_usergroup(self, group_id: str, users: list[str]) -> None:
        """The members `usergroups.users.list` answers for `group_id` from now on."""
        with self._lock:
            self._usergroups[group_id] = list(users)

    def hold_next_after_storing(self, method: str, times: int = 1) -> None:
        """Carry out the next `times` calls to `method` (a message is stored), then hold each answer until
        `release_held()`: the crash window, where Slack has the message and its sender never heard so."""
        with self._lock:
            self._release.clear()
            self._holds[method] = self._holds.get(method, 0) + times

    def holding(self) -> int:
        """How many carried-out calls are waiting for their answer to be released."""
        with self._lock:
            return self._holding

    def release_held(self) -> None:
        self._release.set()

    def set_unavailable(self, unavailable: bool = True) -> None:
        """While on, every request (API, response URLs, uploads) answers HTTP 503."""
        with self._lock:
            self._unavailable = unavailable

    def rate_limit_per_channel(self, per_second: float | None) -> None:
        """chat.postMessage to one channel faster than this answers 429 `Retry-After: 1`; None turns it off."""
        if per_second is not None and per_second <= 0:
            raise ValueError("per_second must be positive, or None to turn the limit off")
        with self._lock:
            self._per_channel_interval = None if per_second is None else 1.0 / per_second
            self._last_post.clear()

    # ---------------------------------------------------------------- dispatch

    def _dispatch(self, verb: str, path: str, query: str, headers: dict[str, str], body: bytes) -> _Reply:
        try:
            if path.startswith("/api/"):
                return self._api(path.removeprefix("/api/"), query, headers, body)
            if path.startswith("/response/"):
                return self._response_post(path.removeprefix("/response/"), headers, body)
            if path.startswith("/upload/"):
                return self._upload(path.removeprefix("/upload/"), headers, body)
            return _Reply(404, b"not_found", content_type="text/plain; charset=utf-8")
        except Exception as exc:  # a stand-in bug must reach the test as a loud 500, not a hang
            return _json_reply(500, {"ok": False, "error": "fatal_error", "standin_exception": repr(exc)})

    def _api(self, method: str, query: str, headers: dict[str, str], body: bytes) -> _Reply:
        now = time.time()
        lowered = {name.lower(): value for name, value in headers.items()}
        args, from_json, parse_error = _parse_args(query, lowered.get("content-type", ""), body)
        with self._lock:
            try:
                if self._unavailable:
                    raise _SlackError("service_unavailable", status=503)
                handler = self._methods.get(method)
                if handler is None:
                    raise _SlackError("unknown_method", extra={"req_method": method})
                self._raise_injected_fault(method)
                self._check_token(lowered.get("authorization"), None if from_json else args.get("token"), method)
                if parse_error is not None:
                    raise _SlackError(parse_error)
                missing = [name for name in REQUIRED_ARGS.get(method, ()) if name != "token" and _blank(args.get(name))]
                if missing:
                    raise _SlackError(
                        "invalid_arguments",
                        messages=[f"[ERROR] missing required field: {name}" for name in missing],
                    )
                result = handler(args)
            except _SlackError as err:
                self._rejected.append(SlackCall(method, args, headers, now, err.status, err.error))
                return _json_reply(err.status, _error_body(err), err.retry_after)
            self._calls.append(SlackCall(method, args, headers, now))
            hold = self._holds.get(method, 0) > 0
            if hold:
                self._holds[method] -= 1
                self._holding += 1
        if hold:
            try:
                self._release.wait(_MAX_HOLD_SECONDS)
            finally:
                with self._lock:
                    self._holding -= 1
        return _json_reply(200, result)

    def _raise_injected_fault(self, method: str) -> None:
        queue = self._faults.get(method)
        if not queue:
            return
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining == 0:
            queue.pop(0)
        raise _SlackError(fault.error, status=fault.status, retry_after=fault.retry_after)

    def _check_token(self, authorization: str | None, form_token: Any, method: str = "") -> None:
        token: str | None = None
        if authorization:
            scheme, _, value = authorization.partition(" ")
            if scheme.lower() != "bearer" or not value.strip():
                raise _SlackError("invalid_auth")
            token = value.strip()
        elif isinstance(form_token, str) and form_token:
            token = form_token
        if token is None:
            raise _SlackError("not_authed")
        if method == "apps.connections.open":
            # Slack takes the app-level token only as a Bearer header here; a bot token is the wrong type.
            if token == self.token:
                raise _SlackError("not_allowed_token_type")
            if self.app_token is None or token != self.app_token or not authorization:
                raise _SlackError("invalid_auth")
            return
        if self.app_token is not None and token == self.app_token:
            raise _SlackError("not_allowed_token_type")
        if token != self.token:
            raise _SlackError("invalid_auth")

    # ---------------------------------------------------------------- helpers (lock held)

    def _next_number(self) -> int:
        self._counter += 1
        return self._counter

    def _next_ts(self) -> str:
        # Strictly increasing even when two posts share a microsecond.
        self._last_ts += _TS_STEP
        return f"{self._last_ts // 1_000_000}.{self._last_ts % 1_000_000:06d}"

    def _channel_id(self, channel: str) -> str:
        # Like Slack, posting to a user ID posts to the DM with that user.
        if channel[:1] in ("U", "W"):
            return _dm_channel_id(channel)
        return channel

    def _find(self, channel: str, ts: str) -> JsonDict | None:
        for candidate in self._messages.get(channel, []):
            if candidate["ts"] == ts:
                return candidate
        return None

    def _check_thread(self, channel: str, thread_ts: str | None) -> None:
        if thread_ts is None:
            return
        parent = self._find(channel, thread_ts)
        if parent is None or parent["thread_ts"] is not None:
            raise _SlackError("thread_not_found")

    def _store_message(
        self,
        channel: str,
        *,
        text: str,
        blocks: list[Any] | None,
        thread_ts: str | None,
        files: list[JsonDict] | None = None,
        metadata: JsonDict | None = None,
    ) -> JsonDict:
        stored: JsonDict = {
            "ts": self._next_ts(),
            "text": text,
            "blocks": blocks,
            "thread_ts": thread_ts,
            "user": BOT_USER_ID,
            "files": files or [],
        }
        if metadata is not None:
            stored["metadata"] = copy.deepcopy(metadata)
        self._messages.setdefault(channel, []).append(stored)
        return stored

    @staticmethod
    def _message_object(stored: Mapping[str, Any]) -> JsonDict:
        message: JsonDict = {
            "user": stored["user"],
            "type": "message",
            "ts": stored["ts"],
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "text": stored["text"],
            "team": TEAM_ID,
        }
        if stored["blocks"] is not None:
            message["blocks"] = copy.deepcopy(stored["blocks"])
        if stored["thread_ts"] is not None:
            message["thread_ts"] = stored["thread_ts"]
            message["parent_user_id"] = BOT_USER_ID
        if stored["files"]:
            message["files"] = copy.deepcopy(stored["files"])
        return message

    @staticmethod
    def _optional_str(args: Mapping[str, Any], name: str) -> str | None:
        value = args.get(name)
        if value is None or value == "":
            return None
        return str(value)

    def _parse_view(self, args: Mapping[str, Any], expected_type: str) -> JsonDict:
        view = args.get("view")
        if isinstance(view, str):
            try:
                view = json.loads(view)
            except ValueError:
                view = None
        if not isinstance(view, dict):
            raise _SlackError("invalid_arguments", messages=["[ERROR] failed to parse view [json-pointer:/view]"])
        if view.get("type") != expected_type:
            raise _SlackError(
                "invalid_arguments",
                messages=[f"[ERROR] must be {expected_type} [json-pointer:/view/type]"],
            )
        errors = view_errors(view)
        if errors:
            raise _SlackError("invalid_blocks", messages=errors)
        return view

    def _view_object(self, view_id: str, view: Mapping[str, Any], root_view_id: str | None = None) -> JsonDict:
        return {
            "id": view_id,
            "team_id": TEAM_ID,
            "type": view["type"],
            "blocks": copy.deepcopy(view.get("blocks", [])),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": f"{int(time.time())}.{self._next_number():08x}",
            "title": copy.deepcopy(view.get("title")),
            "clear_on_close": bool(view.get("clear_on_close", False)),
            "notify_on_close": bool(view.get("notify_on_close", False)),
            "close": copy.deepcopy(view.get("close")),
            "submit": copy.deepcopy(view.get("submit")),
            "previous_view_id": None,
            "root_view_id": root_view_id or view_id,
            "app_id": APP_ID,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": TEAM_ID,
            "bot_id": BOT_ID,
        }

    # ---------------------------------------------------------------- methods (lock held)

    def _apps_connections_open(self, args: dict[str, Any]) -> JsonDict:
        assert self._socket_mode is not None  # app_token is only accepted with a socket_mode server
        return {"ok": True, "url": self._socket_mode.issue_url()}

    def _auth_test(self, args: dict[str, Any]) -> JsonDict:
        return {
            "ok": True,
            "url": "https://standin.slack.com/",
            "team": TEAM_NAME,
            "user": "reauth-bot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "app_id": APP_ID,
            "is_enterprise_install": False,
        }

    def _usergroups_users_list(self, args: dict[str, Any]) -> JsonDict:
        # docs.slack.dev/reference/methods/usergroups.users.list: {"ok": true, "users": [...]}.
        group = str(args["usergroup"])
        if group not in self._usergroups:
            raise _SlackError("no_such_subteam")
        return {"ok": True, "users": list(self._usergroups[group])}

    def _chat_post_message(self, args: dict[str, Any]) -> JsonDict:
        channel = self._channel_id(str(args["channel"]))
        text, blocks = args.get("text"), _parse_blocks(args.get("blocks"))
        if not _has_content(text, blocks, args.get("attachments")):
            raise _SlackError("no_text")
        _check_message_content(text, blocks)
        thread_ts = self._optional_str(args, "thread_ts")
        self._check_thread(channel, thread_ts)
        if self._per_channel_interval is not None:
            now = time.monotonic()
            last = self._last_post.get(channel)
            if last is not None and now - last < self._per_channel_interval:
                raise _SlackError("ratelimited", status=429, retry_after=1)
            self._last_post[channel] = now
        metadata = args.get("metadata")
        stored = self._store_message(
            channel, text=str(text or ""), blocks=copy.deepcopy(blocks) or None, thread_ts=thread_ts,
            metadata=metadata if isinstance(metadata, dict) else None,
        )
        return {"ok": True, "channel": channel, "ts": stored["ts"], "message": self._message_object(stored)}

    def _chat_update(self, args: dict[str, Any]) -> JsonDict:
        channel = self._channel_id(str(args["channel"]))
        ts = str(args["ts"])
        text, blocks = args.get("text"), _parse_blocks(args.get("blocks"))
        stored = self._find(channel, ts)
        if stored is None:
            raise _SlackError("message_not_found")
        if not _has_content(text, blocks, args.get("attachments")) and "blocks" not in args:
            raise _SlackError("no_text")
        _check_message_content(text, blocks)
        if text is not None:
            stored["text"] = str(text)
        # As documented: blocks left out are kept, an empty array removes them.
        if "blocks" in args:
            stored["blocks"] = copy.deepcopy(blocks) or None
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": stored["text"],
            "message": self._message_object(stored),
        }

    def _chat_post_ephemeral(self, args: dict[str, Any]) -> JsonDict:
        text, blocks = args.get("text"), _parse_blocks(args.get("blocks"))
        if not _has_content(text, blocks, args.get("attachments")):
            raise _SlackError("no_text")
        _check_message_content(text, blocks)
        # Ephemeral messages are not part of channel history; the recorded call is the evidence.
        return {"ok": True, "message_ts": self._next_ts()}

    def _conversations_open(self, args: dict[str, Any]) -> JsonDict:
        channel = self._optional_str(args, "channel")
        users_arg = args.get("users")
        users = (
            [str(u).strip() for u in users_arg]
            if isinstance(users_arg, list)
            else [u.strip() for u in str(users_arg or "").split(",") if u.strip()]
        )
        if channel is not None:
            channel_id = channel
        elif len(users) == 1:
            channel_id = _dm_channel_id(users[0])
        elif users:
            channel_id = "G" + hashlib.sha1(",".join(sorted(users)).encode("utf-8")).hexdigest()[:10].upper()
        else:
            raise _SlackError("users_list_not_supplied")
        if channel_id in self._opened_dms:
            return {"ok": True, "no_op": True, "already_open": True, "channel": {"id": channel_id}}
        self._opened_dms.add(channel_id)
        return {"ok": True, "channel": {"id": channel_id}}

    def _conversations_history(self, args: dict[str, Any]) -> JsonDict:
        """Top-level messages newest first, `oldest`/`latest` exclusive; `metadata` only with
        `include_all_metadata`, as Slack does. No pagination cursor: `has_more` tells the caller."""
        channel = self._channel_id(str(args["channel"]))
        oldest, latest = float(args.get("oldest") or 0), float(args.get("latest") or "inf")
        found = [m for m in self._messages.get(channel, [])
                 if m["thread_ts"] is None and oldest < float(m["ts"]) < latest]
        return self._message_list(list(reversed(found)), args)

    def _conversations_replies(self, args: dict[str, Any]) -> JsonDict:
        """A thread, parent first, then its replies oldest first."""
        channel = self._channel_id(str(args["channel"]))
        parent = self._find(channel, str(args["ts"]))
        if parent is None or parent["thread_ts"] is not None:
            raise _SlackError("thread_not_found")
        replies = [m for m in self._messages.get(channel, []) if m["thread_ts"] == parent["ts"]]
        return self._message_list([parent, *replies], args)

    def _message_list(self, found: list[JsonDict], args: Mapping[str, Any]) -> JsonDict:
        limit = int(str(args.get("limit") or 100))
        include_metadata = str(args.get("include_all_metadata") or "").lower() in ("1", "true")
        messages = []
        for stored in found[:limit]:
            message = self._message_object(stored)
            if include_metadata and stored.get("metadata") is not None:
                message["metadata"] = copy.deepcopy(stored["metadata"])
            messages.append(message)
        return {"ok": True, "messages": messages, "has_more": len(found) > limit}

    def _views_open(self, args: dict[str, Any]) -> JsonDict:
        if _blank(args.get("trigger_id")) and _blank(args.get("interactivity_pointer")):
            raise _SlackError(
                "invalid_arguments", messages=["[ERROR] missing required field: trigger_id"]
            )
        view = self._parse_view(args, "modal")
        external_id = view.get("external_id") or None
        if external_id is not None and any(v.external_id == external_id for v in self._views.values()):
            raise _SlackError("duplicate_external_id")
        view_id = f"V0{self._next_number():09d}"
        body = self._view_object(view_id, view)
        self._views[view_id] = _View(body, external_id)
        return {"ok": True, "view": copy.deepcopy(body)}

    def _views_update(self, args: dict[str, Any]) -> JsonDict:
        view_id, external_id = self._optional_str(args, "view_id"), self._optional_str(args, "external_id")
        if view_id is None and external_id is None:
            raise _SlackError(
                "invalid_arguments", messages=["[ERROR] missing required field: view_id or external_id"]
            )
        view = self._parse_view(args, "modal")
        if view_id is None:
            view_id = next((k for k, v in self._views.items() if v.external_id == external_id), None)
        current = self._views.get(view_id) if view_id is not None else None
        if current is None or view_id is None:
            raise _SlackError("not_found")
        expected_hash = self._optional_str(args, "hash")
        if expected_hash is not None and expected_hash != current.body["hash"]:
            raise _SlackError("hash_conflict")
        body = self._view_object(view_id, view, current.body["root_view_id"])
        self._views[view_id] = _View(body, view.get("external_id") or current.external_id)
        return {"ok": True, "view": copy.deepcopy(body)}

    def _views_publish(self, args: dict[str, Any]) -> JsonDict:
        user_id = str(args["user_id"])
        view = self._parse_view(args, "home")
        current = self._home.get(user_id)
        expected_hash = self._optional_str(args, "hash")
        if expected_hash is not None and current is not None and expected_hash != current["hash"]:
            raise _SlackError("hash_conflict")
        view_id = current["id"] if current is not None else f"V0{self._next_number():09d}"
        body = self._view_object(view_id, view)
        self._home[user_id] = body
        return {"ok": True, "view": copy.deepcopy(body)}

    def _files_get_upload_url(self, args: dict[str, Any]) -> JsonDict:
        try:
            length = int(str(args["length"]))
        except ValueError:
            length = -1
        if length < 0:
            raise _SlackError("invalid_arguments", messages=["[ERROR] length must be a non-negative integer"])
        file_id = f"F0{self._next_number():09d}"
        self._files[file_id] = _File(
            file_id,
            str(args["filename"]),
            length,
            self._optional_str(args, "alt_txt"),
            self._optional_str(args, "snippet_type"),
        )
        return {"ok": True, "upload_url": f"{self.base_url}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload(self, args: dict[str, Any]) -> JsonDict:
        entries = args["files"]
        if isinstance(entries, str):
            try:
                entries = json.loads(entries)
            except ValueError:
                entries = None
        if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
            raise _SlackError("invalid_arguments", messages=["[ERROR] files must be a JSON array of {id, title}"])
        uploaded: list[tuple[_File, str]] = []
        for entry in entries:
            known = self._files.get(str(entry.get("id")))
            if known is None or known.data is None:
                raise _SlackError("file_not_found")
            uploaded.append((known, str(entry.get("title") or known.filename)))
        channels = [c for c in str(args.get("channels") or "").split(",") if c]
        channel_id = self._optional_str(args, "channel_id")
        if channel_id is not None:
            channels.insert(0, channel_id)
        channels = [self._channel_id(c) for c in channels]
        thread_ts = self._optional_str(args, "thread_ts")
        for channel in channels:
            self._check_thread(channel, thread_ts)
        objects = [self._file_object(known, title, channels) for known, title in uploaded]
        for channel in channels:
            self._store_message(
                channel,
                text=str(args.get("initial_comment") or ""),
                blocks=None,
                thread_ts=thread_ts,
                files=copy.deepcopy(objects),
            )
        return {"ok": True, "files": objects}

    def _file_object(self, known: _File, title: str, channels: list[str]) -> JsonDict:
        mimetype = mimetypes.guess_type(known.filename)[0] or "text/plain"
        return {
            "id": known.id,
            "created": int(time.time()),
            "name": known.filename,
            "title": title,
            "mimetype": mimetype,
            "filetype": known.filename.rsplit(".", 1)[-1] if "." in known.filename else "text",
            "user": BOT_USER_ID,
            "size": len(known.data or b""),
            "url_private": f"{self.base_url}/files/{known.id}/{known.filename}",
            "permalink": f"https://standin.slack.com/files/{BOT_USER_ID}/{known.id}/{known.filename}",
            "alt_txt": known.alt_txt,
            "channels": list(channels),
        }

    # ---------------------------------------------------------------- uploads and response URLs

    def _upload(self, file_id: str, headers: dict[str, str], body: bytes) -> _Reply:
        now = time.time()
        args: dict[str, Any] = {"file_id": file_id, "size": len(body)}
        with self._lock:
            if self._unavailable:
                self._rejected.append(SlackCall("file_upload", args, headers, now, 503, "service_unavailable"))
                return _Reply(503, b"service_unavailable", content_type="text/plain; charset=utf-8")
            known = self._files.get(file_id)
            if known is None or known.data is not None:
                self._rejected.append(SlackCall("file_upload", args, headers, now, 404, "not_found"))
                return _Reply(404, b"not_found", content_type="text/plain; charset=utf-8")
            known.data = body
            self._uploads.append((known.filename, body))
        return _Reply(200, f"OK - {len(body)}".encode(), content_type="text/plain; charset=utf-8")

    def _response_post(self, key: str, headers: dict[str, str], body: bytes) -> _Reply:
        now = time.time()
        lowered = {name.lower(): value for name, value in headers.items()}
        payload, parse_error = self._parse_response_payload(lowered.get("content-type", ""), body)
        with self._lock:
            try:
                if self._unavailable:
                    raise _SlackError("service_unavailable", status=503)
                self._raise_injected_fault(RESPONSE_URL)
                hook = self._response_urls.get(key)
                if hook is None:
                    raise _SlackError("expired_url", status=404)
                if hook.uses >= RESPONSE_URL_USES:
                    raise _SlackError("used_url", status=404)
                if parse_error is not None:
                    raise _SlackError(parse_error, status=400)
                self._apply_response(hook, payload)
            except _SlackError as err:
                record = SlackCall(RESPONSE_URL, {"key": key, **payload}, headers, now, err.status, err.error)
                self._rejected.append(record)
                return _json_reply(err.status, _error_body(err), err.retry_after)
            hook.uses += 1
            self._responses.append((key, payload))
        return _json_reply(200, {"ok": True})

    @staticmethod
    def _parse_response_payload(content_type: str, body: bytes) -> tuple[JsonDict, str | None]:
        try:
            text = body.decode("utf-8")
            if "application/json" not in content_type.lower():
                # Like incoming webhooks, a form body may carry the JSON in `payload`.
                text = dict(parse_qsl(text)).get("payload", text)
            parsed = json.loads(text)
        except ValueError:
            return {}, "invalid_payload"
        if not isinstance(parsed, dict):
            return {}, "invalid_payload"
        return parsed, None

    def _apply_response(self, hook: _ResponseUrl, payload: JsonDict) -> None:
        text, blocks = payload.get("text"), _parse_blocks(payload.get("blocks"))
        delete = bool(payload.get("delete_original"))
        if not delete and not _has_content(text, blocks, payload.get("attachments")):
            raise _SlackError("no_text", status=400)
        try:
            _check_message_content(text, blocks)
        except _SlackError as err:
            err.status = 400
            raise
        if hook.channel is None:
            return
        original = self._find(hook.channel, hook.message_ts) if hook.message_ts is not None else None
        if delete and original is not None:
            self._messages[hook.channel].remove(original)
        elif payload.get("replace_original") and original is not None:
            if text is not None:
                original["text"] = str(text)
            original["blocks"] = copy.deepcopy(blocks) or None
        elif payload.get("response_type") == "in_channel" and not payload.get("replace_original"):
            thread_ts = self._optional_str(payload, "thread_ts")
            self._store_message(
                hook.channel, text=str(text or ""), blocks=copy.deepcopy(blocks) or None, thread_ts=thread_ts
            )
