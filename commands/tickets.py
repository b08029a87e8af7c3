"""What a ticket reference is, for every place an agent names a ticket: the check, the escalation form, posting.

The three helpdesks number their tickets: Zendesk's ticket id is an int64, Intercom's conversation id an
integer (GET /conversations/{conversation_id}; the reply operation types it as a string holding the same
digits), Freshdesk's ticket id a number. So a reference is a ticket number, `4521` or `#4521`, or a link
whose path names the ticket (`.../tickets/4521`, `.../conversation/4521`). Which host a link must be on
is each helpdesk's own business and stays with its client in `bot/helpdesk/`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

# An unsigned 64-bit number has 20 digits: room for any id the three helpdesks hand out (Zendesk's are
# signed int64, 19 digits), and a pasted phone or card number still does not pass for a ticket.
MAX_TICKET_DIGITS = 20
# Slack allows 3000 characters in a link; a ticket's link is far shorter, anything longer is a paste error.
MAX_TICKET_LINK = 2000

# For the helpdesk clients' own link shapes, so that a number in a link follows the same grammar.
TICKET_NUMBER = rf"[0-9]{{1,{MAX_TICKET_DIGITS}}}"
_NUMBER = re.compile(TICKET_NUMBER)
_BARE_NUMBER = re.compile(rf"#?({TICKET_NUMBER})")
# The path segment after tickets/ or conversation(s)/; in a Zendesk API link it stops before ".json".
_NAMED_IN_PATH = re.compile(r"/(?:tickets?|conversations?)/([A-Za-z0-9_-]+)", re.IGNORECASE)


@dataclass(frozen=True)
class Ticket:
    """A ticket an agent named: its number, and the link when they pasted one (so a message can link it)."""

    id: str
    url: str | None = None


@dataclass(frozen=True)
class Link:
    """An http(s) link split where the ticket grammar needs it: the host (lower case) and the path."""

    host: str
    path: str  # without a trailing slash


def ticket_number(text: str) -> str | None:
    """`4521` or `#4521` (blanks around it allowed) → "4521"; anything else → None."""
    match = _BARE_NUMBER.fullmatch(text.strip())
    return match.group(1) if match else None


def read_link(text: str) -> Link | None:
    """The host and path of an http(s) link of at most MAX_TICKET_LINK characters; None for anything else."""
    text = text.strip()
    if len(text) > MAX_TICKET_LINK:
        return None
    try:
        parts = urlsplit(text)
    except ValueError:  # e.g. an unclosed IPv6 host
        return None
    if parts.scheme not in ("http", "https"):
        return None
    return Link((parts.hostname or "").lower(), parts.path.rstrip("/"))


def ticket_in_link(text: str) -> str | None:
    """The number of the ticket an http(s) link names, whatever the helpdesk; None when it names none."""
    named = named_in_link(text)
    return named if named is not None and _NUMBER.fullmatch(named) else None


def named_in_link(text: str) -> str | None:
    """What a link names after tickets/ or conversation(s)/, number or not.

    Only the check's lookup of a link reads it unchecked: procedures imported from CSV may store a
    ticket by another kind of id (`ZD-1001`), and a link to it still finds the customer.
    """
    link = read_link(text)
    match = None if link is None else _NAMED_IN_PATH.search(link.path)
    return match.group(1) if match else None


def read_ticket(text: str) -> Ticket | None:
    """A ticket number or a ticket link as an agent types or pastes it in Slack; None for anything else."""
    text = text.strip().strip("<>")  # Slack's markup: <https://x> or <https://x|label>
    number = ticket_number(text)
    if number is not None:
        return Ticket(number)
    link = text.split("|", 1)[0]
    number = ticket_in_link(link)
    return None if number is None else Ticket(number, link)
