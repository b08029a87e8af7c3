"""The real app (LocalBot, signed requests) against a helpdesk stand-in, with a clock the test moves."""

from __future__ import annotations

import contextlib
import json
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import jsonschema
from slack_bolt import App
from sqlalchemy import select

from bot.app import build_context, create_app
from bot.context import BotContext
from bot.demo.harness import LocalBot
from bot.features.post_steps.blocks import POST_REPLY_ACTION
from bot.features.post_steps.service import OUTBOX_KIND
from bot.helpdesk import Helpdesk, RetryPolicy
from bot.settings import Settings
from bot.standins.helpdesk import (
    FreshdeskStandIn,
    HelpdeskStandIn,
    IntercomStandIn,
    RecordedRequest,
    ZendeskStandIn,
)
from bot.standins.slack_api import SlackStandIn
from models import Database
from models.customers import AuthorizationRow, CustomerRow, ProcedureRow
from models.outbox import OutboxRow
from tests.clock import Clock
from tests.helpdesk.test_contracts import (
    FRESHDESK_NOTE_SCHEMA,
    FRESHDESK_REPLY_SCHEMA,
    basic_auth,
    errors_of,
    intercom_versions,
    spec_path_matches,
)

NOW = datetime(2026, 11, 30, 17, 0, tzinfo=UTC)
TICKET = "4521"
FULL_SCOPE = "FB=1_3_4_5_13_14;IntervalDuration=900_3600;BlockDuration=daily;HistoryLength=63072000;"
# The backoff a policy with rng() = 0.5 waits after a first failure without a server instruction.
BACKOFF_AFTER_FIRST = 0.25


def standin_for(kind: str, tickets: Sequence[str] = (TICKET,)) -> HelpdeskStandIn:
    classes: dict[str, type[HelpdeskStandIn]] = {
        "zendesk": ZendeskStandIn, "intercom": IntercomStandIn, "freshdesk": FreshdeskStandIn,
    }
    return classes[kind](tickets=tickets)


def credentials_for(standin: HelpdeskStandIn, *, wrong: bool = False) -> dict[str, str]:
    token = "wrong-token" if wrong else None
    if isinstance(standin, ZendeskStandIn):
        return {"HELPDESK_EMAIL": standin.email, "HELPDESK_API_TOKEN": token or standin.api_token}
    if isinstance(standin, IntercomStandIn):
        return {"HELPDESK_API_TOKEN": token or standin.api_token, "HELPDESK_ADMIN_ID": standin.admin_id}
    assert isinstance(standin, FreshdeskStandIn)
    return {"HELPDESK_API_KEY": token or standin.api_key}


def kind_of(standin: HelpdeskStandIn) -> str:
    return type(standin).__name__.removesuffix("StandIn").lower()


def helpdesk_settings(standin: HelpdeskStandIn, *, wrong_credentials: bool = False) -> Settings:
    """The settings an operator would write for this helpdesk (HELPDESK, HELPDESK_URL, credentials)."""
    return Settings(
        helpdesk=kind_of(standin),
        helpdesk_url=standin.base_url,
        helpdesk_credentials=credentials_for(standin, wrong=wrong_credentials),
    )


@dataclass
class Rig:
    bot: LocalBot
    context: BotContext
    standin: HelpdeskStandIn | None
    clock: Clock
    sleeps: list[float] = field(default_factory=list)  # what the helpdesk client's retries waited


@contextlib.contextmanager
def running_bot(
    db: Database,
    standin: HelpdeskStandIn | None,
    clock: Clock,
    *,
    wrong_credentials: bool = False,
    timeout: float | None = None,
    slack: SlackStandIn | None = None,
) -> Iterator[Rig]:
    """The real app on 127.0.0.1, configured for `standin` through its settings; retries never really wait."""
    sleeps: list[float] = []
    policy = RetryPolicy(sleep=sleeps.append, rng=lambda: 0.5)
    contexts: list[BotContext] = []

    def factory(settings: Settings, database: Database, app_clock: Any) -> App:
        helpdesk: Helpdesk | None = None
        if standin is not None and timeout is not None:
            from bot.helpdesk import make_helpdesk

            helpdesk = make_helpdesk(
                kind_of(standin), base_url=standin.base_url, credentials=settings.helpdesk_credentials,
                policy=policy, client=httpx.Client(timeout=timeout, trust_env=False),
            )
        context = build_context(settings, db=database, clock=app_clock, helpdesk=helpdesk, retry_policy=policy)
        contexts.append(context)
        return create_app(settings, context=context)

    settings = helpdesk_settings(standin, wrong_credentials=wrong_credentials) if standin else Settings()
    with LocalBot(db, clock=clock, settings=settings, slack=slack, app_factory=factory) as bot:
        try:
            yield Rig(bot, contexts[0], standin, clock, sleeps)
        finally:
            if contexts[0].helpdesk is not None:
                contexts[0].helpdesk.close()


