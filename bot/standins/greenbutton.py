"""A local stand-in of a Green Button Connect data custodian: an OAuth 2 token endpoint (client credentials)
and the ESPI Authorization feed, on 127.0.0.1.

It checks what a custodian checks (the token request's grant type, HTTP Basic client credentials and form
body; a Bearer token it issued and has not expired on every feed request) and answers with feeds shaped like
the real samples in ../shared/specs/greenbutton/: the GBA test feed's `espi:` prefix and seconds, or PG&E's
`ns0:`/`ns1:` prefixes, `xsi:type` attributes and milliseconds. It pages (`rel="next"`), and misbehaves on
request: a token that expires (401 until a new one is fetched), a 500 on a given page, a malformed entry.

    with CustodianStandIn() as custodian:
        custodian.authorize("sub-1", scope="FB=1_3_4_5")
        ...  # GREENBUTTON_SCE_BASE_URL=custodian.base_url, _TOKEN_URL=custodian.token_url, ...
"""

from __future__ import annotations

import base64
import binascii
import socket
import threading
import uuid
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from html import escape
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from bot.standins.server import StandInHTTPServer, StandInServer

FEED_PATH = "/DataCustodian/espi/1_1/resource/Authorization"
# Where the entries say their resources live: a custodian names its canonical host in resourceURI, wherever
# it is served from, and the company's mapping CSV holds those URIs.
RESOURCE_BASE = "https://greenbutton.utility.example/DataCustodian"
TOKEN_PATH = "/DataCustodian/oauth/token"


@dataclass(frozen=True)
class CustodianAuthorization:
    """One authorization a retail customer gave the company at this custodian."""

    id: str
    subscription: str  # the Subscription id in resourceURI
    status: int = 1  # ESPI: 0 revoked, 1 active, 2 denied
    start: int = 1_793_491_200  # authorizedPeriod.start, seconds since 1970 (2026-11-01)
    duration: int = 0  # 0: indefinite
    scope: str = "FB=1_3_4_5_13_14;IntervalDuration=900_3600;BlockDuration=daily;"
    retail_customer: str | None = None  # customerResourceURI's id, when given
    updated: datetime = field(default_factory=lambda: datetime(2026, 11, 1, tzinfo=UTC))


@dataclass
class _State:
    client_id: str
    client_secret: str
    page_size: int
    style: str
    authorizations: dict[str, CustodianAuthorization] = field(default_factory=dict)
    malformed: list[str] = field(default_factory=list)  # raw <entry> XML, served first
    tokens: set[str] = field(default_factory=set)
    tokens_issued: int = 0
    fail_pages: set[int] = field(default_factory=set)
    feed_requests: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


class CustodianStandIn(StandInServer):
    def __init__(self, *, client_id: str = "company-client", client_secret: str = "s3cret-not-real",
                 page_size: int = 2, style: str = "espi", port: int = 0) -> None:
        super().__init__(port)
        if style not in ("espi", "pge"):
            raise ValueError("style is 'espi' (the GBA samples) or 'pge' (PG&E's prefixes and milliseconds)")
        self.state = _State(client_id, client_secret, page_size, style)

    def _serve(self, listener: socket.socket) -> StandInHTTPServer:
        state = self.state

        class Handler(_Handler):
            custodian = state

        return StandInHTTPServer(listener, Handler)

    # --- what tests and the demo set up -----------------------------------------------------------------

    @property
    def token_url(self) -> str:
        return self.base_url + TOKEN_PATH

    @property
    def custodian_url(self) -> str:
        """The base URL the bot is configured with (the feed is {base}/espi/1_1/resource/Authorization)."""
        return self.base_url + "/DataCustodian"

    @staticmethod
    def subscription_uri(subscription: str) -> str:
        return f"{RESOURCE_BASE}/espi/1_1/resource/Subscription/{subscription}"

    def authorize(self, authorization: CustodianAuthorization) -> None:
        with self.state.lock:
            self.state.authorizations[authorization.id] = authorization

    def change(self, authorization_id: str, **changes: object) -> None:
        with self.state.lock:
            current = self.state.authorizations[authorization_id]
            self.state.authorizations[authorization_id] = replace(current, **changes)  # type: ignore[arg-type]

    def remove(self, authorization_id: str) -> None:
        with self.state.lock:
            del self.state.authorizations[authorization_id]

    def add_malformed_entry(self, xml: str) -> None:
        with self.state.lock:
            self.state.malformed.append(xml)

    def expire_tokens(self) -> None:
        """Every token issued so far stops working: the next feed request gets 401."""
        with self.state.lock:
            self.state.tokens.clear()

    def fail_page(self, page: int) -> None:
        with self.state.lock:
            self.state.fail_pages.add(page)

    def heal(self) -> None:
        with self.state.lock:
            self.state.fail_pages.clear()

    @property
    def tokens_issued(self) -> int:
        return self.state.tokens_issued

    @property
    def feed_requests(self) -> list[str]:
        with self.state.lock:
            return list(self.state.feed_requests)


