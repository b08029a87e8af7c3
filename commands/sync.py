"""Reading a data custodian's Authorization feed (NAESB ESPI over Atom) into the rows an import writes.

`GET {base}/espi/1_1/resource/Authorization` answers an Atom `<feed>` of `<entry>`s, each holding one
`espi:Authorization` in its `<content>` (ESPI usage.xsd: authorizedPeriod, publishedPeriod, status 0 revoked /
1 active / 2 denied, expires_at, scope, resourceURI, authorizationURI, and in later versions
customerResourceURI), and a `<link rel="next">` while more pages follow. Real feeds deviate from the schema,
and all of these are read: namespace prefixes other than `espi:` (PG&E writes `ns0:` and `ns1:`), times and
durations in milliseconds instead of seconds (PG&E again), scopes with a trailing `;` or capitals. Elements
are matched by namespace and local name, never by prefix.

A malformed entry (no Authorization, a status that is not 0-2, an unreadable number, no URI) is reported by
its position in the feed and skipped; the rest of the feed is still read.
"""

from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from commands.imports import AuthorizationImport, subscription_key
from commands.rules import AuthorizationStatus

ATOM = "http://www.w3.org/2005/Atom"
ESPI = "http://naesb.org/espi"
# ESPI TimeType is seconds since 1970; a value this large can only be milliseconds (it is the year 5138 in
# seconds), which is what PG&E sends.
_MILLISECONDS_FROM = 100_000_000_000
_STATUSES = {0: AuthorizationStatus.REVOKED, 1: AuthorizationStatus.ACTIVE, 2: AuthorizationStatus.DENIED}
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$")
# Where a custodian lists its authorizations, relative to its base URL.
AUTHORIZATION_PATH = "/espi/1_1/resource/Authorization"


class FeedError(Exception):
    """The page is not an Atom feed or entry we can read at all: the fetch failed, nothing is applied."""


@dataclass(frozen=True)
class FeedEntry:
    """One Authorization of the feed, as the custodian wrote it."""

    position: int  # 1-based, over all pages: how a malformed entry is reported without customer data
    authorization_uri: str
    status: AuthorizationStatus
    granted_at: datetime | None
    authorized_end: datetime | None
    updated_at: datetime | None
    scope: str | None
    resource_uri: str | None
    customer_resource_uri: str | None


@dataclass(frozen=True)
class MalformedEntry:
    position: int
    problem: str


@dataclass(frozen=True)
class FeedPage:
    entries: list[FeedEntry | MalformedEntry]
    next_url: str | None


def parse_page(body: bytes, first_position: int = 1) -> FeedPage:
    """One page of the Authorization feed (or a single entry, which some custodians answer with)."""
    if b"<!DOCTYPE" in body or b"<!ENTITY" in body:
        # No custodian needs a DTD; refusing it rules out entity-expansion attacks on the parser.
        raise FeedError("the feed declares a DTD or entities, which an ESPI feed never does")
    try:
        root = ET.fromstring(body)
    except ET.ParseError as exc:
        raise FeedError(f"the feed is not well-formed XML ({exc})") from None
    if root.tag == f"{{{ATOM}}}entry":
        entries, links = [root], []
    elif root.tag == f"{{{ATOM}}}feed":
        entries, links = root.findall(f"{{{ATOM}}}entry"), root.findall(f"{{{ATOM}}}link")
    else:
        raise FeedError(f"the answer is not an Atom feed (root element {_local(root.tag)!r})")
    next_url = next((link.get("href") for link in links if link.get("rel") == "next" and link.get("href")), None)
    return FeedPage([_entry(entry, first_position + i) for i, entry in enumerate(entries)], next_url)


def _entry(entry: ET.Element, position: int) -> FeedEntry | MalformedEntry:
    authorization = entry.find(f"{{{ATOM}}}content/{{{ESPI}}}Authorization")
    if authorization is None:
        return MalformedEntry(position, "no espi:Authorization in its content")
    try:
        status_code = _integer(authorization, "status")
        if status_code not in _STATUSES:
            return MalformedEntry(position, f"status {status_code} is not 0 (revoked), 1 (active) or 2 (denied)")
        uri = _text(authorization, "authorizationURI") or _self_link(entry)
        if not uri:
            return MalformedEntry(position, "neither an authorizationURI nor a self link")
        granted_at, authorized_end = _period(authorization, "authorizedPeriod")
        return FeedEntry(
            position=position,
            authorization_uri=uri.rstrip("/"),
            status=_STATUSES[status_code],
            granted_at=granted_at,
            authorized_end=authorized_end,
            updated_at=_atom_time(entry.findtext(f"{{{ATOM}}}updated")),
            scope=_text(authorization, "scope"),
            resource_uri=_uri(_text(authorization, "resourceURI")),
            customer_resource_uri=_uri(_text(authorization, "customerResourceURI")),
        )
    except ValueError as exc:
        return MalformedEntry(position, str(exc))


