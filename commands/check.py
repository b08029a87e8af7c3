"""The `/reauth-check` use case: find the customer, gather the case, recommend one action.

Shared by the slash command, the CLI (`reauth-bot check`), the digest's cross-check and the
benchmarks. Storage is reached through the `CaseRecords` protocol, implemented in `models/`.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from commands.pasted import clean_text, clean_word
from commands.policy import DATA_FRESHNESS, Utility
from commands.rules import Authorization, Case, Procedure, Recommendation, live_authorizations, recommend
from commands.tickets import Requester, RequesterUnknown, is_link, read_ticket, ticket_number

# An e-mail address is at most 254 characters; a ticket URL rarely 200. Anything longer is a paste error.
MAX_QUERY_LENGTH = 300
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
# A customer id (or a ticket number, which the grammar of commands/tickets.py reads).
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
    IDENTIFIER = "identifier"  # a customer id, or failing that (when it is a number) a ticket number
    TICKET = "ticket"  # `#4521`: a ticket number, never a customer id
    TICKET_URL = "ticket_url"


@dataclass(frozen=True)
class Query:
    kind: QueryKind
    value: str
    ticket_ref: str | None = None  # the number of the ticket to post steps to: the second word, or the ticket named
    link: str | None = None  # the ticket link the query was, as pasted: the helpdesk checks it is one of its own


class QueryProblem(StrEnum):
    EMPTY = "empty"
    TOO_LONG = "too_long"
    MALFORMED = "malformed"
    TOO_MANY_WORDS = "too_many_words"
    NOT_A_TICKET = "not_a_ticket"  # a link, a `#...` or a second word that the ticket grammar does not read


def parse_query(text: str) -> Query | QueryProblem:
    """Read `<email | customer id | ticket id or URL> [ticket id or URL]` as agents paste it.

    Slack's link markup, invisible marks, quotes, brackets and trailing punctuation are dropped first
    (`commands.pasted`); tickets follow the one grammar of `commands.tickets`.
    """
    text = clean_text(text).strip()
    if not text:
        return QueryProblem.EMPTY
    if len(text) > MAX_QUERY_LENGTH:
        return QueryProblem.TOO_LONG
    words = [word for word in (clean_word(w) for w in text.split()) if word]
    if not words:
        return QueryProblem.MALFORMED  # punctuation only
    if len(words) > 2:
        return QueryProblem.TOO_MANY_WORDS
    first = words[0]
    ticket_ref = None
    if len(words) == 2:
        second = read_ticket(words[1])
        if second is None:
            return QueryProblem.NOT_A_TICKET
        ticket_ref = second.id
    if "@" in first:
        return Query(QueryKind.EMAIL, first.lower(), ticket_ref) if _EMAIL.match(first) else QueryProblem.MALFORMED
    if is_link(first) or first.startswith("#"):
        ticket = read_ticket(first)
        if ticket is None:
            return QueryProblem.NOT_A_TICKET
        kind = QueryKind.TICKET_URL if ticket.url else QueryKind.TICKET
        return Query(kind, ticket.id, ticket_ref or ticket.id, ticket.url)
    if _IDENTIFIER.match(first):
        return Query(QueryKind.IDENTIFIER, first, ticket_ref)
    return QueryProblem.MALFORMED


def ticket_to_look_up(query: Query) -> str | None:
    """The ticket number whose customer the query may mean: a ticket, or an id that is a ticket number."""
    if query.kind in (QueryKind.TICKET, QueryKind.TICKET_URL):
        return query.value
    if query.kind is QueryKind.IDENTIFIER:
        return ticket_number(query.value)
    return None


@dataclass(frozen=True)
class CaseFile:
    customer: Customer
    authorizations: tuple[Authorization, ...]
    procedures: tuple[Procedure, ...]
    # The customer has an open escalated case: read with the case file, so that a check of a customer
    # without one (nearly every check) needs no second transaction to learn it.
    escalated: bool = False


class CaseRecords(Protocol):
    """What the lookup needs from storage."""

    def customers_by_id(self, customer_id: str) -> Sequence[Customer]:
        """The customer with this id; in another letter case only where no id matches exactly."""
        ...

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
    requester: Requester | None = None  # when found through the ticket's requester: the e-mail used, the ticket
    escalated: bool = False  # an open case when the case file was read (the case itself may change after)


@dataclass(frozen=True)
class NotFound:
    query: Query
    # The ticket's requester whose e-mail matched nobody, or why the helpdesk could not say who it is.
    requester: Requester | RequesterUnknown | None = None


@dataclass(frozen=True)
class Ambiguous:
    query: Query
    candidates: tuple[Customer, ...]
    requester: Requester | None = None


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
        escalated=case_file.escalated,
    )


def find_customers(records: CaseRecords, query: Query) -> tuple[Sequence[Customer], str | None]:
    """The customers the query names in our records, and the ticket it named if it named one.

    A ticket is found here only when a procedure names it; its requester in the helpdesk is the caller's
    next step (`check`'s `requester`), since reading the helpdesk is I/O.
    """
    if query.kind is QueryKind.EMAIL:
        return records.customers_by_email(query.value), query.ticket_ref
    if query.kind is QueryKind.IDENTIFIER:
        by_id = records.customers_by_id(query.value)
        if by_id:
            return by_id, query.ticket_ref
    ticket = ticket_to_look_up(query)
    if ticket is None:
        return [], query.ticket_ref
    return records.customers_by_ticket(ticket), query.ticket_ref or ticket


def check(
    records: CaseRecords,
    text: str,
    *,
    now: datetime,
    agent: str,
    source: str,
    requester: Requester | RequesterUnknown | None = None,
) -> CheckOutcome:
    """Look a customer up by free text and recommend one action; several matches are listed, never guessed.

    `requester` is what the helpdesk said about the ticket the query names (`ticket_to_look_up`), read
    by the caller outside the database transaction: when no customer or procedure matches, the
    customer is looked up by the requester's e-mail, and that ticket is the one the buttons post to.
    """
    query = parse_query(text)
    if isinstance(query, QueryProblem):
        return Invalid(query)
    customers, ticket_ref = find_customers(records, query)
    found_by: Requester | None = None
    if not customers and isinstance(requester, Requester):
        customers = records.customers_by_email(requester.email)
        found_by = requester
        ticket_ref = query.ticket_ref or requester.ticket_id
    if not customers:
        return NotFound(query, requester)
    if len(customers) > 1:
        return Ambiguous(query, tuple(sorted(customers, key=lambda c: c.id)), found_by)
    customer = customers[0]
    records.record_lookup(customer.id, agent=agent, at=now, source=source)
    report = build_report(records.case_file(customer.id), now, ticket_ref)
    return report if found_by is None else replace(report, requester=found_by)
