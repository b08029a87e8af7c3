"""Local stand-ins for Zendesk, Intercom and Freshdesk: real HTTP servers on 127.0.0.1.

They check what the real services check (method, path, auth, the body fields the bot relies on),
answer with bodies shaped like the real ones, keep the notes per ticket, and can misbehave on
request: rate limits, server errors, slow answers, a whole outage, no server at all, or a note stored
and its answer held back (the crash window: the client is killed before it hears the answer).
Each also serves the documented read-back of a ticket's notes (Zendesk's audits, Intercom's
conversation, Freshdesk's conversations).

    with ZendeskStandIn(tickets=["123"]) as zendesk:
        client = ZendeskHelpdesk(zendesk.base_url, email=zendesk.email, api_token=zendesk.api_token)
        client.post_note("123", "Steps ...")
        assert zendesk.notes("123")[0].public is False
"""

from __future__ import annotations

import base64
import binascii
import html
import itertools
import json
import re
import socket
import threading
import time
import uuid
from abc import abstractmethod
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from bot.standins.server import StandInHTTPServer, StandInServer

# The versions Intercom's 2.16 OpenAPI document lists for the Intercom-Version header.
INTERCOM_VERSIONS = frozenset(
    ["1.0", "1.1", "1.2", "1.3", "1.4"] + [f"2.{minor}" for minor in range(17)]
)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the stand-in received it; header names are lower-cased."""

    method: str
    path: str
    headers: Mapping[str, str]
    json: object | None
    body: bytes


@dataclass(frozen=True)
class Note:
    """A note or reply the stand-in stored on a ticket."""

    id: int
    body: str
    public: bool
    headers: Mapping[str, str]
    created_at: datetime = field(default_factory=lambda: _now())
    metadata: Mapping[str, object] | None = None  # Zendesk: the update's custom audit metadata


@dataclass(frozen=True)
class Requester:
    """Who asked on a ticket: Zendesk's user, Intercom's contact, Freshdesk's contact."""

    id: int
    email: str | None


@dataclass(frozen=True)
class Answer:
    """What the stand-in sends back."""

    status: int
    body: object | None = None
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Fault:
    status: int | None = None
    delay: float = 0.0
    headers: Mapping[str, str] = field(default_factory=dict)
    hold: bool = False  # store, then keep the answer until released
    reads: bool = False  # for a GET (a ticket read); otherwise for a post, and reads pass untouched

# A held answer is let go after this long at most, so a forgotten hold cannot hang a test run.
MAX_HOLD_SECONDS = 60.0


class _Server(StandInHTTPServer):
    def __init__(self, listener: socket.socket, standin: HelpdeskStandIn) -> None:
        super().__init__(listener, _Handler)
        self.standin = standin


class _Handler(BaseHTTPRequestHandler):
    # HTTP/1.0 closes every connection after its answer, so a stopped stand-in really refuses the
    # next request instead of a kept-alive connection quietly serving it.
    protocol_version = "HTTP/1.0"
    server: _Server

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def do_PUT(self) -> None:
        self._serve()

    def do_PATCH(self) -> None:
        self._serve()

    def do_DELETE(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        headers = {name.lower(): value for name, value in self.headers.items()}
        answer = self.server.standin.dispatch(self.command, self.path, headers, raw)
        payload = b"" if answer.body is None else json.dumps(answer.body).encode()
        try:
            self.send_response(answer.status)
            if answer.body is not None:
                self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in answer.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test); a real server would not notice either

    def log_message(self, format: str, *args: object) -> None:
        pass  # requests are in .requests; stderr noise helps no test


