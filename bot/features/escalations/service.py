"""Threaded escalations: one parent message per escalated case, everything after it a reply in its thread.

Every post goes through the outbox in the same transaction as the change it reports, so nothing is lost
while Slack is down and nothing is posted twice; the outbox kinds are in `bot.features.escalations.posts`.

Hooks for other features (call them inside your own transaction, then `post_now` after it commits):

- `case_event(session, context, customer_id, text)`: a reply in the customer's open case thread, if any.
- `schedule_follow_up(session, customer_id, due_at, agent=...)`: re-check the customer at `due_at`; the
  result goes to the open case's thread, or to `agent` by DM.
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from bot import messages
from bot.context import BotContext, utc_now
from bot.features.escalations.posts import DM, PARENT, PARENT_UPDATE, REPLY, case_key
from bot.outbox import OutboxEntry
from commands.check import Customer, Query, QueryKind, Report, build_report, find_customers
from commands.escalations import Escalation, EscalationForm, FormProblem, Resolution, follow_up_at, mask_emails
from models import Database, audit
from models import escalations as store
from models.check import SqlCaseRecords
from models.outbox import OutboxStatus

log = logging.getLogger(__name__)

# Enough to tell a duplicate submission from a new one, short enough for the outbox's 200-character key.
_KEY_HASH = 16


@dataclass(frozen=True)
class CaseOutcome:
    """What an agent's submission or click did to a case, and the posts it queued (`post_now` delivers them).
    The subclasses only name what happened, so a listener can tell them apart."""

    case: Escalation
    entries: list[OutboxEntry] = field(default_factory=list)


class Opened(CaseOutcome):
    """A new case: its parent message is queued."""


class AlreadyOpen(CaseOutcome):
    """The customer already had an open case: the new reason is queued as a reply in its thread."""


class Repeated(CaseOutcome):
    """The same agent sent the same escalation again (a double click): nothing new to post."""


EscalateOutcome = Opened | AlreadyOpen | Repeated


class Changed(CaseOutcome):
    """This click changed the case (taken or resolved); the replies and the parent update are queued."""


@dataclass(frozen=True)
class Unchanged:
    """Someone else got there first, or there is nothing to change, so nothing is queued; `case` says where
    it stands (None when there is no such case)."""

    case: Escalation | None


CaseChange = Changed | Unchanged


@dataclass(frozen=True)
class CaseAuthorizations:
    """The authorizations of customers with an open case, before an import."""

    customers: frozenset[str]
    statuses: dict[str, tuple[str, str]]  # authorization id -> (customer id, status)


# --- the hooks other features call ------------------------------------------------------------------


def case_event(
    session: Session, context: BotContext, customer_id: str, text: str, *, key: str | None = None
) -> OutboxEntry | None:
    """Queue `text` as a reply in the customer's open case thread; None (nothing queued) without an open case.

    The reply commits with the caller's transaction. Pass `key` (stable for one event) when the caller may
    run twice for the same event; the reply is then queued once.
    """
    case = store.open_escalation_of(session, customer_id)
    if case is None:
        return None
    return _reply(session, context, case, text, key or uuid.uuid4().hex)


def schedule_follow_up(
    session: Session,
    customer_id: str,
    due_at: datetime,
    *,
    agent: str | None,
    escalation_id: int | None = None,
    at: datetime | None = None,
) -> bool:
    """Re-check the customer once `due_at` has passed; one clock per customer and due time.

    When it fires, the re-check goes to the customer's open case thread, or by DM to `agent`.
    True when this call set the clock (False: it was already set).
    """
    return store.schedule_follow_up(
        session, customer_id, due_at, at=at or utc_now(), agent=agent, escalation_id=escalation_id
    )


def post_now(context: BotContext, entries: Iterable[OutboxEntry | None]) -> None:
    """Try the queued posts at once (after the transaction that queued them committed), in order.

    What Slack refuses now stays queued for the outbox worker.
    """
    for entry in entries:
        if entry is None or entry.status is not OutboxStatus.PENDING:
            continue
        try:
            context.outbox.deliver(entry.id)
        except Exception:
            log.exception("posting outbox entry %s failed; the outbox worker will retry it", entry.id)


# --- escalating --------------------------------------------------------------------------------------


def find_customer(context: BotContext, query: Query) -> str | FormProblem:
    """The one customer the form names."""
    with context.db.reading() as session:
        customers, _ = find_customers(SqlCaseRecords(session), query)
    if not customers:
        return FormProblem.UNKNOWN_CUSTOMER
    if len(customers) > 1:
        return FormProblem.AMBIGUOUS_CUSTOMER
    return customers[0].id


def customers_named_in(context: BotContext, queries: Sequence[Query]) -> list[str]:
    """The customers a message names: by e-mail or id first; by ticket only when it names none directly."""
    found: list[Customer] = []
    with context.db.reading() as session:
        records = SqlCaseRecords(session)
        for query in queries:
            if query.kind is QueryKind.EMAIL:
                found += records.customers_by_email(query.value)
            elif query.kind is QueryKind.IDENTIFIER:
                found += records.customers_by_id(query.value)
        if not found:
            for query in queries:
                found += find_customers(records, query)[0]
    return list(dict.fromkeys(c.id for c in found))


def escalate(context: BotContext, customer_id: str, form: EscalationForm, agent: str) -> EscalateOutcome:
    """Open the customer's case, or add this escalation to the open one: one transaction, decided by INSERT."""
    channel = context.settings.escalation_channel
    if channel is None:
        raise ValueError("ESCALATION_CHANNEL is not set")
    now = context.clock()
    # Two tries: a case resolved between our INSERT and our SELECT frees the customer for a new one.
    for _ in range(2):
        with context.db.transaction() as session:
            report = build_report(SqlCaseRecords(session).case_file(customer_id), now,
                                  form.ticket.id if form.ticket else None)
            new_id = store.open_escalation(
                session, customer_id=customer_id, at=now, opened_by=agent, reason=form.reason, ticket=form.ticket,
                note=form.note, channel=channel, summary=messages.case_summary(report),
            )
            if new_id is not None:
                case = store.escalation(session, new_id)
                assert case is not None
                entries = [context.outbox.enqueue(session, PARENT, case_key(new_id, "parent"),
                                                  {"escalation_id": new_id})]
                due = follow_up_at(report, escalated=True)
                if due is not None:
                    schedule_follow_up(session, customer_id, due, agent=agent, escalation_id=new_id, at=now)
                    entries.append(_reply(session, context, case, messages.follow_up_scheduled(due), "follow_up_set"))
                audit.record(session, at=now, agent=agent, action="escalate", source="form", customer_id=customer_id,
                             detail=f"case {new_id}")
                log.info("escalation opened: id=%s customer=%s agent=%s", new_id, customer_id, agent)
                return Opened(case, entries)
            case = store.open_escalation_of(session, customer_id)
            if case is None:
                continue
            if case.repeats(form, agent):
                return Repeated(case)
            key = "again:" + _digest(agent, form.reason, form.ticket.id if form.ticket else "", form.note or "")
            entry = _reply(session, context, case, messages.case_escalated_again(agent, form), key)
            audit.record(session, at=now, agent=agent, action="escalate", source="form", customer_id=customer_id,
                         detail=f"case {case.id} (already open)")
            return AlreadyOpen(case, [entry])
    raise RuntimeError(f"could not open or find the case of {customer_id}")


