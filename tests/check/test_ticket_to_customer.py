"""Starting from a ticket: `/reauth-check <ticket>` asks the helpdesk who opened it and finds the customer.

The real app against the three helpdesk stand-ins, whose ticket, user and contact reads follow the
vendors' contracts (the OpenAPI subsets in tests/contracts/ where they cover the call).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from bot import messages
from bot.features.check.service import RequesterCache, cached_requester
from bot.features.post_steps.blocks import POST_NOTE_ACTION
from bot.helpdesk import HELPDESK_KINDS, Helpdesk, make_helpdesk
from bot.standins.helpdesk import FreshdeskStandIn, HelpdeskStandIn, IntercomStandIn, ZendeskStandIn
from commands.tickets import Requester, RequesterProblem, RequesterUnknown
from models import Database
from models.check import SqlCaseRecords
from models.customers import CustomerRow
from tests.clock import Clock
from tests.helpdesk.test_contracts import basic_auth, errors_of, intercom_versions, spec_path_matches
from tests.post_steps.conftest import (
    NOW,
    add_customer,
    check,
    click,
    credentials_for,
    kind_of,
    running_bot,
    standin_for,
    text_of,
)

NEW_TICKET = "7001"
ELI = "eli.novak@example.com"


@pytest.fixture(params=HELPDESK_KINDS)
def standin(request: pytest.FixtureRequest) -> Iterator[HelpdeskStandIn]:
    with standin_for(request.param, tickets=()) as running:
        yield running


def add_customer_with_email(db: Database, customer_id: str, email: str) -> None:
    add_customer(db, customer_id)
    with db.transaction() as session:
        row = session.get_one(CustomerRow, customer_id)
        row.email, row.email_key = email, email.lower()


def client_for(standin: HelpdeskStandIn) -> contextlib.closing[Helpdesk]:
    return contextlib.closing(
        make_helpdesk(kind_of(standin), base_url=standin.base_url, credentials=credentials_for(standin)))


def ticket_link(standin: HelpdeskStandIn, ticket: str) -> str:
    """The link an agent copies from the helpdesk's own page of the ticket."""
    with client_for(standin) as client:
        return client.ticket_url(ticket)


def reads(standin: HelpdeskStandIn) -> list[str]:
    return [request.path for request in standin.requests if request.method == "GET"]


def assert_reads_follow_the_contract(standin: HelpdeskStandIn) -> None:
    """Every read the bot made is the vendor's documented call, with its auth and headers."""
    gets = [request for request in standin.requests if request.method == "GET"]
    assert gets
    for request in gets:
        path, query = urlsplit(request.path).path, parse_qs(urlsplit(request.path).query)
        assert request.headers.get("accept") == "application/json"
        if isinstance(standin, ZendeskStandIn):
            assert basic_auth(request) == (f"{standin.email}/token", standin.api_token)
            if path.startswith("/api/v2/tickets/"):
                # Show Ticket, with the users sideloaded (the TicketsInclude parameter).
                assert spec_path_matches("zendesk-tickets.yaml", "/api/v2/tickets/{ticket_id}", "GET",
                                         path.removesuffix(".json"))
                assert query == {"include": ["users"]}
            else:  # Show User (developer.zendesk.com: GET /api/v2/users/{user_id})
                assert path.startswith("/api/v2/users/") and path.endswith(".json") and query == {}
        elif isinstance(standin, IntercomStandIn):
            assert request.headers["authorization"] == f"Bearer {standin.api_token}"
            assert request.headers["intercom-version"] in intercom_versions()
            if path.startswith("/conversations/"):
                assert spec_path_matches("intercom-reply.yaml", "/conversations/{conversation_id}", "GET", path)
            else:  # Retrieve a contact (developers.intercom.com: GET /contacts/{id})
                assert path.startswith("/contacts/")
            assert query == {}
        else:
            assert isinstance(standin, FreshdeskStandIn)
            assert basic_auth(request) == (standin.api_key, "X")
            # View a Ticket with the requester embedded (developers.freshdesk.com/api/#view_a_ticket).
            assert path.startswith("/api/v2/tickets/") and query == {"include": ["requester"]}