class HelpdeskStandIn(StandInServer):
    """The shared server, recording and fault injection; subclasses implement one helpdesk's API."""

    display_name = "Helpdesk"
    holds_port = True

    def __init__(self, tickets: Iterable[str] = ()) -> None:
        super().__init__()
        self.requests: list[RecordedRequest] = []
        self._tickets: set[str] = {str(ticket) for ticket in tickets}
        self._notes: dict[str, list[Note]] = {}
        self._faults: deque[_Fault] = deque()
        self._down = False
        self._lock = threading.Lock()
        self._ids = itertools.count(1001)
        self._requesters: dict[str, Requester] = {}
        self._release = threading.Event()
        self._holding = 0

    # --- lifecycle ---------------------------------------------------------------------------

    def _serve(self, listener: socket.socket) -> _Server:
        return _Server(listener, self)

    def stop(self, *, release: bool = False) -> None:
        """Close the listening socket: connections are refused until ``start()`` again.

        The port stays held (see ``StandInServer._stop``), so no other server, another test's included,
        can take it meanwhile and answer in the stopped stand-in's place. ``release=True`` gives the port
        up, as leaving a ``with`` block does.
        """
        self._release.set()
        self._stop(release=release)

    # --- state and faults --------------------------------------------------------------------

    def add_ticket(self, ticket_id: str) -> None:
        with self._lock:
            self._tickets.add(str(ticket_id))

    def add_ticket_from(self, ticket_id: str, email: str | None) -> Requester:
        """A ticket whose requester (Zendesk's user, Intercom's contact) has this e-mail, or none."""
        with self._lock:
            self._tickets.add(str(ticket_id))
            person = next((r for r in self._requesters.values() if r.email == email and email), None)
            requester = person or Requester(next(self._ids) + 361_000_000_000, email)
            self._requesters[str(ticket_id)] = requester
            return requester

    def requester_of(self, ticket_id: str) -> Requester | None:
        with self._lock:
            return self._requesters.get(ticket_id)

    def person(self, person_id: str) -> Requester | None:
        with self._lock:
            return next((r for r in self._requesters.values() if str(r.id) == person_id), None)

    def posts(self) -> list[RecordedRequest]:
        """The requests that tried to store something (every one but the read-backs)."""
        with self._lock:
            return [request for request in self.requests if request.method != "GET"]

    def reads(self) -> list[RecordedRequest]:
        """The read-backs: GETs of a ticket's notes."""
        with self._lock:
            return [request for request in self.requests if request.method == "GET"]

    def notes(self, ticket_id: str) -> list[Note]:
        with self._lock:
            return list(self._notes.get(str(ticket_id), []))

    def fail_next(
        self, status: int, times: int = 1, headers: Mapping[str, str] | None = None, *, reads: bool = False
    ) -> None:
        """Answer the next ``times`` posts (or with ``reads``, GETs) with ``status`` instead of serving them."""
        with self._lock:
            self._faults.extend(_Fault(status=status, headers=dict(headers or {}), reads=reads) for _ in range(times))

    def delay_next(self, seconds: float, times: int = 1, *, reads: bool = False) -> None:
        """Serve the next ``times`` posts (or with ``reads``, GETs) normally, but only after ``seconds``.

        Like a slow real server, the note is still stored after a client gave up waiting.
        """
        with self._lock:
            self._faults.extend(_Fault(delay=seconds, reads=reads) for _ in range(times))

    def hold_next_after_storing(self, times: int = 1) -> None:
        """Serve the next ``times`` posts (the read-backs pass) and store them, then hold each answer until
        ``release_held()``: the crash window, where the note landed and its sender never heard so."""
        with self._lock:
            self._release.clear()
            self._faults.extend(_Fault(hold=True) for _ in range(times))

    def holding(self) -> int:
        """How many stored posts are waiting for their answer to be released."""
        with self._lock:
            return self._holding

    def release_held(self) -> None:
        self._release.set()

    def set_down(self, down: bool = True) -> None:
        """While down, every request gets 503."""
        with self._lock:
            self._down = down

    # --- serving -----------------------------------------------------------------------------

    def dispatch(self, method: str, raw_path: str, headers: Mapping[str, str], raw: bytes) -> Answer:
        """Record the request, apply any fault, then let the helpdesk's own rules answer it."""
        try:
            parsed: object | None = json.loads(raw) if raw else None
        except (json.JSONDecodeError, UnicodeDecodeError):
            parsed = None
        request = RecordedRequest(method, raw_path, dict(headers), parsed, raw)
        with self._lock:
            self.requests.append(request)
            down = self._down
            # A fault is for a post or for a read: a post's fault lets the read-back pass untouched.
            fault = None if down else self._next_fault(reads=method == "GET")
        if down:
            return Answer(503, self.error_body(503), {"Retry-After": "1"})
        if fault is not None and fault.status is not None:
            return Answer(fault.status, self.error_body(fault.status), fault.headers)
        if fault is not None:
            time.sleep(fault.delay)
        answer = self.handle(request, urlsplit(raw_path).path)
        if fault is not None and fault.hold:
            with self._lock:
                self._holding += 1
            try:
                self._release.wait(MAX_HOLD_SECONDS)
            finally:
                with self._lock:
                    self._holding -= 1
        return answer

    def _next_fault(self, *, reads: bool) -> _Fault | None:
        for index, fault in enumerate(self._faults):
            if fault.reads == reads:
                del self._faults[index]
                return fault
        return None

    @abstractmethod
    def handle(self, request: RecordedRequest, path: str) -> Answer:
        """Answer a request as the real helpdesk would."""

    @abstractmethod
    def error_body(self, status: int) -> object | None:
        """The helpdesk's error body for an injected ``status``."""

    def has_ticket(self, ticket_id: str) -> bool:
        with self._lock:
            return ticket_id in self._tickets

    def store_note(
        self, ticket_id: str, body: str, *, public: bool, headers: Mapping[str, str],
        metadata: Mapping[str, object] | None = None,
    ) -> Note:
        with self._lock:
            note = Note(next(self._ids), body, public, dict(headers), metadata=metadata)
            self._notes.setdefault(ticket_id, []).append(note)
            return note


