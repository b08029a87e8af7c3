"""The escalation form, the customers a message names, masking, and when a follow-up is due: plain data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot import messages
from commands.check import CaseFile, Customer, EnrollmentStatus, QueryKind, Report, build_report
from commands.escalations import (
    EscalationForm,
    Field,
    FormProblem,
    follow_up_at,
    mask_emails,
    read_form,
    references_in,
    ticket_in,
)
from commands.policy import Utility
from commands.rules import Authorization, AuthorizationStatus, Procedure
from commands.tickets import Ticket

NOW = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)


def test_a_good_form_is_read_with_the_ticket_link_kept() -> None:
    form = read_form(" C-1008 ", " Still no data ", "https://acme.zendesk.com/agent/tickets/4302", "")
    assert isinstance(form, EscalationForm)
    assert (form.customer.kind, form.customer.value) == (QueryKind.IDENTIFIER, "C-1008")
    assert form.reason == "Still no data" and form.note is None
    assert form.ticket == Ticket("4302", "https://acme.zendesk.com/agent/tickets/4302")


@pytest.mark.parametrize(
    ("customer", "reason", "ticket", "note", "problems"),
    [
        ("", "why", "", "", {Field.CUSTOMER: FormProblem.NO_CUSTOMER}),
        ("C-1008 C-1009", "why", "", "", {Field.CUSTOMER: FormProblem.BAD_CUSTOMER}),
        ("not an e-mail@", "why", "", "", {Field.CUSTOMER: FormProblem.BAD_CUSTOMER}),
        ("C-1008", "  \n ", "", "", {Field.REASON: FormProblem.NO_REASON}),
        ("C-1008", "x" * 1001, "", "", {Field.REASON: FormProblem.REASON_TOO_LONG}),
        ("C-1008", "why", "two words", "", {Field.TICKET: FormProblem.BAD_TICKET}),
        ("C-1008", "why", "https://example.com/no-ticket-here", "", {Field.TICKET: FormProblem.BAD_TICKET}),
        ("C-1008", "why", "", "n" * 1501, {Field.NOTE: FormProblem.NOTE_TOO_LONG}),
        ("", "", "?", "", {Field.CUSTOMER: FormProblem.NO_CUSTOMER, Field.REASON: FormProblem.NO_REASON,
                           Field.TICKET: FormProblem.BAD_TICKET}),
    ],
)
def test_every_bad_input_is_named_at_once_with_words_that_say_what_to_do(
    customer: str, reason: str, ticket: str, note: str, problems: dict[Field, FormProblem]
) -> None:
    assert read_form(customer, reason, ticket, note) == problems
    assert all(messages.ESCALATION_FORM_PROBLEMS[p] for p in problems.values())


@pytest.mark.parametrize("ticket", ["ABC-12", "#", "1" * 25, "https://acme.zendesk.com/agent/users/4302", "43\x0002"])
def test_a_ticket_the_helpdesk_could_not_post_to_is_refused_in_the_form(ticket: str) -> None:
    assert read_form("C-1008", "why", ticket, "") == {Field.TICKET: FormProblem.BAD_TICKET}


def test_a_ticket_number_after_a_hash_is_read_as_the_number() -> None:
    form = read_form("C-1008", "why", " #4302 ", "")
    assert isinstance(form, EscalationForm)
    assert form.ticket == Ticket("4302")


def test_emails_typed_into_the_form_are_masked_before_reaching_a_channel() -> None:
    form = read_form("C-1008", "hana.sato@example.com wrote in", "", "cc <mailto:ops@acme.io|ops@acme.io>")
    assert isinstance(form, EscalationForm)
    assert form.reason == "h...@example.com wrote in" and form.note == "cc o...@acme.io"
    assert mask_emails("ping <@U0AGENT> about C-1008") == "ping <@U0AGENT> about C-1008"
    # Pasted with a full-width at sign or a zero-width space, an e-mail is still one, and still masked.
    assert mask_emails("from hana.sato\uff20example.com") == "from h...@example.com"
    assert mask_emails("from hana\u200b.sato@example.com") == "from h...@example.com"


def test_a_message_names_customers_by_email_id_and_ticket_link_in_order() -> None:
    text = ("From <mailto:Hana.Sato@example.com|Hana.Sato@example.com>: no data since C-1008's re-auth, "
            "see <https://acme.zendesk.com/agent/tickets/4302|#4302>. Thanks!")
    found = [(q.kind, q.value) for q in references_in(text)]
    assert found == [
        (QueryKind.EMAIL, "hana.sato@example.com"),
        (QueryKind.IDENTIFIER, "C-1008"),
        (QueryKind.TICKET_URL, "4302"),
    ]
    assert ticket_in(text) == Ticket("4302", "https://acme.zendesk.com/agent/tickets/4302")
    assert references_in("Can someone look at this?") == []


def _report(granted_days_ago: int, *, procedures: int = 0) -> Report:
    customer = Customer("C-1", None, None, Utility.SCE, EnrollmentStatus.PENDING, None)
    granted = NOW - timedelta(days=granted_days_ago)
    authorization = Authorization("A-1", AuthorizationStatus.PENDING, granted, "FB=1_3_4_5_13_14;")
    sent = tuple(Procedure(granted - timedelta(days=1)) for _ in range(procedures))
    return build_report(CaseFile(customer, (authorization,), sent), NOW)


def test_a_follow_up_is_due_at_the_end_of_the_wait_only_when_someone_waits_on_it() -> None:
    waiting = _report(3)
    assert follow_up_at(waiting, escalated=True) == NOW - timedelta(days=3) + timedelta(days=7)
    assert follow_up_at(waiting, escalated=False) is None
    assert follow_up_at(_report(3, procedures=1), escalated=False) is not None
    assert follow_up_at(_report(10), escalated=True) is None  # not WAIT any more


def test_durations_read_like_a_person_wrote_them() -> None:
    assert messages.duration(timedelta(days=2, hours=3, minutes=5)) == "2 days 3 hours"
    assert messages.duration(timedelta(hours=1, minutes=1)) == "1 hour 1 minute"
    assert messages.duration(timedelta(seconds=20)) == "under a minute"