def _text(element: ET.Element, name: str) -> str | None:
    value = element.findtext(f"{{{ESPI}}}{name}")
    return value.strip() if value and value.strip() else None


def _integer(element: ET.Element, name: str) -> int:
    raw = _text(element, name)
    if raw is None:
        raise ValueError(f"no {name}")
    if not re.fullmatch(r"-?[0-9]+", raw):
        raise ValueError(f"{name} {raw[:20]!r} is not a whole number")
    return int(raw)


def _period(authorization: ET.Element, name: str) -> tuple[datetime | None, datetime | None]:
    """(start, end) of a DateTimeInterval; start 0 is unknown (the GBA sandbox writes 0), duration 0 is
    indefinite consent. Milliseconds when the start is too large to be seconds; the duration follows."""
    period = authorization.find(f"{{{ESPI}}}{name}")
    if period is None:
        return None, None
    start = _integer(period, "start") if period.find(f"{{{ESPI}}}start") is not None else 0
    duration = _integer(period, "duration") if period.find(f"{{{ESPI}}}duration") is not None else 0
    if start < 0 or duration < 0:
        raise ValueError(f"{name} has a negative start or duration")
    if start == 0:
        return None, None
    scale = 1000 if start >= _MILLISECONDS_FROM else 1
    try:
        begins = datetime.fromtimestamp(start / scale, UTC)
    except (OverflowError, OSError, ValueError):
        raise ValueError(f"{name} start {start} is not a time") from None
    if not duration:
        return begins, None
    try:
        return begins, begins + timedelta(seconds=duration / scale)
    except OverflowError:
        return begins, None  # past the year 9999: consent without an end in sight


def _atom_time(raw: str | None) -> datetime | None:
    if not raw:
        return None
    try:
        value = datetime.fromisoformat(raw.strip())  # milliseconds and 'Z' included
    except ValueError:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _self_link(entry: ET.Element) -> str | None:
    return next((link.get("href") for link in entry.findall(f"{{{ATOM}}}link") if link.get("rel") == "self"), None)


def _uri(raw: str | None) -> str | None:
    return raw.rstrip("/") if raw else None


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


# --- from the feed to our authorizations --------------------------------------------------------------


def authorization_id(utility: str, authorization_uri: str) -> str:
    """Our id for a custodian's authorization: stable across syncs, unique across custodians, and an id our
    tables take (64 letters, digits, `. _ : -`). The URI's last segment when it fits, else a digest of it."""
    last = authorization_uri.rsplit("/", 1)[-1]
    candidate = f"GB-{utility}-{last}"
    if _ID.match(candidate):
        return candidate
    return f"GB-{utility}-{hashlib.sha256(authorization_uri.encode()).hexdigest()[:40]}"


@dataclass(frozen=True)
class Mapped:
    rows: list[AuthorizationImport]
    uris: dict[str, str]  # authorization id -> the custodian's URI
    unmapped: int  # entries whose subscription and retail customer the company does not know


def map_entries(utility: str, entries: list[FeedEntry], customers: Mapping[str, str]) -> Mapped:
    """Each entry as an authorization of the customer its subscription (or retail customer) URI names in
    the company's mapping; entries naming no known customer are counted, not guessed."""
    rows: list[AuthorizationImport] = []
    uris: dict[str, str] = {}
    unmapped = 0
    for entry in entries:
        customer_id = _customer_of(entry, customers)
        if customer_id is None:
            unmapped += 1
            continue
        identifier = authorization_id(utility, entry.authorization_uri)
        if identifier in uris:
            continue  # the same authorization on two pages (a feed that moved while paged): once is enough
        uris[identifier] = entry.authorization_uri
        revoked_at = entry.updated_at if entry.status is AuthorizationStatus.REVOKED else None
        rows.append(AuthorizationImport(entry.position, identifier, customer_id, entry.status, entry.granted_at,
                                        entry.scope, entry.authorized_end, revoked_at))
    return Mapped(rows, uris, unmapped)


def _customer_of(entry: FeedEntry, customers: Mapping[str, str]) -> str | None:
    for uri in (entry.resource_uri, entry.customer_resource_uri):
        if uri is not None and (found := customers.get(subscription_key(uri))) is not None:
            return found
    return None


def entries_of(pages: list[FeedPage]) -> Iterator[FeedEntry | MalformedEntry]:
    for page in pages:
        yield from page.entries