def basic_credentials(headers: Mapping[str, str]) -> tuple[str, str] | None:
    """(user, password) from a Basic ``Authorization`` header, or None."""
    scheme, _, value = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if sep else None


def query_of(request: RecordedRequest) -> dict[str, list[str]]:
    return parse_qs(urlsplit(request.path).query)


def is_json(headers: Mapping[str, str]) -> bool:
    return headers.get("content-type", "").split(";")[0].strip().lower() == "application/json"


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


# --- Zendesk ----------------------------------------------------------------------------------

_ZENDESK_TICKET = re.compile(r"/api/v2/tickets/([0-9]+)(?:\.json)?")
_ZENDESK_USER = re.compile(r"/api/v2/users/([0-9]+)(?:\.json)?")
_ZENDESK_AUDITS = re.compile(r"/api/v2/tickets/([0-9]+)/audits(?:\.json)?")
# List Audits: at most 100 a page (cursor pagination, `page[size]`).
ZENDESK_MAX_PAGE = 100


class ZendeskStandIn(HelpdeskStandIn):
    """``PUT /api/v2/tickets/{id}(.json)``; Basic ``{email}/token:{api_token}``."""

    display_name = "Zendesk"
    agent_id = 361_000_000_101

    def __init__(
        self, tickets: Iterable[str] = (), *, email: str = "bot@example.com", api_token: str = "zd-token"
    ) -> None:
        super().__init__(tickets)
        self.email = email
        self.api_token = api_token
        # Some accounts' answers come without the `users` sideload: the client must then read the user.
        self.sideloads_users = True

    def error_body(self, status: int) -> object | None:
        names = {429: "APIRateLimitExceeded", 500: "InternalServerError", 503: "ServiceUnavailable"}
        return {"error": names.get(status, "Error"), "description": f"HTTP {status}"}

    def handle(self, request: RecordedRequest, path: str) -> Answer:
        read = self.answer_requester_read(request, path)
        if read is not None:
            return read
        audits = _ZENDESK_AUDITS.fullmatch(path)
        if audits is not None:
            return self._list_audits(request, audits.group(1))
        match = _ZENDESK_TICKET.fullmatch(path)
        if match is None:
            return Answer(404, {"error": "InvalidEndpoint", "description": "Not found"})
        if request.method != "PUT":
            return Answer(405, {"error": "MethodNotAllowed", "description": f"{request.method} not allowed"})
        if basic_credentials(request.headers) != (f"{self.email}/token", self.api_token):
            return Answer(401, {"error": "Couldn't authenticate you"})
        ticket_id = match.group(1)
        if not self.has_ticket(ticket_id):
            return Answer(404, {"error": "RecordNotFound", "description": "Not found"})
        if not is_json(request.headers) or not isinstance(request.json, dict):
            return Answer(400, {"error": "InvalidJSON", "description": "The request body is not JSON"})
        ticket = request.json.get("ticket")
        comment = ticket.get("comment") if isinstance(ticket, dict) else None
        body = comment.get("body") if isinstance(comment, dict) else None
        if not isinstance(comment, dict) or not isinstance(body, str) or not body.strip():
            return _zendesk_invalid("Comment: body cannot be blank")
        # Without `public` Zendesk keeps the ticket's earlier visibility, public on most tickets.
        public = comment.get("public", True)
        if not isinstance(public, bool):
            return _zendesk_invalid("Comment: public must be true or false")
        # `ticket.metadata` (write-only) becomes the audit's `metadata.custom`.
        metadata = ticket.get("metadata") if isinstance(ticket, dict) else None
        if metadata is not None and not isinstance(metadata, dict):
            return _zendesk_invalid("Metadata: must be an object")
        note = self.store_note(ticket_id, body, public=public, headers=request.headers, metadata=metadata)
        return Answer(200, self._update_response(ticket_id, note))

    def _list_audits(self, request: RecordedRequest, ticket_id: str) -> Answer:
        """``GET /api/v2/tickets/{id}/audits``: oldest first, cursor pagination (``page[size]``, ``page[after]``)."""
        if request.method != "GET":
            return Answer(405, {"error": "MethodNotAllowed", "description": f"{request.method} not allowed"})
        if basic_credentials(request.headers) != (f"{self.email}/token", self.api_token):
            return Answer(401, {"error": "Couldn't authenticate you"})
        if not self.has_ticket(ticket_id):
            return Answer(404, {"error": "RecordNotFound", "description": "Not found"})
        query = parse_qs(urlsplit(request.path).query)
        size_text = (query.get("page[size]") or ["100"])[0]
        if not size_text.isdigit() or not 1 <= int(size_text) <= ZENDESK_MAX_PAGE:
            return Answer(400, {"error": "InvalidPaginationParameter",
                                "description": f"page[size] must be 1 to {ZENDESK_MAX_PAGE}"})
        size, after = int(size_text), int((query.get("page[after]") or ["0"])[0] or 0)
        notes = self.notes(ticket_id)
        page = notes[after:after + size]
        has_more = after + size < len(notes)
        base = f"{self.base_url}/api/v2/tickets/{ticket_id}/audits.json?page%5Bsize%5D={size}"
        return Answer(200, {
            "audits": [self._update_response(ticket_id, note)["audit"] for note in page],
            "meta": {"has_more": has_more, "after_cursor": str(after + size) if has_more else None,
                     "before_cursor": str(after) if after else None},
            "links": {"next": f"{base}&page%5Bafter%5D={after + size}" if has_more else None,
                      "prev": f"{base}&page%5Bbefore%5D={after}" if after else None},
        })

    def _update_response(self, ticket_id: str, note: Note) -> dict[str, object]:
        now = note.created_at.isoformat().replace("+00:00", "Z")
        audit_id = note.id + 50_000
        return {
            "audit": {
                "id": audit_id,
                "ticket_id": int(ticket_id),
                "created_at": now,
                "author_id": self.agent_id,
                "metadata": {"system": {"client": "reauth-bot"}, "custom": dict(note.metadata or {})},
                "events": [
                    {
                        "id": note.id,
                        "type": "Comment",
                        "author_id": self.agent_id,
                        "body": note.body,
                        "html_body": f'<div class="zd-comment"><p>{html.escape(note.body)}</p></div>',
                        "plain_body": note.body,
                        "public": note.public,
                        "attachments": [],
                        "audit_id": audit_id,
                    }
                ],
                "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
            },
            "ticket": {
                "id": int(ticket_id),
                "url": f"{self.base_url}/api/v2/tickets/{ticket_id}.json",
                "subject": "Smart meter data stopped arriving",
                "status": "open",
                "requester_id": 361_000_000_777,
                "tags": ["reauth"],
                "created_at": "2026-01-05T17:02:11Z",
                "updated_at": now,
                "via": {"channel": "web"},
            },
        }


    # --- ticket to customer: Show Ticket (with users sideloaded) and Show User -------------------

    def answer_requester_read(self, request: RecordedRequest, path: str) -> Answer | None:
        """GET of a ticket or a user; None for any other request."""
        ticket = _ZENDESK_TICKET.fullmatch(path)
        user = _ZENDESK_USER.fullmatch(path)
        if request.method != "GET" or (ticket is None and user is None):
            return None
        if basic_credentials(request.headers) != (f"{self.email}/token", self.api_token):
            return Answer(401, {"error": "Couldn't authenticate you"})
        if user is not None:
            person = self.person(user.group(1))
            if person is None:
                return Answer(404, {"error": "RecordNotFound", "description": "Not found"})
            return Answer(200, {"user": self._user(person)})
        assert ticket is not None
        ticket_id = ticket.group(1)
        requester = self.requester_of(ticket_id)
        if not self.has_ticket(ticket_id) or requester is None:
            return Answer(404, {"error": "RecordNotFound", "description": "Not found"})
        body: dict[str, object] = {"ticket": {
            "id": int(ticket_id),
            "url": f"{self.base_url}/api/v2/tickets/{ticket_id}.json",
            "subject": "Smart meter data stopped arriving",
            "status": "new",
            "requester_id": requester.id,
            "submitter_id": requester.id,
            "tags": [],
            "created_at": "2026-11-30T16:40:00Z",
            "updated_at": "2026-11-30T16:40:00Z",
            "via": {"channel": "email"},
        }}
        includes = {part for value in query_of(request).get("include", []) for part in value.split(",")}
        if "users" in includes and self.sideloads_users:
            body["users"] = [self._user(requester)]
        return Answer(200, body)

    def _user(self, person: Requester) -> dict[str, object]:
        return {"id": person.id, "url": f"{self.base_url}/api/v2/users/{person.id}.json", "name": "Customer",
                "email": person.email, "role": "end-user", "active": True, "verified": True}


