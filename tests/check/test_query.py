"""What an agent types or pastes after `/reauth-check`, read into a query or a problem to explain; plain data."""

from __future__ import annotations

import pytest

from bot import messages
from commands.check import MAX_QUERY_LENGTH, Query, QueryKind, QueryProblem, parse_query
from commands.escalations import FormProblem

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
        Query(QueryKind.TICKET_URL, "12345", "12345", "https://acme.zendesk.com/agent/tickets/12345"),
    ),
    "Zendesk API URL": (
        "https://acme.zendesk.com/api/v2/tickets/12345.json",
        Query(QueryKind.TICKET_URL, "12345", "12345", "https://acme.zendesk.com/api/v2/tickets/12345.json"),
    ),
    "Zendesk URL, Slack auto-link with label": (
        "<https://acme.zendesk.com/agent/tickets/12345|https://acme.zendesk.com/agent/tickets/12345>",
        Query(QueryKind.TICKET_URL, "12345", "12345", "https://acme.zendesk.com/agent/tickets/12345"),
    ),
    "Intercom inbox URL": (
        "https://app.intercom.com/a/inbox/abc123/inbox/shared/all/conversation/215467393#part_id=comment-1",
        Query(QueryKind.TICKET_URL, "215467393", "215467393",
              "https://app.intercom.com/a/inbox/abc123/inbox/shared/all/conversation/215467393#part_id=comment-1"),
    ),
    "Intercom apps URL": (
        "https://app.intercom.com/a/apps/abc123/conversations/987654321",
        Query(QueryKind.TICKET_URL, "987654321", "987654321", "https://app.intercom.com/a/apps/abc123/conversations/987654321"),
    ),
    "Freshdesk URL": (
        "<https://acme.freshdesk.com/a/tickets/4321?tab=notes>",
        Query(QueryKind.TICKET_URL, "4321", "4321", "https://acme.freshdesk.com/a/tickets/4321?tab=notes"),
    ),
    "Freshdesk helpdesk URL": (
        "http://acme.freshdesk.com/helpdesk/tickets/77",
        Query(QueryKind.TICKET_URL, "77", "77", "http://acme.freshdesk.com/helpdesk/tickets/77"),
    ),
    "e-mail and a ticket id": (
        "alice@example.com 12345",
        Query(QueryKind.EMAIL, "alice@example.com", "12345"),
    ),
    "customer id and a ticket id": ("C-1001 98765", Query(QueryKind.IDENTIFIER, "C-1001", "98765")),
    "ticket URL and another ticket id": (
        "https://acme.zendesk.com/agent/tickets/1 2",
        Query(QueryKind.TICKET_URL, "1", "2", "https://acme.zendesk.com/agent/tickets/1"),
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
    "SQL as the ticket word": ("alice@example.com ';--", QueryProblem.NOT_A_TICKET),
    "e-mail without a domain dot": ("alice@example", QueryProblem.MALFORMED),
    "two at signs": ("a@b@c.co", QueryProblem.MALFORMED),
    "URL without a ticket": ("https://acme.zendesk.com/agent/dashboard", QueryProblem.NOT_A_TICKET),
    "punctuation only": ("???", QueryProblem.MALFORMED),
    "id too long": ("a" * 101, QueryProblem.MALFORMED),
    "id with a slash": ("C/1001", QueryProblem.MALFORMED),
    "a ticket word in letters": ("C-1001 ABC-12", QueryProblem.NOT_A_TICKET),
    "an incident id as the ticket": ("C-1001 INC-77", QueryProblem.NOT_A_TICKET),
    "a link to a ticket named in letters": (
        "https://acme.zendesk.com/agent/tickets/ZD-2002", QueryProblem.NOT_A_TICKET),
    "# and letters": ("#abc", QueryProblem.NOT_A_TICKET),
    "# alone": ("#", QueryProblem.NOT_A_TICKET),
    "a mention is not a customer": ("<@U0AGENT>", QueryProblem.MALFORMED),
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


ELI = Query(QueryKind.EMAIL, "eli.novak@example.com")
ZWSP, LRM, RLM, FSI, PDI, BOM, FULLWIDTH_AT = "\u200b", "\u200e", "\u200f", "\u2068", "\u2069", "\ufeff", "\uff20"
ZENDESK_LINK = "https://acme.zendesk.com/agent/tickets/4521"

# Every form agents paste (issue 12, "What agents paste"), read to what they meant.
PASTED: dict[str, tuple[str, Query]] = {
    "Slack mailto with a label of two words": ("<mailto:eli.novak@example.com|Eli Novak>", ELI),
    "Slack mailto with a label and a ticket": (
        "<mailto:eli.novak@example.com|Eli Novak> 4521", Query(QueryKind.EMAIL, "eli.novak@example.com", "4521")),
    "Slack mailto, label another address": ("<mailto:eli.novak@example.com|eli@old.example>", ELI),
    "Slack mailto, upper-case scheme": ("<MAILTO:Eli.Novak@example.com|Eli>", ELI),
    "bare mailto:": ("mailto:eli.novak@example.com", ELI),
    "trailing comma": ("eli.novak@example.com,", ELI),
    "trailing full stop": ("eli.novak@example.com.", ELI),
    "trailing parenthesis": ("eli.novak@example.com)", ELI),
    "in parentheses": ("(eli.novak@example.com)", ELI),
    "in parentheses with a full stop": ("(eli.novak@example.com).", ELI),
    "trailing semicolon and colon": ("eli.novak@example.com;:", ELI),
    "double quotes": ('"eli.novak@example.com"', ELI),
    "typographic quotes": ("“eli.novak@example.com”", ELI),
    "single quotes": ("'eli.novak@example.com'", ELI),
    "guillemets": ("«eli.novak@example.com»", ELI),
    "angle brackets": ("<eli.novak@example.com>", ELI),
    "square brackets": ("[eli.novak@example.com]", ELI),
    "zero-width space inside": (f"eli.novak{ZWSP}@example.com", ELI),
    "zero-width space before": (f"{ZWSP}eli.novak@example.com", ELI),
    "byte-order mark before": (f"{BOM}eli.novak@example.com", ELI),
    "left-to-right marks around": (f"{LRM}eli.novak@example.com{LRM}", ELI),
    "right-to-left mark after": (f"eli.novak@example.com{RLM}", ELI),
    "bidi isolate around": (f"{FSI}eli.novak@example.com{PDI}", ELI),
    "full-width at sign": (f"eli.novak{FULLWIDTH_AT}example.com", ELI),
    "full-width at sign, quoted, full stop": (f"“eli.novak{FULLWIDTH_AT}Example.com”.", ELI),
    "customer id in lower case": ("c-1001", Query(QueryKind.IDENTIFIER, "c-1001")),
    "customer id after a full stop": ("C-1001.", Query(QueryKind.IDENTIFIER, "C-1001")),
    "customer id in quotes": ("'C-1001'", Query(QueryKind.IDENTIFIER, "C-1001")),
    "ticket number with #": ("#4488", Query(QueryKind.TICKET, "4488", "4488")),
    "ticket number with # in a sentence": ("#4488.", Query(QueryKind.TICKET, "4488", "4488")),
    "ticket number with # and a zero-width space": (f"#44{ZWSP}88", Query(QueryKind.TICKET, "4488", "4488")),
    "ticket link with a label of words": (
        f"<{ZENDESK_LINK}|ticket 4521>", Query(QueryKind.TICKET_URL, "4521", "4521", ZENDESK_LINK)),
    "ticket link in parentheses": (f"({ZENDESK_LINK})", Query(QueryKind.TICKET_URL, "4521", "4521", ZENDESK_LINK)),
    "ticket link and a full stop": (f"{ZENDESK_LINK}.", Query(QueryKind.TICKET_URL, "4521", "4521", ZENDESK_LINK)),
    "second word #number, comma": ("C-1001 #4521,", Query(QueryKind.IDENTIFIER, "C-1001", "4521")),
    "second word a link with a label": (
        f"eli.novak@example.com <{ZENDESK_LINK}|Eli's ticket>",
        Query(QueryKind.EMAIL, "eli.novak@example.com", "4521")),
    "a trailing lone punctuation word": ("eli.novak@example.com .", ELI),
}


@pytest.mark.parametrize(("text", "expected"), list(PASTED.values()), ids=list(PASTED))
def test_what_agents_paste_is_read_as_what_they_meant(text: str, expected: Query) -> None:
    assert parse_query(text) == expected


def test_one_sentence_says_what_is_not_a_ticket() -> None:
    assert messages.QUERY_PROBLEMS[QueryProblem.NOT_A_TICKET] == messages.NOT_A_TICKET
    assert messages.ESCALATION_FORM_PROBLEMS[FormProblem.BAD_TICKET].startswith(messages.NOT_A_TICKET)
    assert "4521" in messages.NOT_A_TICKET and "link" in messages.NOT_A_TICKET