# --- a new ticket finds its customer ---------------------------------------------------------------


@pytest.mark.parametrize("form", ["link", "bare id", "#id"])
def test_a_new_ticket_finds_the_customer_through_its_requester(
    sqlite_db: Database, standin: HelpdeskStandIn, form: str
) -> None:
    add_customer_with_email(sqlite_db, "C-5001", ELI)
    standin.add_ticket_from(NEW_TICKET, "Eli.Novak@Example.com")  # helpdesks keep the case people type
    link = ticket_link(standin, NEW_TICKET)
    query = {"link": link, "bare id": NEW_TICKET, "#id": f"#{NEW_TICKET}"}[form]
    with running_bot(sqlite_db, standin, Clock(NOW)) as rig:
        answer = check(rig.bot, query)
        shown = text_of(answer)
        assert "C-5001" in shown and "Found through" in shown
        assert "Eli.Novak@Example.com" in shown  # the e-mail it looked the customer up by
        assert f"<{link}|" in shown  # and the ticket, linked
        assert "@" not in answer["text"]
        # The ticket is the one the buttons post to.
        outcome = click(rig.bot, answer, POST_NOTE_ACTION)
    assert f" {NEW_TICKET}> as an internal note" in text_of(outcome)
    assert len(standin.notes(NEW_TICKET)) == 1
    assert_reads_follow_the_contract(standin)


def test_each_helpdesk_is_read_with_as_few_calls_as_it_allows(sqlite_db: Database, standin: HelpdeskStandIn) -> None:
    add_customer_with_email(sqlite_db, "C-5001", ELI)
    requester = standin.add_ticket_from(NEW_TICKET, ELI)
    with running_bot(sqlite_db, standin, Clock(NOW)) as rig:
        check(rig.bot, NEW_TICKET)
        first = reads(standin)
        check(rig.bot, NEW_TICKET)  # a few minutes' cache: the same ticket again costs no read
    expected = {
        "zendesk": [f"/api/v2/tickets/{NEW_TICKET}.json?include=users"],
        "intercom": [f"/conversations/{NEW_TICKET}", f"/contacts/{requester.id:024x}"],
        "freshdesk": [f"/api/v2/tickets/{NEW_TICKET}?include=requester"],
    }[kind_of(standin)]
    assert first == expected
    assert reads(standin) == expected


def test_zendesk_without_the_sideload_reads_the_user(sqlite_db: Database) -> None:
    # An answer without `users` (a sideload the account does not give) still finds the requester.
    add_customer_with_email(sqlite_db, "C-5001", ELI)
    with ZendeskStandIn() as standin:
        standin.sideloads_users = False
        requester = standin.add_ticket_from(NEW_TICKET, ELI)
        with running_bot(sqlite_db, standin, Clock(NOW)) as rig:
            assert "C-5001" in text_of(check(rig.bot, NEW_TICKET))
        assert reads(standin) == [f"/api/v2/tickets/{NEW_TICKET}.json?include=users",
                                  f"/api/v2/users/{requester.id}.json"]
        assert_reads_follow_the_contract(standin)


def test_a_requester_matching_two_customers_lists_them(sqlite_db: Database, standin: HelpdeskStandIn) -> None:
    add_customer_with_email(sqlite_db, "C-5001", ELI)
    add_customer_with_email(sqlite_db, "C-5002", ELI)  # one person, two homes
    standin.add_ticket_from(NEW_TICKET, ELI)
    with running_bot(sqlite_db, standin, Clock(NOW)) as rig:
        shown = text_of(check(rig.bot, NEW_TICKET))
    assert "2 customers have the e-mail" in shown and ELI in shown
    assert "C-5001" in shown and "C-5002" in shown


def test_a_requester_matching_nobody_says_which_email_it_tried(sqlite_db: Database, standin: HelpdeskStandIn) -> None:
    standin.add_ticket_from(NEW_TICKET, "someone.else@example.com")
    with running_bot(sqlite_db, standin, Clock(NOW)) as rig:
        shown = text_of(check(rig.bot, NEW_TICKET))
    assert "someone.else@example.com" in shown and "no customer has that e-mail" in shown
    assert "Usage: `/reauth-check" in shown