def take_case(context: BotContext, escalation_id: int, agent: str) -> CaseChange:
    """Take the case (or take it over from a colleague)."""
    now = context.clock()
    with context.db.transaction() as session:
        if not store.take(session, escalation_id, agent=agent, at=now):
            return Unchanged(store.escalation(session, escalation_id))
        case = store.escalation(session, escalation_id)
        assert case is not None
        moment = f"{agent}:{now.isoformat()}"
        entries = [
            _reply(session, context, case, messages.case_taken(agent), f"taken:{moment}"),
            _update_parent(session, context, case, f"taken:{moment}"),
        ]
        audit.record(session, at=now, agent=agent, action="take", source="button", customer_id=case.customer_id,
                     detail=f"case {escalation_id}")
    log.info("escalation taken: id=%s agent=%s", escalation_id, agent)
    return Changed(case, entries)


def resolve_case(context: BotContext, escalation_id: int, agent: str) -> CaseChange:
    """Resolve the case; of several agents resolving at once, exactly one gets `Changed`."""
    now = context.clock()
    with context.db.transaction() as session:
        if not store.resolve(session, escalation_id, by=agent, at=now, resolution=Resolution.AGENT):
            return Unchanged(store.escalation(session, escalation_id))
        case = store.escalation(session, escalation_id)
        assert case is not None and case.time_to_resolution is not None
        entries = [
            _reply(session, context, case, messages.case_resolved_by(agent, case.time_to_resolution), "resolved"),
            _update_parent(session, context, case, "resolved"),
        ]
        audit.record(session, at=now, agent=agent, action="resolve", source="button", customer_id=case.customer_id,
                     detail=f"case {escalation_id}")
    log.info("escalation resolved: id=%s agent=%s", escalation_id, agent)
    return Changed(case, entries)


# --- what happens to a customer afterwards -------------------------------------------------------------


def after_check(context: BotContext, report: Report, agent: str) -> list[OutboxEntry]:
    """A `/reauth-check` answered: reply in the open case's thread, set the follow-up, resolve if connected."""
    now = report.now
    customer_id = report.customer.id
    entries: list[OutboxEntry] = []
    if not report.escalated and follow_up_at(report, escalated=False) is None:
        # Nearly every check: no open case when the lookup read the case file, and nothing to follow up.
        # A case opened since then heard of nothing older than itself, so nothing is missed.
        return entries
    with context.db.transaction() as session:
        case = store.open_escalation_of(session, customer_id)
        due = follow_up_at(report, escalated=case is not None)
        if due is not None:
            schedule_follow_up(session, customer_id, due, agent=agent, escalation_id=case.id if case else None,
                               at=now)
        if case is None:
            return entries
        text = messages.case_check_reply(report, agent, due)
        entries.append(_reply(session, context, case, text, f"check:{uuid.uuid4().hex}"))
        if report.connected:
            entries += _resolve_connected(session, context, case, report)
    post_now(context, entries)
    return entries


