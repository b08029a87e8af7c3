"""Posting the canned steps to the helpdesk ticket: exactly once, never lost.

A click is planned by `commands.post_steps.plan_post`, claimed in the outbox by INSERT on the post's
unique key (before any HTTP call), then delivered at once. When the helpdesk client's own retries
run out, the post stays in the outbox and the outbox worker of `serve` (or `reauth-bot outbox run`)
delivers it later, under a lease, so several instances never send it twice. A delivered post records
a procedure in the same transaction that marks it delivered (`after_steps_posted`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, assert_never

from sqlalchemy.orm import Session

from bot import messages
from bot.context import BotContext
from bot.features.escalations.service import case_event, schedule_follow_up
from bot.features.post_steps.template_files import template_name
from bot.helpdesk import Posted, Rejected, RetryLater
from bot.outbox import Attempt, Delivered, Delivery, DeliveryResult, FindResult, GiveUp, Outbox, OutboxEntry, TryLater
from bot.terminal_text import mrkdwn_as_text
from commands.check import Report, build_report
from commands.policy import Utility, policy_for
from commands.post_steps import (
    CaseChanged,
    ConfirmFirst,
    EarlierSend,
    InternalOnly,
    NothingToPost,
    PostRequest,
    ReadyToPost,
    StepsPost,
    StepTemplate,
    check_back_days,
    fill_template,
    key_prefix,
    plan_post,
    step_values,
)
from commands.rules import Action
from models import audit
from models.check import SqlCaseRecords
from models.outbox import OutboxStatus
from models.post_steps import PostState, post_state, queued_posts, record_procedure

log = logging.getLogger(__name__)

OUTBOX_KIND = "helpdesk_note"
# After a refusal (401/403/404/422) the post's key is claimed again under a suffix, so that a click
# after the fix posts; a bound keeps a misconfigured bot from piling up rows.
MAX_RECLAIMS = 20
# A click on a post another click is sending waits for that outcome, so both answers agree.
IN_FLIGHT_WAIT = 20.0
_POLL_SECONDS = 0.2


# --- what the agent asked for and what came of it -------------------------------------------------


@dataclass(frozen=True)
class StepsPosted:
    ticket_id: str
    url: str
    at: datetime
    agent: str
    public: bool
    already: bool  # another click (or agent) had posted it; nothing was sent again


@dataclass(frozen=True)
class StepsQueued:
    ticket_id: str
    reason: str
    next_attempt_at: datetime
    public: bool
    already: bool


@dataclass(frozen=True)
class StepsFailed:
    ticket_id: str
    reason: str


@dataclass(frozen=True)
class NoHelpdesk:
    pass


@dataclass(frozen=True)
class BadTicket:
    text: str


@dataclass(frozen=True)
class CustomerGone:
    customer_id: str


StepsOutcome = (
    StepsPosted | StepsQueued | StepsFailed | NoHelpdesk | BadTicket | CustomerGone
    | ConfirmFirst | CaseChanged | NothingToPost | InternalOnly
)


@dataclass(frozen=True)
class StepsAnswer:
    """One click's outcome, and the case as it stands afterwards (None when the customer is gone)."""

    outcome: StepsOutcome
    report: Report | None
    click: PostRequest
    ticket_id: str | None
    helpdesk: str  # display name, "the helpdesk" when none is configured
    ticket_word: str = "ticket"


# --- the click --------------------------------------------------------------------------------------