def test_a_procedure_naming_the_ticket_wins_without_asking_the_helpdesk(
    sqlite_db: Database, standin: HelpdeskStandIn
) -> None:
    add_customer(sqlite_db, "C-3001", procedures_days_ago=[3])  # steps went to ticket 4000
    with running_bot(sqlite_db, standin, Clock(NOW)) as rig:
        assert "C-3001" in text_of(check(rig.bot, "4000"))
    assert standin.requests == []


# --- when the helpdesk cannot say ----------------------------------------------------------------------


def test_an_unknown_ticket_says_so_with_the_usage(sqlite_db: Database, standin: HelpdeskStandIn) -> None:
    with running_bot(sqlite_db, standin, Clock(NOW)) as rig:
        shown = text_of(check(rig.bot, "7999"))
    assert "has no ticket 7999" in shown or "has no conversation 7999" in shown
    assert "Usage: `/reauth-check" in shown


def test_wrong_credentials_say_what_to_check(sqlite_db: Database, standin: HelpdeskStandIn) -> None:
    standin.add_ticket_from(NEW_TICKET, ELI)
    with running_bot(sqlite_db, standin, Clock(NOW), wrong_credentials=True) as rig:
        shown = text_of(check(rig.bot, NEW_TICKET))
    assert "did not let the bot read" in shown and "credentials" in shown
    assert "Usage: `/reauth-check" in shown
    assert len(standin.requests) == 1  # a 401 is not retried


def test_a_helpdesk_that_does_not_answer_in_time(sqlite_db: Database, standin: HelpdeskStandIn) -> None:
    standin.add_ticket_from(NEW_TICKET, ELI)
    standin.delay_next(1.0, times=2, reads=True)
    with running_bot(sqlite_db, standin, Clock(NOW), timeout=0.2) as rig:
        acked = rig.bot.slash(NEW_TICKET)
        assert acked.status == 200 and acked.body == ""
        # Acked while the helpdesk was still being asked: the ack never waits for it.
        assert rig.bot.slack.responses(acked.response_key) == []
        shown = text_of(rig.bot.answer(acked))
    assert "did not answer in time" in shown and "Usage: `/reauth-check" in shown
    assert len(rig.sleeps) == 1  # one retry for an agent who waits, not the posting's four attempts


def test_a_helpdesk_that_is_down(sqlite_db: Database, standin: HelpdeskStandIn) -> None:
    standin.set_down()
    with running_bot(sqlite_db, standin, Clock(NOW)) as rig:
        shown = text_of(check(rig.bot, NEW_TICKET))
    assert "could not be reached" in shown and len(standin.requests) == 2


def test_no_helpdesk_configured(sqlite_db: Database) -> None:
    with running_bot(sqlite_db, None, Clock(NOW)) as rig:
        shown = text_of(check(rig.bot, NEW_TICKET))
    assert "no helpdesk is configured" in shown and "HELPDESK" in shown
    assert "Usage: `/reauth-check" in shown


def test_a_requester_without_an_email(sqlite_db: Database, standin: HelpdeskStandIn) -> None:
    standin.add_ticket_from(NEW_TICKET, None)  # a phone or chat contact
    with running_bot(sqlite_db, standin, Clock(NOW)) as rig:
        shown = text_of(check(rig.bot, NEW_TICKET))
    assert "has no e-mail address there" in shown


def test_a_link_to_another_account_is_not_looked_up_in_ours(sqlite_db: Database) -> None:
    with standin_for("zendesk", tickets=()) as standin:
        standin.add_ticket_from(NEW_TICKET, ELI)
        add_customer_with_email(sqlite_db, "C-5001", ELI)
        with running_bot(sqlite_db, standin, Clock(NOW)) as rig:
            shown = text_of(check(rig.bot, f"https://other.zendesk.com/agent/tickets/{NEW_TICKET}"))
        assert "not to the bot's Zendesk account" in shown
        assert standin.requests == []  # our ticket 7001 is someone else


