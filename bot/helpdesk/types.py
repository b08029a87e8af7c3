"""What the helpdesk package's modules share: what a post can end in, and what every helpdesk offers.

A leaf: it imports nothing of the package, so the retry policy and the clients can both build on it
without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, TypeAlias

from commands.tickets import Requester, RequesterUnknown


@dataclass(frozen=True, slots=True)
class Posted:
    """The helpdesk stored the note; ``url`` is the agent-facing link to the ticket."""

    external_id: str | None
    url: str


@dataclass(frozen=True, slots=True)
class RetryLater:
    """Not posted, but worth trying again (rate limit, server error, timeout, helpdesk unreachable).

    ``not_before`` is a UNIX time from the helpdesk's own instruction, None when it gave none.
    """

    reason: str
    not_before: float | None


@dataclass(frozen=True, slots=True)
class Rejected:
    """The helpdesk refused the note; retrying will not help until someone fixes ``what_to_check``."""

    status: int
    reason: str
    what_to_check: str


PostResult: TypeAlias = Posted | RetryLater | Rejected


class Helpdesk(Protocol):
    """A helpdesk the bot can post canned steps to."""

    name: str  # the HELPDESK setting's value: zendesk, intercom or freshdesk
    display_name: str  # as agents see it: "Zendesk"
    ticket_word: str  # what this helpdesk calls a ticket: "ticket", or Intercom's "conversation"

    def post_note(self, ticket_id: str, body: str, *, public: bool = False, marker: str | None = None) -> PostResult:
        """Post ``body`` (plain text) to the ticket: an internal note, or a customer reply if ``public``;
        ``marker`` goes with it where the helpdesk keeps such data."""
        ...

    def find_note(
        self, ticket_id: str, body: str, *, public: bool, marker: str, since: datetime
    ) -> Posted | RetryLater | None:
        """The note an earlier attempt stored (``Posted``), None if there is none, ``RetryLater`` if unreadable now."""
        ...

    def ticket_url(self, ticket_id: str) -> str:
        """The link an agent opens to see the ticket."""
        ...

    def parse_ticket_reference(self, text: str) -> str | None:
        """The ticket number in a bare number or this helpdesk's ticket link; None for anything else."""
        ...

    def close(self) -> None:
        """Release the HTTP connections the helpdesk client opened itself."""
        ...

    def ticket_requester(self, ticket_id: str) -> Requester | RequesterUnknown:
        """Who asked on the ticket (its requester's e-mail), or why the helpdesk could not say."""
        ...