def post_steps(context: BotContext, click: PostRequest, *, source: str = "button") -> StepsAnswer:
    """Plan, claim and deliver one click's post; never raises for what the helpdesk answers. `source` is
    where the audit trail says the post came from (the button, or the form asking for the ticket)."""
    helpdesk = context.helpdesk
    if helpdesk is None:
        return StepsAnswer(NoHelpdesk(), refresh_report(context, click.customer_id, click.ticket), click, None,
                           "the helpdesk")
    name, word = helpdesk.display_name, helpdesk.ticket_word

    def answer(outcome: StepsOutcome, report: Report | None, ticket: str | None) -> StepsAnswer:
        return StepsAnswer(outcome, report, click, ticket, name, word)

    ticket = helpdesk.parse_ticket_reference(click.ticket or "")
    if ticket is None:
        report = refresh_report(context, click.customer_id, None)
        return answer(BadTicket(click.ticket or ""), report, None)
    request = replace(click, ticket=ticket)
    with context.db.transaction() as session:
        records = SqlCaseRecords(session)
        if not records.customers_by_id(click.customer_id):
            return answer(CustomerGone(click.customer_id), None, ticket)
        report = build_report(records.case_file(click.customer_id), context.clock(), ticket)
        queued = [_earlier(state) for state in queued_posts(session, OUTBOX_KIND, key_prefix(click.customer_id))
                  if state.payload.get("public")]
        plan = plan_post(
            report,
            request,
            choose_template=lambda utility, action: choose_template(context.templates, utility, action),
            company=context.settings.company_name,
            helpdesk=helpdesk.name,
            # Plain text for the helpdesk: Slack's date tokens and entities become what a reader sees.
            reasons=" ".join(mrkdwn_as_text(messages.reason_text(r, report)) for r in report.recommendation.reasons),
            queued=queued,
        )
        if not isinstance(plan, ReadyToPost):
            return answer(plan, report, ticket)
        entry = claim(session, context.outbox, plan.post)
        if entry.created:
            audit.record(session, at=context.clock(), agent=click.agent or "", source=source,
                         action="reply_to_customer" if plan.post.public else "post_steps",
                         customer_id=click.customer_id, detail=f"ticket {ticket}")
    if entry.created:
        # The claim leased the row: it is sent now, and the case is read again in the transaction that
        # records the outcome (it sees the procedure a reply records), so a click is two transactions.
        refreshed: list[Report | None] = []
        finished = context.outbox.deliver_claimed(
            entry, plan.post.payload(),
            then=lambda session: refreshed.append(_case_now(SqlCaseRecords(session), context, click.customer_id,
                                                            ticket)))
        outcome = _outcome_of(finished, ticket, public=plan.post.public, already=False)
        log.info("steps click: customer=%s ticket=%s agent=%s key_created=True status=%s",
                 click.customer_id, ticket, click.agent, finished.status)
        return answer(outcome, refreshed[0], ticket)
    _wait_while_in_flight(context, entry.dedupe_key)
    with context.db.reading() as session:
        state = post_state(session, entry.dedupe_key)
        assert state is not None  # claimed above; outbox rows are never deleted
        report = _case_now(SqlCaseRecords(session), context, click.customer_id, ticket)
    log.info("steps click: customer=%s ticket=%s agent=%s key_created=False status=%s",
             click.customer_id, ticket, click.agent, state.status)
    return answer(_outcome(state, ticket, already=True), report, ticket)


def post_escalation_note(context: BotContext, customer_id: str, ticket: str, agent: str) -> StepsAnswer:
    """The escalation form's "add an internal note to the ticket": the escalation template, for the team only."""
    return post_steps(context, PostRequest(customer_id, ticket, Action.ESCALATE, public=False, agent=agent))


def claim(session: Session, outbox: Outbox, post: StepsPost) -> OutboxEntry:
    """Claim the post's key by INSERT (leased to this instance when created, for `Outbox.deliver_claimed`);
    a key whose post was refused is claimed again under a suffix."""
    entry = outbox.claim(session, OUTBOX_KIND, post.dedupe_key, post.payload())
    for attempt in range(1, MAX_RECLAIMS + 1):
        if entry.created or entry.status is not OutboxStatus.FAILED:
            return entry
        entry = outbox.claim(session, OUTBOX_KIND, f"{post.dedupe_key}|r{attempt}", post.payload())
    return entry


def choose_template(templates: Mapping[str, StepTemplate], utility: Utility, action: Action) -> StepTemplate:
    return templates[template_name(utility.value, action.value)]


