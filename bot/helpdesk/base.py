"""The base client the three helpdesks share: HTTP plumbing, retries, reading ticket references, refusals in words."""

from __future__ import annotations

import html
import json
import logging
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import TracebackType
from typing import Self, TypedDict, Unpack, assert_never
from urllib.parse import urlsplit

import httpx

from bot.helpdesk.retry import RetryPolicy
from bot.helpdesk.types import Posted, PostResult, Rejected, RetryLater
from commands.pasted import clean_text, clean_word
from commands.tickets import Requester, RequesterProblem, RequesterUnknown, read_link, ticket_number

log = logging.getLogger(__name__)

# The agent is waiting on the other end of a button: fail fast on connect, allow a slow write.
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)

_DETAIL_LIMIT = 200


def text_to_html(text: str) -> str:
    """Plain text as escaped HTML paragraphs: blank lines split paragraphs, newlines become ``<br>``."""
    paragraphs = re.split(r"\n\s*\n", text.replace("\r\n", "\n").strip())
    return "".join(
        "<p>" + "<br>".join(html.escape(line.strip()) for line in paragraph.strip().split("\n")) + "</p>"
        for paragraph in paragraphs
        if paragraph.strip()
    )


def normalise_base_url(base_url: str) -> str:
    """Check the base URL is an absolute http(s) URL and drop a trailing slash."""
    parts = urlsplit(base_url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"helpdesk base URL must start with https:// (got {base_url!r})")
    return base_url.strip().rstrip("/")