# --- the customers ---------------------------------------------------------------------------------


def add_customer(
    db: Database,
    customer_id: str,
    *,
    now: datetime = NOW,
    utility: str = "SCE",
    granted_days_ago: Sequence[float] = (20, 10),
    procedures_days_ago: Sequence[float] = (),
    connected: bool = False,
) -> None:
    """A customer with live authorizations granted that many days ago and steps sent that many days ago."""
    with db.transaction() as session:
        session.add(CustomerRow(
            id=customer_id, email=f"{customer_id.lower()}@example.com", email_key=f"{customer_id.lower()}@example.com",
            name=None, utility=utility, enrollment_status="verified" if connected else "pending",
            last_data_at=now - timedelta(hours=3) if connected else None,
        ))
        session.flush()
        for number, days in enumerate(granted_days_ago):
            session.add(AuthorizationRow(
                id=f"A-{customer_id}-{number}", customer_id=customer_id, status="active",
                granted_at=now - timedelta(days=days), scope=FULL_SCOPE,
            ))
        for days in procedures_days_ago:
            session.add(ProcedureRow(customer_id=customer_id, sent_at=now - timedelta(days=days), ticket_id="4000",
                                     agent="U0EARLIER", template="sce_reauth"))


def procedures(db: Database, customer_id: str) -> list[ProcedureRow]:
    with db.sessions() as session:
        return list(session.scalars(
            select(ProcedureRow).where(ProcedureRow.customer_id == customer_id).order_by(ProcedureRow.sent_at)
        ))


def posts(db: Database) -> list[OutboxRow]:
    with db.sessions() as session:
        return list(session.scalars(select(OutboxRow).where(OutboxRow.kind == OUTBOX_KIND).order_by(OutboxRow.id)))


# --- Slack, as the agent uses it ----------------------------------------------------------------------


def check(bot: LocalBot, text: str, *, user: str = "U0AGENT") -> dict[str, Any]:
    acked = bot.slash(text, user_id=user)
    assert acked.status == 200, acked.body
    return bot.answer(acked)


def button(answer: dict[str, Any], action_id: str) -> dict[str, Any]:
    for block in answer.get("blocks") or []:
        for element in [*(block.get("elements") or []), block.get("accessory")]:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return element
    raise AssertionError(f"no button {action_id} in {json.dumps(answer.get('blocks'))[:2000]}")


def has_button(answer: dict[str, Any], action_id: str) -> bool:
    try:
        button(answer, action_id)
    except AssertionError:
        return False
    return True


def click(
    bot: LocalBot, answer: dict[str, Any], action_id: str, *, user: str = "U0AGENT", timeout: float = 20.0
) -> dict[str, Any]:
    """Click a button of `answer` through a signed block_actions request; the answer it leaves in place."""
    key = send_click(bot, answer, action_id, user=user)
    return bot.slack.wait_for_responses(key, 1, timeout)[0]


def send_click(bot: LocalBot, answer: dict[str, Any], action_id: str, *, user: str = "U0AGENT") -> str:
    key = f"click-{uuid.uuid4().hex[:10]}"
    request = bot.requests.block_actions(
        action_id=action_id, value=button(answer, action_id)["value"], user_id=user,
        response_url=bot.slack.response_url(key),
    )
    response = bot.send(request)
    assert response.status_code == 200, response.text
    assert response.text == ""  # acked at once, empty: the outcome comes on response_url
    return key


def text_of(answer: dict[str, Any]) -> str:
    return json.dumps(answer.get("blocks") or answer.get("text"))


# --- the helpdesks' contracts ------------------------------------------------------------------------