def refresh_report(context: BotContext, customer_id: str, ticket_ref: str | None) -> Report | None:
    """The case as it stands now, for the updated answer (not an agent's lookup: no audit row)."""
    with context.db.reading() as session:
        return _case_now(SqlCaseRecords(session), context, customer_id, ticket_ref)


def _case_now(records: SqlCaseRecords, context: BotContext, customer_id: str, ticket_ref: str | None) -> Report | None:
    if not records.customers_by_id(customer_id):
        return None
    return build_report(records.case_file(customer_id), context.clock(), ticket_ref)


def _wait_while_in_flight(context: BotContext, dedupe_key: str) -> None:
    deadline = time.monotonic() + IN_FLIGHT_WAIT
    while time.monotonic() < deadline:
        with context.db.reading() as session:
            state = post_state(session, dedupe_key)
        # attempts == 0: the click that claimed it has not started sending yet.
        if state is None or state.status is not OutboxStatus.PENDING or not (state.leased or state.attempts == 0):
            return
        time.sleep(_POLL_SECONDS)


def _earlier(state: PostState) -> EarlierSend:
    payload = state.payload
    return EarlierSend(state.created_at, payload.get("agent"), payload.get("ticket_id"), queued=True,
                       dedupe_key=state.dedupe_key)


def _outcome(state: PostState, ticket: str, *, already: bool) -> StepsOutcome:
    return _outcome_of(state, ticket, public=bool(state.payload.get("public")), already=already)


def _outcome_of(state: PostState | OutboxEntry, ticket: str, *, public: bool, already: bool) -> StepsOutcome:
    if state.status is OutboxStatus.DELIVERED and state.result is not None:
        return StepsPosted(
            ticket_id=str(state.result.get("ticket_id", ticket)),
            url=str(state.result.get("url", "")),
            at=datetime.fromisoformat(str(state.result["posted_at"])),
            agent=str(state.result.get("agent", "")),
            public=public,
            already=already,
        )
    if state.status is OutboxStatus.FAILED:
        return StepsFailed(ticket, state.last_error or "the helpdesk refused the post")
    reason = state.last_error or messages.STEPS_IN_FLIGHT
    return StepsQueued(ticket, reason, state.next_attempt_at, public, already)


# --- the delivery -----------------------------------------------------------------------------------


def steps_delivery(context: BotContext) -> Delivery:
    """How the outbox sends a post, and what a delivered post records."""

    def posted(post: StepsPost, result: Posted) -> Delivered:
        return Delivered({
            "url": result.url, "external_id": result.external_id, "posted_at": context.clock().isoformat(),
            "agent": post.agent, "ticket_id": post.ticket_id, "public": post.public,
        })

    def send(attempt: Attempt) -> DeliveryResult:
        post = StepsPost.from_payload(attempt.payload)
        helpdesk = context.helpdesk
        if helpdesk is None:
            return TryLater("no helpdesk is configured (HELPDESK setting)")
        if helpdesk.name != post.helpdesk:
            return GiveUp(f"this post was for {post.helpdesk}, but the bot now posts to {helpdesk.name}")
        try:
            result = helpdesk.post_note(post.ticket_id, post.body, public=post.public, marker=attempt.dedupe_key)
        except ValueError as exc:  # not a ticket number, or an empty body: retrying cannot help
            return GiveUp(str(exc))
        match result:
            case Posted():
                return posted(post, result)
            case RetryLater():
                return TryLater(result.reason, _not_before(context, result.not_before))
            case Rejected():
                return GiveUp(f"{result.reason}. {result.what_to_check}.")
            case _:
                assert_never(result)

    def find(attempt: Attempt) -> FindResult:
        post = StepsPost.from_payload(attempt.payload)
        helpdesk = context.helpdesk
        if helpdesk is None or helpdesk.name != post.helpdesk:
            return None  # send() says why it cannot post
        found = helpdesk.find_note(post.ticket_id, post.body, public=post.public, marker=attempt.dedupe_key,
                                   since=attempt.queued_at)
        match found:
            case Posted():
                return posted(post, found)
            case RetryLater():
                return TryLater(f"could not check whether an earlier attempt posted: {found.reason}",
                                _not_before(context, found.not_before))
            case None:
                return None
            case _:
                assert_never(found)

    def on_delivered(session: Session, payload: dict[str, Any], delivered: Delivered) -> None:
        after_steps_posted(session, context, StepsPost.from_payload(payload), delivered.result)

    return Delivery(send=send, find=find, on_delivered=on_delivered)


