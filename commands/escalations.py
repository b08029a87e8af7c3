"""Escalations: reading the escalation form, finding the customer a message names, and the follow-up rule.

Plain Python: the database side is in `models/escalations.py`, the Slack side in `bot/features/escalations/`.
One open escalation per customer is enforced by the database, not here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from commands.check import Query, QueryProblem, Report, parse_query
from commands.pasted import clean_text, without_marks
from commands.rules import Action
from commands.tickets import Ticket, read_ticket

# Slack shows a section of at most 3000 characters; reason and note share the parent's "why" section.
MAX_REASON = 1000
MAX_NOTE = 1500
# A pasted message can be long; the first few names it holds are enough to find the customer.
MAX_REFERENCES = 20

# Slack's markup: <mailto:a@b.c|a@b.c>, <https://x|label>, <https://x>.
_SLACK_LINK = re.compile(r"<((?:mailto:|https?://)[^|>]+)(?:\|[^>]*)?>")
_TRIM = ".,;:!?()[]{}\"'*_`"
_EMAIL_IN_TEXT = re.compile(r"<mailto:[^|>]+(?:\|[^>]*)?>|[^\s@<>|]+@[^\s@<>|]+\.[A-Za-z]{2,}")


class Status(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Resolution(StrEnum):
    """Why a case was resolved; stored as this code, rendered to words in `bot/messages.py`."""

    AGENT = "agent"  # an agent clicked Resolve
    CONNECTED = "connected"  # the customer's data is flowing again


class Field(StrEnum):
    """The escalation form's inputs; also their Slack block ids."""

    CUSTOMER = "customer"
    REASON = "reason"
    TICKET = "ticket"
    NOTE = "note"


class FormProblem(StrEnum):
    NO_CUSTOMER = "no_customer"
    BAD_CUSTOMER = "bad_customer"
    UNKNOWN_CUSTOMER = "unknown_customer"
    AMBIGUOUS_CUSTOMER = "ambiguous_customer"
    NO_REASON = "no_reason"
    REASON_TOO_LONG = "reason_too_long"
    NOTE_TOO_LONG = "note_too_long"
    BAD_TICKET = "bad_ticket"


@dataclass(frozen=True)
class EscalationForm:
    """A valid submission: who the case is about (still to be looked up), why, and where it is tracked."""

    customer: Query
    reason: str
    ticket: Ticket | None
    note: str | None


@dataclass(frozen=True)
class Escalation:
    """One escalated case: a parent message in the escalation channel, everything after it in its thread."""

    id: int
    customer_id: str
    status: Status
    opened_at: datetime
    opened_by: str
    reason: str
    ticket: Ticket | None
    note: str | None
    channel: str
    summary: str  # the case as it stood when escalated (mrkdwn, e-mail masked)
    parent_ts: str | None = None
    taken_by: str | None = None
    taken_at: datetime | None = None
    resolved_by: str | None = None
    resolved_at: datetime | None = None
    resolution: Resolution | None = None

    @property
    def time_to_resolution(self) -> timedelta | None:
        return None if self.resolved_at is None else self.resolved_at - self.opened_at

    def repeats(self, form: EscalationForm, agent: str) -> bool:
        """True when `form` is the submission that opened this case, sent again (a double click)."""
        return (
            self.opened_by == agent
            and self.reason == form.reason
            and self.ticket == form.ticket
            and self.note == form.note
        )


def mask_email(email: str) -> str:
    """`h...@example.com`: enough for a colleague to recognise, not enough to copy (no `*`: Slack bolds it)."""
    local, _, domain = email.removeprefix("mailto:").rpartition("@")
    return f"{local[:1]}...@{domain}"


def mask_emails(text: str) -> str:
    """Every e-mail in free text masked, so what an agent typed can be posted in a channel."""
    return _EMAIL_IN_TEXT.sub(lambda m: mask_email(m.group(0).strip("<>").split("|", 1)[0]), without_marks(text))


def parse_ticket(text: str) -> Ticket | FormProblem | None:
    """A ticket number or link (the link is kept); None when left empty."""
    if not text.strip().strip("<>"):
        return None
    ticket = read_ticket(text)
    return FormProblem.BAD_TICKET if ticket is None else ticket


def read_form(customer: str, reason: str, ticket: str, note: str) -> EscalationForm | dict[Field, FormProblem]:
    """Check every input at once, so the modal can show all the problems together."""
    problems: dict[Field, FormProblem] = {}
    query = parse_query(customer)
    if query is QueryProblem.EMPTY:
        problems[Field.CUSTOMER] = FormProblem.NO_CUSTOMER
    elif isinstance(query, QueryProblem) or len(clean_text(customer).split()) > 1:
        problems[Field.CUSTOMER] = FormProblem.BAD_CUSTOMER
    reason = reason.strip()
    if not reason:
        problems[Field.REASON] = FormProblem.NO_REASON
    elif len(reason) > MAX_REASON:
        problems[Field.REASON] = FormProblem.REASON_TOO_LONG
    parsed_ticket = parse_ticket(ticket)
    if isinstance(parsed_ticket, FormProblem):
        problems[Field.TICKET] = parsed_ticket
    note = note.strip()
    if len(note) > MAX_NOTE:
        problems[Field.NOTE] = FormProblem.NOTE_TOO_LONG
    if problems or isinstance(query, QueryProblem) or isinstance(parsed_ticket, FormProblem):
        return problems
    # The reason and note are posted in the escalation channel: an e-mail typed into them is masked.
    return EscalationForm(query, mask_emails(reason), parsed_ticket, mask_emails(note) or None)


def _words(text: str) -> list[str]:
    text = _SLACK_LINK.sub(lambda m: " " + m.group(1).removeprefix("mailto:") + " ", text)
    words = (word.strip(_TRIM) for word in text.split())
    return [re.sub(r"['’]s$", "", word) for word in words]  # "C-1008's" names C-1008


def references_in(text: str) -> list[Query]:
    """The e-mails, ids and ticket links in a message, in order, as `/reauth-check` queries.

    Plain words are skipped: an id or a ticket number has a digit in it.
    """
    found: list[Query] = []
    for word in _words(text):
        if not word or (not any(c.isdigit() for c in word) and "@" not in word):
            continue
        query = parse_query(word)
        if isinstance(query, Query) and query not in found:
            found.append(query)
        if len(found) >= MAX_REFERENCES:
            break
    return found


def ticket_in(text: str) -> Ticket | None:
    """The first ticket link in a message."""
    for word in _words(text):
        if word.startswith(("http://", "https://")):
            ticket = parse_ticket(word)
            if isinstance(ticket, Ticket):
                return ticket
    return None


def follow_up_at(report: Report, *, escalated: bool) -> datetime | None:
    """When to check this customer again: at the end of the wait window, if anyone is waiting on it.

    Someone is waiting when the case is escalated or support already sent the customer steps.
    """
    recommendation = report.recommendation
    if recommendation.action is not Action.WAIT or recommendation.wait_until is None:
        return None
    if not escalated and not report.procedures:
        return None
    return recommendation.wait_until