def assert_requests_follow_the_contract(standin: HelpdeskStandIn) -> None:
    """Every request the stand-in received conforms to the vendor's contract (tests/contracts/)."""
    assert standin.requests
    for request in standin.reads():
        assert_read_follows_the_contract(standin, request)
    for request in standin.posts():
        assert request.headers["content-type"] == "application/json"
        if isinstance(standin, ZendeskStandIn):
            assert request.method == "PUT" and request.path.endswith(".json")
            assert spec_path_matches("zendesk-tickets.yaml", "/api/v2/tickets/{ticket_id}", request.method,
                                     request.path.removesuffix(".json"))
            assert basic_auth(request) == (f"{standin.email}/token", standin.api_token)
            assert errors_of("zendesk-tickets.yaml", "TicketUpdateRequest", request.json) == []
            assert isinstance(request.json, dict) and set(request.json["ticket"]["comment"]) == {"body", "public"}
            # The outbox key rides in the audit's custom metadata (TicketObject.metadata, write-only).
            assert set(request.json["ticket"]["metadata"]) == {"reauth_bot_outbox_key"}
        elif isinstance(standin, IntercomStandIn):
            assert spec_path_matches("intercom-reply.yaml", "/conversations/{conversation_id}/reply",
                                     request.method, request.path)
            assert request.headers["authorization"] == f"Bearer {standin.api_token}"
            assert request.headers["intercom-version"] in intercom_versions()
            assert errors_of("intercom-reply.yaml", "reply_conversation_request", request.json) == []
            assert errors_of("intercom-reply.yaml", "admin_reply_conversation_request", request.json) == []
        else:
            assert isinstance(standin, FreshdeskStandIn)
            assert basic_auth(request) == (standin.api_key, "X")
            assert request.method == "POST"
            schema = FRESHDESK_NOTE_SCHEMA if request.path.endswith("/notes") else FRESHDESK_REPLY_SCHEMA
            assert request.path in (f"/api/v2/tickets/{TICKET}/notes", f"/api/v2/tickets/{TICKET}/reply")
            assert list(jsonschema.Draft202012Validator(schema).iter_errors(request.json)) == []


def send_to_customer(
    bot: LocalBot, answer: dict[str, Any], *, user: str = "U0AGENT", ticket: str | None = None, timeout: float = 20.0,
    action_id: str = POST_REPLY_ACTION,
) -> dict[str, Any]:
    """The primary button: its modal shows the exact reply and the ticket; submitting it sends the reply.
    Returns the answer left in place (the modal is in `bot.slack.calls_to("views.open")`)."""
    key = f"send-{uuid.uuid4().hex[:10]}"
    opened_before = len(bot.slack.calls_to("views.open"))
    request = bot.requests.block_actions(
        action_id=action_id, value=button(answer, action_id)["value"], user_id=user,
        response_url=bot.slack.response_url(key),
    )
    assert bot.send(request).status_code == 200
    opened = bot.slack.wait_for("views.open", opened_before + 1, timeout)[-1]
    view = opened.args["view"]
    view = json.loads(view) if isinstance(view, str) else view
    field = next(b for b in view["blocks"] if b.get("block_id") == "ticket")
    typed = ticket if ticket is not None else field["element"].get("initial_value") or ""
    values = {"ticket": {"value": {"type": "plain_text_input", "value": typed}}}
    response = bot.send(bot.requests.view_submission(view=view, state_values=values, user_id=user))
    assert response.status_code == 200 and response.text == "", response.text
    return bot.slack.wait_for_responses(key, 1, timeout)[0]

def assert_read_follows_the_contract(standin: HelpdeskStandIn, request: RecordedRequest) -> None:
    """A read-back is a GET of the vendor's documented endpoint, with the same auth as the posts."""
    path = urlsplit(request.path).path
    assert request.method == "GET" and request.json is None
    if isinstance(standin, ZendeskStandIn):
        # List Audits for a Ticket (not in the spec subset): cursor pagination, 100 a page at most.
        assert path == f"/api/v2/tickets/{TICKET}/audits.json"
        assert basic_auth(request) == (f"{standin.email}/token", standin.api_token)
    elif isinstance(standin, IntercomStandIn):
        assert spec_path_matches("intercom-reply.yaml", "/conversations/{conversation_id}", "GET", path)
        assert request.headers["authorization"] == f"Bearer {standin.api_token}"
        assert request.headers["intercom-version"] in intercom_versions()
    else:
        assert isinstance(standin, FreshdeskStandIn)
        assert path == f"/api/v2/tickets/{TICKET}/conversations"
        assert basic_auth(request) == (standin.api_key, "X")