def _zendesk_invalid(description: str) -> Answer:
    return Answer(
        422,
        {
            "error": "RecordInvalid",
            "description": "Record validation errors",
            "details": {"base": [{"description": description}]},
        },
    )


# --- Intercom ---------------------------------------------------------------------------------

_INTERCOM_REPLY = re.compile(r"/conversations/([0-9]+)/reply")
_INTERCOM_CONVERSATION = re.compile(r"/conversations/([0-9]+)")
_INTERCOM_CONTACT = re.compile(r"/contacts/([0-9a-f]+)")
# Retrieve a conversation: "returns the most recent 500 conversation parts".
INTERCOM_MAX_PARTS = 500


class IntercomStandIn(HelpdeskStandIn):
    """``POST /conversations/{id}/reply`` as an admin; Bearer token and ``Intercom-Version`` required."""

    display_name = "Intercom"

    def __init__(
        self, tickets: Iterable[str] = (), *, api_token: str = "ic-token", admin_id: str = "991267696"
    ) -> None:
        super().__init__(tickets)
        self.api_token = api_token
        self.admin_id = admin_id

    def error_body(self, status: int) -> object | None:
        codes = {429: "rate_limit_exceeded", 500: "server_error", 503: "service_unavailable"}
        return _intercom_error(codes.get(status, "error"), f"HTTP {status}")

    def _refused(self, request: RecordedRequest) -> Answer | None:
        """Intercom's answer to a wrong token or an unpinned API version; None when both are right."""
        if request.headers.get("authorization", "") != f"Bearer {self.api_token}":
            return Answer(401, _intercom_error("unauthorized", "Access Token Invalid"))
        version = request.headers.get("intercom-version")
        if version not in INTERCOM_VERSIONS:
            # Stricter than Intercom, which falls back to the app's version: the bot must pin it.
            return Answer(400, _intercom_error("intercom_version_invalid", f"Invalid version {version!r}"))
        return None

    def handle(self, request: RecordedRequest, path: str) -> Answer:
        read = self.answer_requester_read(request, path)
        if read is not None:
            return read
        match = _INTERCOM_REPLY.fullmatch(path)
        reading = _INTERCOM_CONVERSATION.fullmatch(path) if request.method == "GET" else None
        if (match is None or request.method != "POST") and reading is None:
            return Answer(404, _intercom_error("not_found", "Resource Not Found"))
        if (refused := self._refused(request)) is not None:
            return refused
        if reading is not None:
            conversation_id = reading.group(1)
            if not self.has_ticket(conversation_id):
                return Answer(404, _intercom_error("not_found", "Resource Not Found"))
            return Answer(200, self._conversation(conversation_id, self.notes(conversation_id)[-INTERCOM_MAX_PARTS:]))
        assert match is not None
        conversation_id = match.group(1)
        if not self.has_ticket(conversation_id):
            return Answer(404, _intercom_error("not_found", "Resource Not Found"))
        payload = request.json if is_json(request.headers) else None
        if not isinstance(payload, dict):
            return Answer(400, _intercom_error("parameter_invalid", "Request body must be JSON"))
        problem = self._problem(payload)
        if problem is not None:
            return Answer(400, _intercom_error(*problem))
        message_type = payload["message_type"]
        note = self.store_note(
            conversation_id, payload["body"], public=message_type == "comment", headers=request.headers
        )
        return Answer(200, self._conversation(conversation_id, [note]))

    def _problem(self, payload: Mapping[str, object]) -> tuple[str, str] | None:
        if payload.get("type") != "admin":
            return ("parameter_invalid", "Only admin replies are supported here")
        if payload.get("message_type") not in ("note", "comment"):
            return ("parameter_invalid", "message_type must be note or comment")
        admin_id = payload.get("admin_id")
        if admin_id is None:
            return ("parameter_not_found", "admin_id not specified")
        if str(admin_id) != self.admin_id:
            return ("parameter_invalid", "Admin not found")
        body = payload.get("body")
        if not isinstance(body, str) or not body.strip():
            return ("parameter_not_found", "Body is required for note and comment")
        return None

    def _conversation(self, conversation_id: str, notes: list[Note]) -> dict[str, object]:
        """The conversation with ``notes`` as its parts (a reply's answer carries the new part)."""
        now = int(time.time())
        admin = {"type": "admin", "id": self.admin_id, "name": "Reauth Bot", "email": "bot@example.com"}
        requester = self.requester_of(conversation_id)
        contact_id = _contact_id(requester) if requester is not None else "6762f1571bb69f9f2193bbbb"
        return {
            "type": "conversation",
            "id": conversation_id,
            "created_at": now - 86_400,
            "updated_at": now,
            "waiting_since": None,
            "snoozed_until": None,
            "open": True,
            "state": "open",
            "read": True,
            "priority": "none",
            "admin_assignee_id": 0,
            "team_assignee_id": 0,
            "title": None,
            "tags": {"type": "tag.list", "tags": []},
            "source": {
                "type": "conversation",
                "id": "403918349",
                "delivered_as": "customer_initiated",
                "subject": "",
                "body": "<p>My meter data stopped</p>",
                "author": {"type": "user", "id": contact_id, "name": "", "email": ""},
                "attachments": [],
                "url": None,
                "redacted": False,
            },
            "contacts": {
                "type": "contact.list",
                "contacts": [{"type": "contact", "id": contact_id, "external_id": None}],
            },
            "custom_attributes": {},
            "conversation_parts": {
                "type": "conversation_part.list",
                "conversation_parts": [
                    {
                        "type": "conversation_part",
                        "id": str(note.id),
                        "part_type": "comment" if note.public else "note",
                        "body": note.body,
                        "created_at": int(note.created_at.timestamp()),
                        "updated_at": int(note.created_at.timestamp()),
                        "notified_at": int(note.created_at.timestamp()),
                        "assigned_to": None,
                        "author": admin,
                        "attachments": [],
                        "external_id": None,
                        "redacted": False,
                    }
                    for note in notes
                ],
                "total_count": len(notes),
            },
        }


    # --- ticket to customer: Retrieve a conversation, Retrieve a contact -------------------------

    def answer_requester_read(self, request: RecordedRequest, path: str) -> Answer | None:
        """GET of a conversation or a contact; None for any other request."""
        conversation = _INTERCOM_CONVERSATION.fullmatch(path)
        contact = _INTERCOM_CONTACT.fullmatch(path)
        if request.method != "GET" or (conversation is None and contact is None):
            return None
        if (refused := self._refused(request)) is not None:
            return refused
        if contact is not None:
            person = self.person(_from_contact_id(contact.group(1)))
            if person is None:
                return Answer(404, _intercom_error("not_found", "Contact Not Found"))
            return Answer(200, {
                "type": "contact", "id": _contact_id(person), "workspace_id": "ws42", "external_id": None,
                "role": "user", "email": person.email, "phone": None, "name": "Customer",
            })
        return None  # a conversation: one shape for every read (handle, `_conversation`), its contact included