def after_steps_posted(session: Session, context: BotContext, post: StepsPost, result: Mapping[str, Any]) -> None:
    """Everything a delivered post records, inside the transaction that marks it delivered.

    A reply the customer sees is a procedure (customer, ticket, agent, time, template), so the next
    /reauth-check counts it (rules 3 and 7), the guardrail warns before a second one and the bot looks
    again once the utility's window has passed. An internal note is none of that: the case thread hears
    of it, and the agent's "I sent them myself" (`record_sent_by_agent`) is what turns it into one.
    """
    sent_at = datetime.fromisoformat(str(result["posted_at"]))
    recorded = False
    if post.public:
        recorded = record_procedure(
            session, customer_id=post.customer_id, sent_at=sent_at, ticket_id=post.ticket_id, agent=post.agent,
            template=post.template,
        )
    log.info("steps posted: customer=%s ticket=%s template=%s agent=%s public=%s procedure_recorded=%s",
             post.customer_id, post.ticket_id, post.template, post.agent, post.public, recorded)
    text = messages.case_steps_posted(post.helpdesk, post.ticket_id, str(result.get("url") or ""), post.agent,
                                      post.public)
    case_event(session, context, post.customer_id, text, key=f"steps:{post.dedupe_key}")
    if post.public:  # the bot looks again on the day the customer was told to
        wait = timedelta(days=check_back_days(Utility(post.utility), Action(post.action)))
        schedule_follow_up(session, post.customer_id, sent_at + wait, agent=post.agent, at=context.clock())


def record_sent_by_agent(
    context: BotContext, *, customer_id: str, ticket_id: str, action: Action, note_at: datetime, agent: str
) -> Report | None:
    """"I sent them myself" under an internal note: the agent sent its steps to the customer, so they are a
    procedure now. Recorded at the note's time, so two clicks (or two agents) record one; None when the
    customer is gone."""
    with context.db.transaction() as session:
        records = SqlCaseRecords(session)
        if not records.customers_by_id(customer_id):
            return None
        utility = records.customers_by_id(customer_id)[0].utility
        recorded = record_procedure(session, customer_id=customer_id, sent_at=note_at, ticket_id=ticket_id,
                                    agent=agent, template=template_name(utility.value, action.value))
        log.info("steps sent by the agent: customer=%s ticket=%s agent=%s procedure_recorded=%s",
                 customer_id, ticket_id, agent, recorded)
        if recorded:
            case_event(session, context, customer_id, messages.case_steps_sent_by_agent(ticket_id, agent),
                       key=f"sent_myself:{customer_id}:{ticket_id}:{note_at.isoformat()}")
            wait = timedelta(days=policy_for(utility).wait_days)
            schedule_follow_up(session, customer_id, note_at + wait, agent=agent, at=context.clock())
    return refresh_report(context, customer_id, ticket_id)


def preview_steps(context: BotContext, click: PostRequest) -> str | None:
    """The exact text a reply would carry, for the confirmation; None when there is nothing to send."""
    report = refresh_report(context, click.customer_id, click.ticket)
    if report is None or report.recommendation.action is not click.action:
        return None
    template = choose_template(context.templates, report.customer.utility, click.action)
    values = step_values(report, company=context.settings.company_name, ticket_id=click.ticket or "",
                         reasons="")
    return fill_template(template, values)


def _not_before(context: BotContext, unix_time: float | None) -> datetime | None:
    # The helpdesk client measures in wall-clock UNIX time; the outbox runs on the context's clock.
    if unix_time is None:
        return None
    return context.clock() + timedelta(seconds=max(0.0, unix_time - time.time()))
