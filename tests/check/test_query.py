"""What an agent types after `/reauth-check`, read into a query or a problem to explain; plain data."""

from __future__ import annotations

import pytest

from commands.check import MAX_QUERY_LENGTH, Query, QueryKind, QueryProblem, parse_query

QUERIES: dict[str, tuple[str, Query]] = {
    "e-mail": ("alice@example.com", Query(QueryKind.EMAIL, "alice@example.com")),
    "e-mail, upper case": ("Alice.Smith@Example.COM", Query(QueryKind.EMAIL, "alice.smith@example.com")),
    "e-mail, Slack auto-link": (
        "<mailto:Alice@Example.co|Alice@Example.co>",
        Query(QueryKind.EMAIL, "alice@example.co"),
    ),
    "e-mail, Slack auto-link, lower": ("<mailto:a@b.co|a@b.co>", Query(QueryKind.EMAIL, "a@b.co")),
    "e-mail, surrounding spaces": ("  bob@example.org \n", Query(QueryKind.EMAIL, "bob@example.org")),
    "customer id": ("C-1001", Query(QueryKind.IDENTIFIER, "C-1001")),
    "numeric id": ("123456", Query(QueryKind.IDENTIFIER, "123456")),
    "id with dots and colons": ("cust.v2:77_a", Query(QueryKind.IDENTIFIER, "cust.v2:77_a")),
    "Zendesk agent URL": (
        "https://acme.zendesk.com/agent/tickets/12345",
        Query(QueryKind.TICKET_URL, "12345", "12345"),
    ),
    "Zendesk API URL": (
        "https://acme.zendesk.com/api/v2/tickets/12345.json",
        Query(QueryKind.TICKET_URL, "12345", "12345"),
    ),
    "Zendesk URL, Slack auto-link with label": (
        "<https://acme.zendesk.com/agent/tickets/12345|https://acme.zendesk.com/agent/tickets/12345>",
        Query(QueryKind.TICKET_URL, "12345", "12345"),
    ),
    "Intercom inbox URL": (
        "https://app.intercom.com/a/inbox/abc123/inbox/shared/all/conversation/215467393#part_id=comment-1",
        Query(QueryKind.TICKET_URL, "215467393", "215467393"),
    ),
    "Intercom apps URL": (
        "https://app.intercom.com/a/apps/abc123/conversations/987654321",
        Query(QueryKind.TICKET_URL, "987654321", "987654321"),
    ),
    "Freshdesk URL": (
        "<https://acme.freshdesk.com/a/tickets/4321?tab=notes>",
        Query(QueryKind.TICKET_URL, "4321", "4321"),
    ),
    "Freshdesk helpdesk URL": (
        "http://acme.freshdesk.com/helpdesk/tickets/77",
        Query(QueryKind.TICKET_URL, "77", "77"),
    ),
    "e-mail and a ticket id": (
        "alice@example.com 12345",
        Query(QueryKind.EMAIL, "alice@example.com", "12345"),
    ),
    "customer id and a ticket id": ("C-1001 98765", Query(QueryKind.IDENTIFIER, "C-1001", "98765")),
    "ticket URL and another ticket id": (
        "https://acme.zendesk.com/agent/tickets/1 2",
        Query(QueryKind.TICKET_URL, "1", "2"),
    ),
}


@pytest.mark.parametrize(("text", "expected"), list(QUERIES.values()), ids=list(QUERIES))
def test_parse_query(text: str, expected: Query) -> None:
    assert parse_query(text) == expected


def test_parse_query_second_word_ticket_url() -> None:
    query = parse_query("alice@example.com <https://acme.zendesk.com/agent/tickets/77>")
    assert isinstance(query, Query)
    assert query.kind is QueryKind.EMAIL and query.value == "alice@example.com"
    assert query.ticket_ref == "77"  # a ticket URL is read down to the ticket's id


PROBLEMS: dict[str, tuple[str, QueryProblem]] = {
    "empty": ("", QueryProblem.EMPTY),
    "blanks": (" \t\n ", QueryProblem.EMPTY),
    "4 KB of text": ("x" * 4096, QueryProblem.TOO_LONG),
    "4 KB of words": ("word " * 820, QueryProblem.TOO_LONG),
    "one over the limit": ("a" * (MAX_QUERY_LENGTH + 1), QueryProblem.TOO_LONG),
    "three words": ("alice@example.com 123 456", QueryProblem.TOO_MANY_WORDS),
    "SQL-looking text": ("'; DROP TABLE customers; --", QueryProblem.TOO_MANY_WORDS),
    "SQL-looking single word": ("';DROP", QueryProblem.MALFORMED),
    "SQL as the ticket word": ("alice@example.com ';--", QueryProblem.MALFORMED),
    "e-mail without a domain dot": ("alice@example", QueryProblem.MALFORMED),
    "two at signs": ("a@b@c.co", QueryProblem.MALFORMED),
    "URL without a ticket": ("https://acme.zendesk.com/agent/dashboard", QueryProblem.MALFORMED),
    "punctuation only": ("???", QueryProblem.MALFORMED),
    "id too long": ("a" * 101, QueryProblem.MALFORMED),
    "id with a slash": ("C/1001", QueryProblem.MALFORMED),
}


@pytest.mark.parametrize(("text", "problem"), list(PROBLEMS.values()), ids=list(PROBLEMS))
def test_parse_query_problems(text: str, problem: QueryProblem) -> None:
    assert parse_query(text) is problem


def test_parse_query_at_the_length_limit_is_read() -> None:
    email = "a" * (MAX_QUERY_LENGTH - len("@example.com")) + "@example.com"
    assert len(email) == MAX_QUERY_LENGTH
    assert parse_query(email) == Query(QueryKind.EMAIL, email)


def test_parse_query_sql_inside_an_email_is_just_text() -> None:
    # Quotes are legal in an e-mail's local part; the value only ever reaches bound parameters.
    assert parse_query("x'OR'1'='1@example.com") == Query(QueryKind.EMAIL, "x'or'1'='1@example.com")