def fire_follow_up(context: BotContext, follow_up_id: int) -> bool:
    """Fire one due follow-up if this caller claims it; True when it did."""
    now = context.clock()
    entries: list[OutboxEntry] = []
    with context.db.transaction() as session:
        follow_up = store.claim_follow_up(session, follow_up_id, now)
        if follow_up is None:
            return False
        report = build_report(SqlCaseRecords(session).case_file(follow_up.customer_id), now)
        case = store.open_escalation_of(session, follow_up.customer_id)
        again = follow_up_at(report, escalated=case is not None)
        if again is not None and again > follow_up.due_at:  # a new authorization opened a new window
            schedule_follow_up(session, follow_up.customer_id, again, agent=follow_up.agent,
                               escalation_id=case.id if case else None, at=now)
        if case is not None:
            text = messages.follow_up_reply(report, follow_up.due_at, case.taken_by)
            entries.append(_reply(session, context, case, text, f"follow_up:{follow_up.id}"))
            if report.connected:
                entries += _resolve_connected(session, context, case, report)
        elif follow_up.agent:
            payload = {"agent": follow_up.agent, "text": messages.follow_up_dm(report, follow_up.due_at)}
            entries.append(context.outbox.enqueue(session, DM, f"follow_up:{follow_up.id}:dm", payload))
        else:
            log.info("follow-up %s fired for %s with no open case and no agent to tell", follow_up.id,
                     follow_up.customer_id)
    log.info("follow-up fired: id=%s customer=%s", follow_up.id, follow_up.customer_id)
    post_now(context, entries)
    return True


def case_authorizations(db: Database) -> CaseAuthorizations:
    """What an import is compared against: take it before the import."""
    with db.reading() as session:
        statuses = store.authorizations_of_open_cases(session)
        customers = frozenset(case.customer_id for case in store.open_escalations(session))
    return CaseAuthorizations(customers, statuses)


def tell_cases_about_import(context: BotContext, before: CaseAuthorizations) -> list[OutboxEntry]:
    """After an import: each authorization change of a customer with an open case is a reply in its thread,
    and a customer now connected has the case resolved."""
    now = context.clock()
    entries: list[OutboxEntry | None] = []
    with context.db.transaction() as session:
        after = store.authorizations_of_open_cases(session)
        for authorization_id, (customer_id, status) in sorted(after.items()):
            if customer_id not in before.customers:
                continue  # escalated during the import: its authorizations are not news
            old = before.statuses.get(authorization_id)
            if old is not None and old[1] == status:
                continue
            text = (messages.authorization_added(authorization_id, status) if old is None
                    else messages.authorization_changed(authorization_id, old[1], status))
            entries.append(case_event(session, context, customer_id, text,
                                      key=f"authorization:{authorization_id}:{status}"))
        records = SqlCaseRecords(session)
        for case in store.open_escalations(session):
            report = build_report(records.case_file(case.customer_id), now)
            if report.connected:
                entries += _resolve_connected(session, context, case, report)
    return [entry for entry in entries if entry is not None]


# --- internals --------------------------------------------------------------------------------------


def _resolve_connected(session: Session, context: BotContext, case: Escalation, report: Report) -> list[OutboxEntry]:
    if not store.resolve(session, case.id, by=None, at=report.now, resolution=Resolution.CONNECTED):
        return []
    resolved = store.escalation(session, case.id)
    assert resolved is not None and resolved.time_to_resolution is not None
    log.info("escalation resolved: id=%s customer connected", case.id)
    return [
        _reply(session, context, resolved, messages.case_connected(report, resolved.time_to_resolution), "resolved"),
        _update_parent(session, context, resolved, "resolved"),
    ]


def _reply(session: Session, context: BotContext, case: Escalation, text: str, key: str) -> OutboxEntry:
    dedupe_key = case_key(case.id, f"reply:{key if len(key) <= 100 else _digest(key)}")
    # The thread is in a channel: whatever a caller wrote, an e-mail in it is masked.
    payload = {"escalation_id": case.id, "text": mask_emails(text), "dedupe_key": dedupe_key}
    return context.outbox.enqueue(session, REPLY, dedupe_key, payload)


def _update_parent(session: Session, context: BotContext, case: Escalation, key: str) -> OutboxEntry:
    return context.outbox.enqueue(session, PARENT_UPDATE, case_key(case.id, f"update:{key}"),
                                  {"escalation_id": case.id})


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:_KEY_HASH]
