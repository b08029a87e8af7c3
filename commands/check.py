"""The `/reauth-check` use case: find the customer, gather the case, recommend one action.

Shared by the slash command, the CLI (`reauth-bot check`), the digest's cross-check and the
benchmarks. Storage is reached through the `CaseRecords` protocol, implemented in `models/`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from commands.policy import DATA_FRESHNESS, Utility
from commands.rules import Authorization, Case, Procedure, Recommendation, live_authorizations, recommend
from commands.tickets import named_in_link, read_ticket

# An e-mail address is at most 254 characters; a ticket URL rarely 200. Anything longer is a paste error.
MAX_QUERY_LENGTH = 300
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# A customer id, or a ticket id as procedures imported from CSV store it: the first word finds stored records.
_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$")


class EnrollmentStatus(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"


@dataclass(frozen=True)
class Customer:
    id: str
    email: str | None
    name: str | None
    utility: Utility
    enrollment_status: EnrollmentStatus | None
    last_data_at: datetime | None

    def is_connected(self, now: datetime) -> bool:
        """Enrollment verified and meter data received within the freshness window (DESIGN rule 1)."""
        return (
            self.enrollment_status is EnrollmentStatus.VERIFIED
            and self.last_data_at is not None
            and now - DATA_FRESHNESS <= self.last_data_at <= now
        )


class QueryKind(StrEnum):
    EMAIL = "email"
    IDENTIFIER = "identifier"  # a customer id, or failing that a ticket id
    TICKET_URL = "ticket_url"


@dataclass(frozen=True)
class Query:
    kind: QueryKind
    value: str
    ticket_ref: str | None = None  # the optional second word: the number of the ticket to post steps to


class QueryProblem(StrEnum):
    EMPTY = "empty"
    TOO_LONG = "too_long"
    MALFORMED = "malformed"
    TOO_MANY_WORDS = "too_many_words"


def parse_query(text: str) -> Query | QueryProblem:
    """Read `<email | customer id | ticket id or URL> [ticket id or URL]`."""
    text = text.strip()
    if not text:
        return QueryProblem.EMPTY
    if len(text) > MAX_QUERY_LENGTH:
        return QueryProblem.TOO_LONG
    words = text.split()
    if len(words) > 2:
        return QueryProblem.TOO_MANY_WORDS
    first = words[0].strip("<>")
    ticket_ref = _ticket_word(words[1]) if len(words) == 2 else None
    if len(words) == 2 and ticket_ref is None:
        return QueryProblem.MALFORMED
    if "@" in first:
        if first.lower().startswith("mailto:"):
            first = first[len("mailto:") :]
        first = first.split("|", 1)[0]  # Slack auto-links e-mails as <mailto:a@b.c|a@b.c>
        return Query(QueryKind.EMAIL, first.lower(), ticket_ref) if _EMAIL.match(first) else QueryProblem.MALFORMED
    if first.startswith(("http://", "https://")):
        named = named_in_link(first)
        return Query(QueryKind.TICKET_URL, named, ticket_ref or named) if named else QueryProblem.MALFORMED
    if _IDENTIFIER.match(first):
        return Query(QueryKind.IDENTIFIER, first, ticket_ref)
    return QueryProblem.MALFORMED


def _ticket_word(word: str) -> str | None:
    """The ticket a query's second word names: its number, by the ticket grammar."""
    ticket = read_ticket(word)
    if ticket is not None:
        return ticket.id
    # Any other id ("INC-77") is still handed on, and posting says it is no ticket of the configured
    # helpdesk; refusing it here instead belongs with looking tickets up in the helpdesk (issue 12).
    word = word.strip("<>")
    named = named_in_link(word) if word.startswith(("http://", "https://")) else word
    return named if named is not None and _IDENTIFIER.match(named) else None


@dataclass(frozen=True)
class CaseFile:
    customer: Customer
    authorizations: tuple[Authorization, ...]
    procedures: tuple[Procedure, ...]


class CaseRecords(Protocol):
    """What the lookup needs from storage."""

    def customers_by_id(self, customer_id: str) -> Sequence[Customer]: ...
    def customers_by_email(self, email: str) -> Sequence[Customer]: ...
    def customers_by_ticket(self, ticket_id: str) -> Sequence[Customer]: ...
    def case_file(self, customer_id: str) -> CaseFile: ...
    def record_lookup(self, customer_id: str, *, agent: str, at: datetime, source: str) -> None: ...


@dataclass(frozen=True)
class Report:
    """The answer to one lookup: the customer's case as of `now` and what to do."""

    customer: Customer
    authorizations: tuple[Authorization, ...]
    live: tuple[Authorization, ...]
    procedures: tuple[Procedure, ...]
    connected: bool
    recommendation: Recommendation
    now: datetime
    ticket_ref: str | None = None


@dataclass(frozen=True)
class NotFound:
    query: Query


@dataclass(frozen=True)
class Ambiguous:
    query: Query
    candidates: tuple[Customer, ...]


@dataclass(frozen=True)
class Invalid:
    problem: QueryProblem


CheckOutcome = Report | NotFound | Ambiguous | Invalid


def build_report(case_file: CaseFile, now: datetime, ticket_ref: str | None = None) -> Report:
    customer = case_file.customer
    # As of `now`: what was granted or sent later did not exist yet.
    known = (a for a in case_file.authorizations if a.granted_at is None or a.granted_at <= now)
    authorizations = tuple(sorted(known, key=lambda a: (a.granted_at is None, a.granted_at), reverse=True))
    procedures = tuple(p for p in sorted(case_file.procedures, key=lambda p: p.sent_at) if p.sent_at <= now)
    connected = customer.is_connected(now)
    case = Case(customer.utility, connected, authorizations, procedures)
    return Report(
        customer=customer,
        authorizations=authorizations,
        live=tuple(live_authorizations(case, now)),
        procedures=procedures,
        connected=connected,
        recommendation=recommend(case, now),
        now=now,
        ticket_ref=ticket_ref,
    )


def find_customers(records: CaseRecords, query: Query) -> tuple[Sequence[Customer], str | None]:
    """The customers the query names, and the ticket it named if it named one."""
    if query.kind is QueryKind.EMAIL:
        return records.customers_by_email(query.value), query.ticket_ref
    if query.kind is QueryKind.IDENTIFIER:
        by_id = records.customers_by_id(query.value)
        if by_id:
            return by_id, query.ticket_ref
    return records.customers_by_ticket(query.value), query.ticket_ref or query.value


def check(records: CaseRecords, text: str, *, now: datetime, agent: str, source: str) -> CheckOutcome:
    """Look a customer up by free text and recommend one action; several matches are listed, never guessed."""
    query = parse_query(text)
    if isinstance(query, QueryProblem):
        return Invalid(query)
    customers, ticket_ref = find_customers(records, query)
    if not customers:
        return NotFound(query)
    if len(customers) > 1:
        return Ambiguous(query, tuple(sorted(customers, key=lambda c: c.id)))
    customer = customers[0]
    records.record_lookup(customer.id, agent=agent, at=now, source=source)
    return build_report(records.case_file(customer.id), now, ticket_ref)