def _contact_id(person: Requester) -> str:
    # Intercom's contact ids are 24 hex digits (a MongoDB ObjectId), not numbers.
    return f"{person.id:024x}"


def _from_contact_id(contact_id: str) -> str:
    try:
        return str(int(contact_id, 16))
    except ValueError:
        return ""


def _intercom_error(code: str, message: str) -> dict[str, object]:
    return {
        "type": "error.list",
        "request_id": str(uuid.uuid4()),
        "errors": [{"code": code, "message": message}],
    }


# --- Freshdesk --------------------------------------------------------------------------------

_FRESHDESK_CONVERSATION = re.compile(r"/api/v2/tickets/([0-9]+)/(notes|reply)")
_FRESHDESK_TICKET = re.compile(r"/api/v2/tickets/([0-9]+)")
# What View a Ticket's `include` accepts (developers.freshdesk.com/api/#view_a_ticket).
FRESHDESK_TICKET_INCLUDES = frozenset({"conversations", "requester", "company", "stats"})
_FRESHDESK_CONVERSATIONS = re.compile(r"/api/v2/tickets/([0-9]+)/conversations")
# List All Conversations of a Ticket: 30 a page unless `per_page` (at most 100) says otherwise.
FRESHDESK_MAX_PER_PAGE = 100
# The documented JSON fields (specs/README.md section 3); Freshdesk rejects any other field.
FRESHDESK_NOTE_FIELDS = frozenset({"body", "private", "incoming", "notify_emails", "user_id"})
FRESHDESK_REPLY_FIELDS = frozenset({"body", "from_email", "user_id", "cc_emails", "bcc_emails"})
_FRESHDESK_LOGIN = "You have to be logged in to perform this action."
_FRESHDESK_CONTENT_TYPE = "Content-Type header should have application/json"


