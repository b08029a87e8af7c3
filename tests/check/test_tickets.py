"""One ticket grammar: the check's ticket word, the escalation form and the helpdesk clients read tickets alike,
and refuse alike what is not a ticket."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.helpdesk import FreshdeskHelpdesk, HelpdeskClient, IntercomHelpdesk, ZendeskHelpdesk
from commands.check import Query, QueryKind, QueryProblem, parse_query
from commands.escalations import FormProblem, parse_ticket
from commands.tickets import MAX_TICKET_DIGITS, MAX_TICKET_LINK, Ticket, read_ticket, ticket_number

CLIENTS: dict[str, Callable[[], HelpdeskClient]] = {
    "zendesk": lambda: ZendeskHelpdesk("https://acme.zendesk.com", email="e", api_token="t"),
    "intercom": lambda: IntercomHelpdesk("https://api.intercom.io", api_token="t", admin_id="1"),
    "freshdesk": lambda: FreshdeskHelpdesk("https://acme.freshdesk.com", api_key="k"),
}

LONGEST = "9" * MAX_TICKET_DIGITS

NUMBERS: dict[str, tuple[str, str]] = {
    "number": ("4521", "4521"),
    "number after #": ("#4521", "4521"),
    "blanks around": ("  4521\t", "4521"),
    "one digit": ("7", "7"),
    "longest number": (LONGEST, LONGEST),
}


@pytest.mark.parametrize(("text", "number"), list(NUMBERS.values()), ids=list(NUMBERS))
def test_a_ticket_number_is_read_the_same_everywhere(text: str, number: str) -> None:
    assert ticket_number(text) == number
    assert read_ticket(text) == Ticket(number)
    assert parse_ticket(text) == Ticket(number)
    assert parse_query(f"C-1001 {text.strip()}") == Query(QueryKind.IDENTIFIER, "C-1001", number)
    for make in CLIENTS.values():
        with make() as client:
            assert client.parse_ticket_reference(text) == number


NOT_TICKETS: dict[str, str] = {
    "letters and digits": "ABC-12",
    "letters": "abc",
    "# alone": "#",
    "## number": "##12",
    "25 digits": "1" * 25,
    "one digit too many": "1" * (MAX_TICKET_DIGITS + 1),
    "negative": "-89",
    "decimal": "12.5",
    "NUL byte inside": "12\x0034",
    "NUL byte after": "1234\x00",
    "blank inside": "12 34",
    "tab inside": "12\t34",
    "non-breaking space inside": "12\u00a034",
    "full-width digits": "１２３",
    "Arabic-Indic digits": "١٢٣",
    "link on another path": "https://acme.zendesk.com/agent/users/123",
    "link without a path": "https://acme.zendesk.com",
    "link to a ticket named by letters": "https://acme.zendesk.com/agent/tickets/ABC-12",
    "link with a 25-digit ticket": "https://acme.zendesk.com/agent/tickets/" + "1" * 25,
    "ftp link": "ftp://acme.zendesk.com/agent/tickets/123",
    "unclosed IPv6 host": "http://[::1/tickets/12",
    "link too long": "https://acme.zendesk.com/agent/tickets/123?" + "x" * MAX_TICKET_LINK,
}


@pytest.mark.parametrize("text", list(NOT_TICKETS.values()), ids=list(NOT_TICKETS))
def test_what_is_not_a_ticket_is_refused_everywhere(text: str) -> None:
    assert ticket_number(text) is None
    assert read_ticket(text) is None
    assert parse_ticket(text) is FormProblem.BAD_TICKET
    assert isinstance(parse_query(f"C-1001 {text}"), QueryProblem)  # never handed on to a button
    for make in CLIENTS.values():
        with make() as client:
            assert client.parse_ticket_reference(text) is None


LINKS: dict[str, tuple[str, str]] = {
    "Zendesk agent link": ("https://acme.zendesk.com/agent/tickets/4521", "4521"),
    "Zendesk API link": ("https://acme.zendesk.com/api/v2/tickets/4521.json", "4521"),
    "Zendesk link, query and fragment": ("https://acme.zendesk.com/agent/tickets/4521/?via=slack#events", "4521"),
    "Intercom inbox link": ("https://app.intercom.com/a/inbox/ws42/inbox/shared/all/conversation/4521", "4521"),
    "Intercom apps link": ("https://app.intercom.com/a/apps/ws42/conversations/4521", "4521"),
    "Freshdesk link": ("https://acme.freshdesk.com/a/tickets/4521", "4521"),
    "Freshdesk portal link": ("http://acme.freshdesk.com/helpdesk/tickets/4521", "4521"),
}


@pytest.mark.parametrize(("link", "number"), list(LINKS.values()), ids=list(LINKS))
def test_a_ticket_link_is_read_to_its_number(link: str, number: str) -> None:
    assert read_ticket(link) == Ticket(number, link)
    assert read_ticket(f"<{link}|#{number}>") == Ticket(number, link)  # as Slack wraps a pasted link
    assert parse_ticket(link) == Ticket(number, link)
    assert parse_query(f"alice@example.com <{link}>") == Query(QueryKind.EMAIL, "alice@example.com", number)


def test_each_client_reads_only_links_to_its_own_helpdesk() -> None:
    # The number grammar is shared; whose host a link is on is each helpdesk's own.
    readers = {kind: make() for kind, make in CLIENTS.items()}
    try:
        found = {kind: [client.parse_ticket_reference(link) for link, _ in LINKS.values()]
                 for kind, client in readers.items()}
    finally:
        for client in readers.values():
            client.close()
    assert found == {
        "zendesk": ["4521", None, "4521", None, None, None, None],
        "intercom": [None, None, None, "4521", "4521", None, None],
        "freshdesk": [None, None, None, None, None, "4521", "4521"],
    }


def test_the_form_leaves_an_empty_ticket_empty() -> None:
    assert parse_ticket("") is None
    assert parse_ticket("  ") is None
    assert parse_ticket("<>") is None
