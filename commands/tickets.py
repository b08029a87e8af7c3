"""What a ticket reference is, for every place an agent names a ticket: the check, the escalation form, the
message shortcut, posting.

The three helpdesks number their tickets: Zendesk's ticket id is an int64, Intercom's conversation id an
integer (GET /conversations/{conversation_id}; the reply operation types it as a string holding the same
digits), Freshdesk's ticket id a number. So a reference is a ticket number, `4521` or `#4521`, or a link
whose path names the ticket (`.../tickets/4521`, `.../conversation/4521`). Which host a link must be on
is each helpdesk's own business and stays with its client in `bot/helpdesk/`. Anything else (`ABC-12`,
`INC-77`, a link to `/tickets/ZD-1001`) is not a ticket anywhere: one grammar, one refusal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum
from urllib.parse import urlsplit

from commands.pasted import clean_text, clean_word

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
_LINK_SCHEMES = ("http://", "https://")


@dataclass(frozen=True)
class Ticket:
    """A ticket an agent named: its number, and the link when they pasted one (so a message can link it)."""

    id: str
    url: str | None = None


@dataclass(frozen=True)
class Requester:
    """Who asked for help on a ticket, as the helpdesk says: the e-mail a customer is looked up by."""

    ticket_id: str
    email: str
    url: str  # the agent-facing link to the ticket
    helpdesk: str  # as agents see it: "Zendesk"
    ticket_word: str = "ticket"  # Intercom's "conversation"


class RequesterProblem(StrEnum):
    """Why the helpdesk could not say who asked on a ticket."""

    NO_HELPDESK = "no_helpdesk"  # HELPDESK is not set
    OTHER_HELPDESK = "other_helpdesk"  # a link to another helpdesk or account: its number means another ticket here
    NO_TICKET = "no_ticket"  # 404
    NOT_ALLOWED = "not_allowed"  # 401 or 403: the bot's credentials
    TIMED_OUT = "timed_out"
    UNAVAILABLE = "unavailable"  # rate limited, server errors or unreachable, after the retries
    NO_EMAIL = "no_email"  # the requester has no e-mail address (a phone or chat contact)
    REFUSED = "refused"  # any other answer the helpdesk gave


@dataclass(frozen=True)
class RequesterUnknown:
    ticket_id: str
    problem: RequesterProblem
    helpdesk: str = "the helpdesk"
    ticket_word: str = "ticket"


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
    link = read_link(text)
    match = None if link is None else _NAMED_IN_PATH.search(link.path)
    return match.group(1) if match and _NUMBER.fullmatch(match.group(1)) else None


def is_link(word: str) -> bool:
    return word.lower().startswith(_LINK_SCHEMES)


def read_ticket(text: str) -> Ticket | None:
    """A ticket number or a ticket link as an agent types or pastes it in Slack; None for anything else.

    What agents paste around it is dropped first (`commands.pasted`): Slack's `<link|label>`, quotes,
    brackets, a sentence's full stop, invisible marks.
    """
    word = clean_word(clean_text(text).strip())
    if not word or any(c.isspace() for c in word):
        return None
    number = ticket_number(word)
    if number is not None:
        return Ticket(number)
    number = ticket_in_link(word) if is_link(word) else None
    return None if number is None else Ticket(number, word)