# --- the pieces ----------------------------------------------------------------------------------------


def test_the_cache_keeps_answers_briefly_and_never_failures() -> None:
    now = [0.0]
    cache = RequesterCache(seconds=300, size=2, clock=lambda: now[0])
    with standin_for("freshdesk", tickets=()) as standin:
        standin.add_ticket_from("1", ELI)
        with client_for(standin) as client:
            assert isinstance(cached_requester(cache, client, "1"), Requester)
            assert isinstance(cached_requester(cache, client, "1"), Requester)
            assert len(standin.requests) == 1
            now[0] = 301.0  # expired: read again
            cached_requester(cache, client, "1")
            assert len(standin.requests) == 2
            missing = cached_requester(cache, client, "2")
            again = cached_requester(cache, client, "2")
            assert isinstance(missing, RequesterUnknown) and missing.problem is RequesterProblem.NO_TICKET
            assert again == missing and len(standin.requests) == 4  # a failure is asked again
            standin.add_ticket_from("3", "c@example.com")
            standin.add_ticket_from("4", "d@example.com")
            cached_requester(cache, client, "3")
            cached_requester(cache, client, "4")  # the oldest (ticket 1) leaves a cache of two
            before = len(standin.requests)
            cached_requester(cache, client, "1")
            assert len(standin.requests) == before + 1


def test_the_stand_ins_answer_as_the_contracts_describe() -> None:
    with ZendeskStandIn() as zendesk, IntercomStandIn() as intercom:
        zendesk.add_ticket_from("1", ELI)
        intercom.add_ticket_from("1", ELI)
        with client_for(zendesk) as client:
            assert isinstance(client.ticket_requester("1"), Requester)
        with client_for(intercom) as client:
            assert isinstance(client.ticket_requester("1"), Requester)
        # The stand-ins' answers to those very requests validate against the vendors' schemas.
        ticket = zendesk_show_ticket(zendesk)
        assert errors_of("zendesk-tickets.yaml", "TicketResponse", {"ticket": ticket["ticket"]}, request=False) == []
        conversation = intercom_conversation(intercom)
        assert errors_of("intercom-reply.yaml", "conversation", conversation, request=False) == []


def zendesk_show_ticket(standin: ZendeskStandIn) -> dict[str, object]:
    [request] = [r for r in standin.requests if "/tickets/" in r.path]
    answer = standin.answer_requester_read(request, urlsplit(request.path).path)
    assert answer is not None and answer.status == 200 and isinstance(answer.body, dict)
    users = answer.body["users"]
    assert isinstance(users, list) and users[0]["email"] == ELI
    return json.loads(json.dumps(answer.body))  # type: ignore[no-any-return]


def intercom_conversation(standin: IntercomStandIn) -> dict[str, object]:
    [request] = [r for r in standin.requests if r.path.startswith("/conversations/")]
    answer = standin.handle(request, urlsplit(request.path).path)
    assert answer is not None and answer.status == 200 and isinstance(answer.body, dict)
    return json.loads(json.dumps(answer.body))  # type: ignore[no-any-return]


# --- customer ids in either case -------------------------------------------------------------------------


def test_a_customer_id_is_found_in_either_case_and_the_exact_one_wins(db: Database) -> None:
    add_customer(db, "C-1001")
    add_customer(db, "C-7")
    add_customer(db, "c-7")
    with db.reading() as session:
        records = SqlCaseRecords(session)
        assert [c.id for c in records.customers_by_id("c-1001")] == ["C-1001"]
        assert [c.id for c in records.customers_by_id("C-1001")] == ["C-1001"]
        assert [c.id for c in records.customers_by_id("c-7")] == ["c-7"]
        assert [c.id for c in records.customers_by_id("C-7")] == ["C-7"]
        assert records.customers_by_id("c-404") == []


def test_messages_name_every_problem() -> None:
    for problem in RequesterProblem:
        text = messages.requester_unknown(RequesterUnknown("12", problem, "Zendesk"))
        assert "12" in text and messages.USAGE in text