def host_of(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


# --- Words for the agent: every rejection the bot reports is phrased here. ---------------------


def rejection(
    status: int,
    *,
    helpdesk: str,
    ticket_word: str,
    ticket_id: str,
    credential_settings: str,
    detail: str | None,
    bad_request_hint: str | None = None,
    advice: str | None = None,
) -> Rejected:
    """A ``Rejected`` in plain words for a non-retryable HTTP status; ``advice`` is the helpdesk's own
    word on what to check for this status, when it documents one."""
    suffix = f": {detail}" if detail else ""
    if advice is not None:
        return Rejected(status, f"{helpdesk} refused the note (HTTP {status}){suffix}", advice)
    if status == 401:
        return Rejected(
            status,
            f"{helpdesk} did not accept the bot's credentials (HTTP 401)",
            f"Check the bot's helpdesk credentials ({credential_settings})",
        )
    if status == 403:
        return Rejected(
            status,
            f"{helpdesk} does not let the bot's account post to {ticket_word} {ticket_id} (HTTP 403)",
            f"Check the bot's helpdesk credentials ({credential_settings}) and that "
            f"account's access to {ticket_word} {ticket_id}",
        )
    if status == 404:
        return Rejected(
            status,
            f"{helpdesk} has no {ticket_word} {ticket_id} (HTTP 404)",
            f"Check the ticket number: the helpdesk has no {ticket_word} {ticket_id}",
        )
    if status == 422:
        return Rejected(
            status,
            f"{helpdesk} refused the note (HTTP 422){suffix}",
            f"Check {ticket_word} {ticket_id} in {helpdesk}: it did not take a new note",
        )
    if 300 <= status <= 399:
        return Rejected(
            status,
            f"{helpdesk} answered with a redirect (HTTP {status})",
            "Check the helpdesk base URL (HELPDESK_URL setting): it should be the API address itself",
        )
    return Rejected(
        status,
        f"{helpdesk} refused the request (HTTP {status}){suffix}",
        bad_request_hint
        or f"Tell the bot's maintainers: {helpdesk} refused the request the bot built",
    )


def error_detail(response: httpx.Response) -> str | None:
    """The helpdesk's own error message, short, from the error shapes the three helpdesks use."""
    try:
        payload = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(payload, dict):
        return None
    detail: str | None = None
    errors = payload.get("errors")
    if isinstance(errors, list) and errors:
        parts = []
        for error in errors[:3]:
            if isinstance(error, dict):
                message = error.get("message") or error.get("code")
                where = error.get("field")
                if message:
                    parts.append(f"{where}: {message}" if where else str(message))
        detail = "; ".join(parts) or None
    if detail is None:
        for key in ("description", "message", "error"):
            value = payload.get(key)
            if isinstance(value, dict):
                value = value.get("message") or value.get("title")
            if isinstance(value, str) and value:
                detail = value
                break
    return detail[:_DETAIL_LIMIT] if detail else None


class _CannotRead(Exception):
    """The helpdesk could not be read now (rate limit, outage, timeout)."""

    def __init__(self, retry: RetryLater) -> None:
        super().__init__(retry.reason)
        self.retry = retry


class _ReadRefused(Exception):
    """The helpdesk refused the read (4xx)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status


# A note found by body and time (where the helpdesk keeps no marker) may be up to this much older than
# the outbox row by the helpdesk's clock: clocks differ.
CLOCK_SKEW = timedelta(minutes=5)


def plain_words(text: str) -> str:
    """A note's words without HTML or layout, for comparing what was sent with what the helpdesk stored."""
    without_tags = re.sub(r"<[^>]+>", " ", text)
    return " ".join(html.unescape(without_tags).split())


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 string or UNIX seconds from a helpdesk payload, as an aware datetime."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def not_before(found_at: datetime | None, since: datetime) -> bool:
    """Whether a note stored at ``found_at`` can be this post's (queued at ``since``)."""
    since_aware = since if since.tzinfo else since.replace(tzinfo=UTC)
    return found_at is not None and found_at >= since_aware - CLOCK_SKEW


@dataclass(frozen=True)
class HelpdeskRequest:
    """One HTTP call a client wants made; auth and headers travel per request, not per client."""

    method: str
    url: str
    json: Mapping[str, object]
    headers: Mapping[str, str] = field(default_factory=dict)
    auth: tuple[str, str] | None = None


class Connection(TypedDict, total=False):
    """How a client reaches its helpdesk; each client takes these as keywords, the base client gives the defaults."""

    policy: RetryPolicy | None
    client: httpx.Client | None
    timeout: httpx.Timeout | float | None
    trust_env: bool


class HelpdeskClient(ABC):
    """The shared half of the three clients: ticket-id checks, retries, and mapping statuses to results.

    Retries follow ``policy`` (``RetryPolicy()`` when None). Takes an ``httpx.Client`` (tests, connection
    sharing) or builds one with ``timeout``; a client it built is its own to close. ``trust_env`` is off
    by default so HTTP(S)_PROXY cannot reroute calls (and the stand-ins on 127.0.0.1); turn it on where
    a proxy is how the bot reaches the internet.
    """

    name: str = "helpdesk"
    display_name: str = "The helpdesk"
    ticket_word: str = "ticket"
    credential_settings: str = "HELPDESK_API_TOKEN setting"

    def __init__(self, base_url: str, **connection: Unpack[Connection]) -> None:
        self.base_url = normalise_base_url(base_url)
        self._policy = connection.get("policy") or RetryPolicy()
        client = connection.get("client")
        self._owns_client = client is None
        if client is None:
            timeout = connection.get("timeout")
            client = httpx.Client(
                timeout=DEFAULT_TIMEOUT if timeout is None else timeout, trust_env=connection.get("trust_env", False)
            )
        self._client = client

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def post_note(self, ticket_id: str, body: str, *, public: bool = False, marker: str | None = None) -> PostResult:
        """Post ``body`` to the ticket; an internal note unless ``public``.

        ``marker`` (the outbox key) goes with the note where the helpdesk keeps such data, so that
        ``find_note`` can recognise it later. Raises ``ValueError`` for an id that is not a ticket number
        (use ``parse_ticket_reference``) or an empty body: both are the caller's bugs, not the helpdesk's answer.
        """
        number = ticket_number(ticket_id)
        if number is None:
            raise ValueError(f"{ticket_id!r} is not a {self.display_name} {self.ticket_word} number")
        if not body.strip():
            raise ValueError("refusing to post an empty note")
        request = self.build_request(number, body, public=public)
        if marker is not None:
            request = self.with_marker(request, marker)

        def send() -> httpx.Response:
            return self._client.request(
                request.method,
                request.url,
                json=dict(request.json),
                headers=dict(request.headers),
                auth=request.auth,
            )

        outcome = self._policy.run(send, helpdesk=self.display_name, ticket_id=number, also_retry=self.also_retried())
        match outcome:
            case RetryLater():
                return outcome
            case httpx.Response() if outcome.is_success:
                return Posted(self._external_id_of(outcome), self.ticket_url(number))
            case httpx.Response():
                return rejection(
                    outcome.status_code,
                    helpdesk=self.display_name,
                    ticket_word=self.ticket_word,
                    ticket_id=number,
                    credential_settings=self.credential_settings,
                    detail=error_detail(outcome),
                    bad_request_hint=self.bad_request_hint(),
                    advice=self.refusal_advice(outcome.status_code, number),
                )
            case _:
                assert_never(outcome)

    # --- Read-back: did an earlier attempt store this note? -----------------------------------------

    def find_note(
        self, ticket_id: str, body: str, *, public: bool, marker: str, since: datetime
    ) -> Posted | RetryLater | None:
        """The note an earlier attempt stored on the ticket (``Posted``), None when there is none, or
        ``RetryLater`` when the helpdesk cannot be read now (sending blind could post twice).

        ``since`` is when the post was first queued: no earlier note can be it. A refusal to read
        (401, 403, 404) is logged and answers None: the send that follows gets the same refusal in words.
        """
        number = ticket_number(ticket_id)
        if number is None:
            return None
        try:
            found = self.find_stored(number, body, public=public, marker=marker, since=since)
        except _CannotRead as exc:
            return exc.retry
        except _ReadRefused as exc:
            log.warning("helpdesk=%s refused the read-back of ticket=%s (HTTP %s); sending", self.name, number,
                        exc.status)
            return None
        return None if found is None else Posted(found, self.ticket_url(number))

    def _get(
        self, url: str, params: Mapping[str, str | int] | None, *, ticket_id: str, policy: RetryPolicy,
        timed_out: list[bool] | None = None,
    ) -> httpx.Response | RetryLater:
        """GET ``url`` as the bot under ``policy`` (a read is safe to repeat); a timeout is noted in ``timed_out``."""
        request = self.build_read(url)

        def send() -> httpx.Response:
            try:
                return self._client.request("GET", request.url, params=dict(params or {}),
                                            headers=dict(request.headers), auth=request.auth)
            except httpx.TimeoutException:
                if timed_out is not None:
                    timed_out.append(True)
                raise

        return policy.run(send, helpdesk=self.display_name, ticket_id=ticket_id, idempotent=True)

    def read_json(self, url: str, params: Mapping[str, str | int], *, ticket_id: str) -> object:
        """GET ``url`` as the bot, with the post's retries; the JSON body, or `_CannotRead` / `_ReadRefused`."""
        outcome = self._get(url, params, ticket_id=ticket_id, policy=self._policy)
        match outcome:
            case RetryLater():
                raise _CannotRead(outcome)
            case httpx.Response() if outcome.is_success:
                try:
                    return outcome.json()
                except (json.JSONDecodeError, UnicodeDecodeError):
                    raise _CannotRead(RetryLater(f"{self.display_name} answered a read without JSON", None)) from None
            case httpx.Response():
                raise _ReadRefused(outcome.status_code)
            case _:
                assert_never(outcome)

    def with_marker(self, request: HelpdeskRequest, marker: str) -> HelpdeskRequest:
        """The post request carrying ``marker``; unchanged where the helpdesk keeps no data beside a note."""
        return request

    @abstractmethod
    def build_read(self, url: str) -> HelpdeskRequest:
        """A GET of ``url`` with this helpdesk's auth and headers."""

    @abstractmethod
    def find_stored(self, ticket_id: str, body: str, *, public: bool, marker: str, since: datetime) -> str | None:
        """The id of this note on the ticket if it is there, else None (raises through ``read_json``)."""

    def _external_id_of(self, response: httpx.Response) -> str | None:
        try:
            payload = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            log.warning("helpdesk=%s answered %d without JSON", self.name, response.status_code)
            return None
        found = self.external_id(payload)
        return None if found is None else str(found)

    def bad_request_hint(self) -> str | None:
        """What the agent should check on a 400 from this helpdesk; None for the generic advice."""
        return None

    def refusal_advice(self, status: int, ticket_id: str) -> str | None:
        """This helpdesk's own word on what a refusal with ``status`` means; None for the generic advice."""
        return None

    def also_retried(self) -> dict[int, str]:
        """Statuses this helpdesk documents as worth retrying besides 429 and 5xx, with what they mean."""
        return {}

    @abstractmethod
    def build_request(self, ticket_id: str, body: str, *, public: bool) -> HelpdeskRequest:
        """The HTTP call that posts ``body`` to ``ticket_id``."""

    @abstractmethod
    def external_id(self, payload: object) -> object | None:
        """The id of the stored note or comment in the success response, if it carries one."""

    @abstractmethod
    def ticket_url(self, ticket_id: str) -> str:
        """The link an agent opens to see the ticket."""

    def parse_ticket_reference(self, text: str) -> str | None:
        """The ticket number in ``123``, ``#123`` or a link on this helpdesk's own host; None for anything
        else (a link to another account's host would name a different ticket here)."""
        text = clean_word(clean_text(text).strip())
        number = ticket_number(text)
        if number is not None:
            return number
        link = read_link(text)
        if link is None or link.host != host_of(self.links_url):
            return None
        return self.ticket_in_link(link.path)

    @property
    def links_url(self) -> str:
        """Where agents' links to tickets live: the API's own host unless the helpdesk says otherwise."""
        return self.base_url

    @abstractmethod
    def ticket_in_link(self, path: str) -> str | None:
        """The ticket id in the path of a link on `links_url`'s host; None if it names no ticket."""

    # --- Reading who asked on a ticket (ticket to customer) -----------------------------------------

    def ticket_requester(self, ticket_id: str) -> Requester | RequesterUnknown:
        """The e-mail of whoever asked on the ticket, read with as few calls as the helpdesk allows.

        Never raises for what the helpdesk answers: a refusal, a timeout or an outage is a
        ``RequesterUnknown`` saying which. An agent waits on it, so one retry at most.
        """
        number = ticket_number(ticket_id)
        if number is None:
            raise ValueError(f"{ticket_id!r} is not a {self.display_name} {self.ticket_word} number")
        found = self.requester_email(number, lambda url, params=None: self._read(url, params, number))
        if isinstance(found, RequesterProblem):
            log.info("helpdesk=%s ticket=%s requester not read: %s", self.name, number, found.value)
            return RequesterUnknown(number, found, self.display_name, self.ticket_word)
        return Requester(number, found, self.ticket_url(number), self.display_name, self.ticket_word)

    def _read(self, url: str, params: Mapping[str, str] | None, ticket_id: str) -> dict[str, object] | RequesterProblem:
        timed_out: list[bool] = []
        policy = replace(self._policy, attempts=min(self._policy.attempts, READ_ATTEMPTS))
        outcome = self._get(url, params, ticket_id=ticket_id, policy=policy, timed_out=timed_out)
        if isinstance(outcome, RetryLater):
            return RequesterProblem.TIMED_OUT if timed_out else RequesterProblem.UNAVAILABLE
        if outcome.status_code in (401, 403):
            return RequesterProblem.NOT_ALLOWED
        if outcome.status_code == 404:
            return RequesterProblem.NO_TICKET
        if not outcome.is_success:
            return RequesterProblem.REFUSED
        try:
            payload = outcome.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return RequesterProblem.REFUSED
        return payload if isinstance(payload, dict) else RequesterProblem.REFUSED

    @abstractmethod
    def requester_email(self, ticket_id: str, read: ReadJson) -> str | RequesterProblem:
        """The requester's e-mail of ``ticket_id``, reading the helpdesk with ``read``."""


# Reads a helpdesk URL (with query parameters) to its JSON object, or says why it could not.
ReadJson = Callable[..., "dict[str, object] | RequesterProblem"]
# An agent waits on a lookup: one retry for a rate limit or a blip, not the posting's four attempts.
READ_ATTEMPTS = 2


def email_in(value: object) -> str | RequesterProblem:
    """An e-mail field of a helpdesk's user, contact or requester; NO_EMAIL when it has none."""
    return value.strip() if isinstance(value, str) and "@" in value else RequesterProblem.NO_EMAIL


def object_in(payload: object, key: str) -> dict[str, object]:
    """``payload[key]`` when it is a JSON object, else an empty one (a field the helpdesk left out)."""
    value = payload.get(key) if isinstance(payload, dict) else None
    return value if isinstance(value, dict) else {}