class _Handler(BaseHTTPRequestHandler):
    custodian: _State

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        if urlsplit(self.path).path != TOKEN_PATH:
            return self._answer(404, "text/plain", b"no such resource")
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode("utf-8", "replace")
        if not (self.headers.get("Content-Type") or "").startswith("application/x-www-form-urlencoded"):
            return self._oauth_error(400, "invalid_request", "the token request must be form-encoded (RFC 6749 4.4.2)")
        form = parse_qs(body)
        if form.get("grant_type") != ["client_credentials"]:
            return self._oauth_error(400, "unsupported_grant_type", "only client_credentials is served here")
        if not self._client_authenticated():
            return self._oauth_error(401, "invalid_client", "client authentication failed")
        token = uuid.uuid4().hex
        state = self.custodian
        with state.lock:
            state.tokens.add(token)
            state.tokens_issued += 1
        payload = (f'{{"access_token": "{token}", "token_type": "Bearer", "expires_in": 3600, '
                   f'"scope": "{form.get("scope", ["FB=34_35"])[0]}"}}')
        self._answer(200, "application/json", payload.encode())

    def _client_authenticated(self) -> bool:
        header = self.headers.get("Authorization") or ""
        if not header.startswith("Basic "):
            return False
        try:
            client_id, _, secret = base64.b64decode(header[6:], validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return (client_id, secret) == (self.custodian.client_id, self.custodian.client_secret)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path != FEED_PATH:
            return self._answer(404, "text/plain", b"no such resource")
        state = self.custodian
        header = self.headers.get("Authorization") or ""
        with state.lock:
            state.feed_requests.append(self.path)
            authorized = header.startswith("Bearer ") and header[7:] in state.tokens
        if not authorized:
            return self._answer(401, "application/json", b'{"error": "invalid_token"}')
        try:
            page = int(parse_qs(url.query).get("page", ["1"])[0])
        except ValueError:
            return self._answer(400, "text/plain", b"page is a number")
        with state.lock:
            if page in state.fail_pages:
                return self._answer(500, "text/plain", b"internal error")
            entries = state.malformed + [_entry_xml(a, state.style)
                                         for a in sorted(state.authorizations.values(), key=lambda a: a.id)]
        pages = max(1, -(-len(entries) // state.page_size))
        if not 1 <= page <= pages:
            return self._answer(404, "text/plain", b"no such page")
        chunk = entries[(page - 1) * state.page_size: page * state.page_size]
        next_link = (f'<link href="{escape(self._base() + FEED_PATH)}?page={page + 1}" rel="next"/>'
                     if page < pages else "")
        feed = (f'<?xml version="1.0" encoding="UTF-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
                f'xmlns:espi="http://naesb.org/espi"><id>urn:uuid:{uuid.UUID(int=page)}</id>'
                f'<title>Authorization</title><updated>2026-11-30T00:00:00Z</updated>'
                f'<link href="{escape(self._base() + FEED_PATH)}" rel="self"/>{next_link}'
                + "".join(chunk) + "</feed>")
        self._answer(200, "application/atom+xml", feed.encode())

    def _base(self) -> str:
        assert isinstance(self.server, StandInHTTPServer)
        return f"http://{self.server.server_name}:{self.server.server_port}"

    def _oauth_error(self, status: int, error: str, description: str) -> None:
        body = f'{{"error": "{error}", "error_description": "{description}"}}'
        self._answer(status, "application/json", body.encode())

    def _answer(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        if status == 401:
            self.send_header("WWW-Authenticate", 'Bearer error="invalid_token"')
        self.end_headers()
        self.wfile.write(body)


def _entry_xml(a: CustodianAuthorization, style: str) -> str:
    resource = f"{RESOURCE_BASE}/espi/1_1/resource"
    authorization_uri = f"{resource}/Authorization/{a.id}"
    subscription_uri = f"{resource}/Subscription/{a.subscription}"
    customer = (f"<espi:customerResourceURI>{resource}/RetailCustomer/"
                f"{a.retail_customer}</espi:customerResourceURI>" if a.retail_customer else "")
    if style == "pge":
        # PG&E (PGEAuthorization.xml): ns0/ns1 prefixes, xsi:type attributes, times and durations in ms.
        xsi = 'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
        updated = a.updated.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return (
            f'<ns1:entry xmlns:ns1="http://www.w3.org/2005/Atom">'
            f'<ns1:id xsi:type="ns1:idType" {xsi}>{uuid.uuid5(uuid.NAMESPACE_URL, authorization_uri)}</ns1:id>'
            f'<ns1:link href="{resource}/Authorization/{a.id}" rel="self" xsi:type="ns1:linkType" {xsi}/>'
            f'<ns1:updated xsi:type="ns1:dateTimeType" {xsi}>{updated}</ns1:updated>'
            f'<ns1:content xsi:type="ns1:contentType" {xsi}><ns0:Authorization xmlns:ns0="http://naesb.org/espi">'
            f"<ns0:authorizedPeriod><ns0:duration>{a.duration * 1000}</ns0:duration>"
            f"<ns0:start>{a.start * 1000}</ns0:start></ns0:authorizedPeriod>"
            f"<ns0:status>{a.status}</ns0:status><ns0:expires_at>{a.start + 86400}</ns0:expires_at>"
            f"<ns0:scope>{escape(a.scope)}</ns0:scope><ns0:token_type>Bearer</ns0:token_type>"
            f"<ns0:resourceURI>{subscription_uri}</ns0:resourceURI>"
            f"<ns0:authorizationURI>{authorization_uri}</ns0:authorizationURI>"
            f"{customer.replace('espi:', 'ns0:')}</ns0:Authorization></ns1:content></ns1:entry>"
        )
    return (
        f"<entry><id>urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, authorization_uri)}</id>"
        f'<link href="{resource}/Authorization" rel="up"/><link href="{authorization_uri}" rel="self"/>'
        f"<title>Authorization</title><content><espi:Authorization>"
        f"<espi:authorizedPeriod><espi:duration>{a.duration}</espi:duration><espi:start>{a.start}</espi:start>"
        f"</espi:authorizedPeriod><espi:publishedPeriod><espi:duration>{a.duration}</espi:duration>"
        f"<espi:start>{a.start}</espi:start></espi:publishedPeriod>"
        f"<espi:status>{a.status}</espi:status><espi:expires_at>{a.start + 86400}</espi:expires_at>"
        f"<espi:grant_type>authorization_code</espi:grant_type><espi:scope>{escape(a.scope)}</espi:scope>"
        f"<espi:token_type>Bearer</espi:token_type><espi:resourceURI>{subscription_uri}</espi:resourceURI>"
        f"<espi:authorizationURI>{authorization_uri}</espi:authorizationURI>{customer}"
        f"</espi:Authorization></content><published>2026-11-01T00:00:00Z</published>"
        f"<updated>{a.updated.isoformat().replace('+00:00', 'Z')}</updated></entry>"
    )