class FreshdeskStandIn(HelpdeskStandIn):
    """``POST /api/v2/tickets/{id}/notes`` and ``.../reply``; Basic auth with the API key as user."""

    display_name = "Freshdesk"
    agent_id = 43_000_000_101

    def __init__(self, tickets: Iterable[str] = (), *, api_key: str = "fd-key") -> None:
        super().__init__(tickets)
        self.api_key = api_key

    def error_body(self, status: int) -> object | None:
        codes = {429: "rate_limit_exceeded", 500: "internal_error", 503: "service_unavailable"}
        return {"code": codes.get(status, "error"), "message": f"HTTP {status}"}

    def handle(self, request: RecordedRequest, path: str) -> Answer:
        read = self.answer_requester_read(request, path)
        if read is not None:
            return read
        match = _FRESHDESK_CONVERSATION.fullmatch(path)
        listing = _FRESHDESK_CONVERSATIONS.fullmatch(path) if request.method == "GET" else None
        if (match is None or request.method != "POST") and listing is None:
            return Answer(404)
        credentials = basic_credentials(request.headers)
        if credentials is None or credentials[0] != self.api_key:
            return Answer(401, _freshdesk_error("invalid_credentials", _FRESHDESK_LOGIN))
        if listing is not None:
            return self._list_conversations(request, listing.group(1))
        assert match is not None
        if not is_json(request.headers):
            return Answer(415, _freshdesk_error("invalid_content_type", _FRESHDESK_CONTENT_TYPE))
        ticket_id, kind = match.groups()
        if not self.has_ticket(ticket_id):
            return Answer(404)
        if not isinstance(request.json, dict):
            return Answer(400, _freshdesk_error("invalid_json", "Request body has invalid json format"))
        allowed = FRESHDESK_NOTE_FIELDS if kind == "notes" else FRESHDESK_REPLY_FIELDS
        errors = _freshdesk_problems(request.json, allowed)
        if errors:
            return Answer(400, {"description": "Validation failed", "errors": errors})
        public = kind == "reply" or request.json.get("private") is False
        note = self.store_note(ticket_id, request.json["body"], public=public, headers=request.headers)
        return Answer(201, self._conversation(ticket_id, note, kind))

    def _list_conversations(self, request: RecordedRequest, ticket_id: str) -> Answer:
        """``GET /api/v2/tickets/{id}/conversations``: oldest first, ``page`` and ``per_page`` (at most 100)."""
        if not self.has_ticket(ticket_id):
            return Answer(404)
        query = parse_qs(urlsplit(request.path).query)
        page_text, per_page_text = (query.get("page") or ["1"])[0], (query.get("per_page") or ["30"])[0]
        if not page_text.isdigit() or int(page_text) < 1:
            return Answer(400, {"description": "Validation failed",
                                "errors": [_freshdesk_field("page", "It should be a Positive Integer",
                                                            "invalid_value")]})
        if not per_page_text.isdigit() or not 1 <= int(per_page_text) <= FRESHDESK_MAX_PER_PAGE:
            return Answer(400, {"description": "Validation failed", "errors": [_freshdesk_field(
                "per_page", f"It should be a Positive Integer less than or equal to {FRESHDESK_MAX_PER_PAGE}",
                "invalid_value")]})
        page, per_page = int(page_text), int(per_page_text)
        notes = self.notes(ticket_id)[(page - 1) * per_page:page * per_page]
        return Answer(200, [self._conversation(ticket_id, note, "reply" if note.public else "notes")
                            for note in notes])

    def _conversation(self, ticket_id: str, note: Note, kind: str) -> dict[str, object]:
        now = note.created_at.isoformat().replace("+00:00", "Z")
        text = re.sub(r"<[^>]+>", " ", note.body)
        return {
            "body": note.body,
            "body_text": " ".join(html.unescape(text).split()),
            "id": note.id,
            "incoming": False,
            "private": not note.public,
            "user_id": self.agent_id,
            "support_email": None if kind == "notes" else "support@example.freshdesk.com",
            "source": 2 if kind == "notes" else 0,
            "ticket_id": int(ticket_id),
            "to_emails": [] if kind == "notes" else ["customer@example.com"],
            "from_email": None if kind == "notes" else "Support <support@example.freshdesk.com>",
            "cc_emails": None,
            "bcc_emails": None,
            "created_at": now,
            "updated_at": now,
            "attachments": [],
        }


    # --- ticket to customer: View a Ticket with include=requester ---------------------------------

    def answer_requester_read(self, request: RecordedRequest, path: str) -> Answer | None:
        """GET of a ticket; None for any other request."""
        match = _FRESHDESK_TICKET.fullmatch(path)
        if request.method != "GET" or match is None:
            return None
        credentials = basic_credentials(request.headers)
        if credentials is None or credentials[0] != self.api_key:
            return Answer(401, _freshdesk_error("invalid_credentials", _FRESHDESK_LOGIN))
        includes = {part for value in query_of(request).get("include", []) for part in value.split(",")}
        unknown = includes - FRESHDESK_TICKET_INCLUDES
        if unknown:
            return Answer(400, {"description": "Validation failed", "errors": [
                _freshdesk_field("include", f"It should be one/more of: {','.join(sorted(FRESHDESK_TICKET_INCLUDES))}",
                                 "invalid_value")]})
        ticket_id = match.group(1)
        requester = self.requester_of(ticket_id)
        if not self.has_ticket(ticket_id) or requester is None:
            return Answer(404)
        body: dict[str, object] = {
            "id": int(ticket_id), "subject": "Smart meter data stopped arriving", "status": 2, "priority": 1,
            "source": 1, "requester_id": requester.id, "responder_id": None, "group_id": None,
            "created_at": "2026-11-30T16:40:00Z", "updated_at": "2026-11-30T16:40:00Z", "tags": [],
            "description_text": "My meter data stopped",
        }
        if "requester" in includes:
            body["requester"] = {"id": requester.id, "name": "Customer", "email": requester.email,
                                 "mobile": None, "phone": None}
        return Answer(200, body)


def _freshdesk_problems(payload: Mapping[str, object], allowed: frozenset[str]) -> list[dict[str, str]]:
    errors = [
        _freshdesk_field(name, "Unexpected/invalid field in request", "invalid_field")
        for name in payload
        if name not in allowed
    ]
    body = payload.get("body")
    if not isinstance(body, str) or not body.strip():
        errors.append(_freshdesk_field("body", "It should be a/an String", "missing_field"))
    if "private" in payload and not isinstance(payload["private"], bool):
        errors.append(_freshdesk_field("private", "It should be a/an Boolean", "datatype_mismatch"))
    return errors


def _freshdesk_field(name: str, message: str, code: str) -> dict[str, str]:
    return {"field": name, "message": message, "code": code}


def _freshdesk_error(code: str, message: str) -> dict[str, str]:
    return {"code": code, "message": message}
