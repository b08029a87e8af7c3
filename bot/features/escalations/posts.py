"""The escalation's Slack posts as outbox kinds: the parent, replies in its thread, parent updates, DMs.

A reply or an update whose parent has no `ts` yet waits (TryLater) until the parent is posted; the parent's
delivery stores `ts` in the same transaction that marks it delivered, and wakes the replies waiting on it.
Replies of one thread are posted in the order they were queued. Slack's 429s are waited out by the client's
`RateLimitErrorRetryHandler`; anything else Slack refuses for now is retried later by the outbox.

Every post carries message metadata naming its outbox row, so an attempt after one that may have reached Slack
(a crash, a timeout) first looks for it: the channel's history for a parent, the thread for a reply, the DM
channel for a DM (`include_all_metadata`). Parent updates need no look: `chat.update` of a known ts is the same
however often it is made.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.web import SlackResponse
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from bot.context import BotContext
from bot.features.escalations.blocks import parent_message
from bot.outbox import Attempt, Delivered, Delivery, DeliveryResult, FindResult, GiveUp, TryLater
from commands.escalations import Escalation
from commands.policy import Utility
from models import escalations as store
from models.customers import CustomerRow
from models.outbox import OutboxRow, OutboxStatus

log = logging.getLogger(__name__)

PARENT = "escalation_parent"
REPLY = "escalation_reply"
PARENT_UPDATE = "escalation_update"
DM = "follow_up_dm"

# Errors no retry can fix: the message itself is wrong, or the parent is gone. Everything else (not in the
# channel, channel archived, token revoked, rate limits, outages) can be fixed or passes, so it is retried.
PERMANENT_ERRORS = frozenset({
    "invalid_arguments", "invalid_blocks", "invalid_blocks_format", "msg_too_long", "no_text",
    "thread_not_found", "message_not_found", "cant_update_message", "edit_window_closed",
})
# Errors an operator must fix (the posts wait for it meanwhile): said loudly, since retrying alone won't help.
SETUP_ERRORS = frozenset({
    "channel_not_found", "not_in_channel", "is_archived", "invalid_auth", "not_authed", "account_inactive",
    "token_revoked", "missing_scope",
})

# The metadata event type of every outbox post; its payload names the row (`outbox_key`).
METADATA_TYPE = "reauth_bot_outbox"
# Slack's clock and ours differ: look this far before the row was queued.
CLOCK_SKEW = timedelta(minutes=5)
# History pages read when looking for an earlier attempt's post (200 messages each).
MAX_PAGES = 10
# Reading history can be refused for good (scope, channel): then the bot sends, as it would without a look.
NO_HISTORY_ACCESS = frozenset({"missing_scope", "not_in_channel", "channel_not_found", "not_allowed_token_type"})

# Why a post about a case cannot go out yet: its parent message is still to be posted, or never will be.
Blocked = Literal["waiting", "failed"]


def case_key(escalation_id: int, what: str) -> str:
    """The outbox dedupe key of one post about a case; replies share the prefix `escalation:{id}:reply:`."""
    return f"escalation:{escalation_id}:{what}"


def escalation_deliveries(context: BotContext, client: WebClient) -> dict[str, Delivery]:
    """The four outbox kinds of escalations, for `bot.app.outbox_deliveries`."""

    def load(escalation_id: int) -> tuple[Escalation | None, Blocked | None]:
        """The case, and why it cannot be posted about yet (None: go ahead)."""
        with context.db.reading() as session:
            case = store.escalation(session, escalation_id)
            if case is None or case.parent_ts is not None:
                return case, None
            parent = session.scalar(
                select(OutboxRow.status).where(OutboxRow.dedupe_key == case_key(escalation_id, "parent"))
            )
        return case, "failed" if parent == OutboxStatus.FAILED else "waiting"

    def wait_or_give_up(escalation_id: int, state: Blocked) -> DeliveryResult:
        if state == "failed":
            return GiveUp(f"the parent message of case {escalation_id} was never posted")
        return TryLater(f"waiting for the parent message of case {escalation_id}")

    def utility_of(case: Escalation) -> str | None:
        """The customer's utility, for the parent's header (None when the customer is gone)."""
        with context.db.reading() as session:
            customer = session.get(CustomerRow, case.customer_id)
        return Utility(customer.utility).display_name if customer is not None else None

    def send_parent(attempt: Attempt) -> DeliveryResult:
        with context.db.reading() as session:
            case = store.escalation(session, int(attempt.payload["escalation_id"]))
        if case is None:
            return GiveUp("the case no longer exists")
        if case.parent_ts is not None:
            return Delivered({"channel": case.channel, "ts": case.parent_ts})
        # Rendered from the case as it is now: a case taken or resolved while Slack was down shows so.
        message = parent_message(case, utility_of(case))
        return _call(lambda: client.chat_postMessage(channel=case.channel, metadata=outbox_metadata(attempt),
                                                     **message),
                     lambda r: {"channel": r["channel"], "ts": r["ts"]})

    def find_parent(attempt: Attempt) -> FindResult:
        with context.db.reading() as session:
            case = store.escalation(session, int(attempt.payload["escalation_id"]))
        if case is None or case.parent_ts is not None:
            return None  # send_parent answers from the case itself
        channel = case.channel
        return find_post(attempt, channel, lambda cursor: client.conversations_history(
            channel=channel, limit=200, include_all_metadata=True, cursor=cursor))

    def parent_posted(session: Session, payload: dict[str, Any], outcome: Delivered) -> None:
        escalation_id = int(payload["escalation_id"])
        store.record_parent(session, escalation_id, str(outcome.result["ts"]))
        _wake(session, escalation_id)

    def send_reply(attempt: Attempt) -> DeliveryResult:
        payload = attempt.payload
        escalation_id = int(payload["escalation_id"])
        case, blocked = load(escalation_id)
        if case is None:
            return GiveUp("the case no longer exists")
        if blocked is not None:
            return wait_or_give_up(escalation_id, blocked)
        if _earlier_reply_pending(context, escalation_id, str(payload["dedupe_key"])):
            return TryLater("waiting for an earlier reply in the same thread")
        return _call(lambda: client.chat_postMessage(channel=case.channel, thread_ts=case.parent_ts,
                                                     text=str(payload["text"]), metadata=outbox_metadata(attempt)),
                     lambda r: {"channel": r["channel"], "ts": r["ts"]})

    def find_reply(attempt: Attempt) -> FindResult:
        case, blocked = load(int(attempt.payload["escalation_id"]))
        if case is None or blocked is not None or case.parent_ts is None:
            return None  # no thread yet: nothing can have been posted in it
        channel, parent_ts = case.channel, case.parent_ts
        return find_post(attempt, channel, lambda cursor: client.conversations_replies(
            channel=channel, ts=parent_ts, limit=200, include_all_metadata=True, cursor=cursor))

    def reply_posted(session: Session, payload: dict[str, Any], outcome: Delivered) -> None:
        _wake(session, int(payload["escalation_id"]))

    def send_update(attempt: Attempt) -> DeliveryResult:
        escalation_id = int(attempt.payload["escalation_id"])
        case, blocked = load(escalation_id)
        if case is None:
            return GiveUp("the case no longer exists")
        if blocked is not None or case.parent_ts is None:
            return wait_or_give_up(escalation_id, blocked or "waiting")
        ts, message = case.parent_ts, parent_message(case, utility_of(case))
        return _call(lambda: client.chat_update(channel=case.channel, ts=ts, **message),
                     lambda r: {"ts": r["ts"]})

    def send_dm(attempt: Attempt) -> DeliveryResult:
        def post() -> SlackResponse:
            opened = client.conversations_open(users=str(attempt.payload["agent"]))
            return client.chat_postMessage(channel=opened["channel"]["id"], text=str(attempt.payload["text"]),
                                           metadata=outbox_metadata(attempt))

        return _call(post, lambda r: {"channel": r["channel"], "ts": r["ts"]})

    def find_dm(attempt: Attempt) -> FindResult:
        try:
            channel = str(client.conversations_open(users=str(attempt.payload["agent"]))["channel"]["id"])
        except SlackApiError as exc:
            return TryLater(f"could not open the DM to check for an earlier attempt: {exc.response.get('error')}")
        except OSError as exc:
            return TryLater(f"Slack is unreachable: {exc.__class__.__name__}")
        return find_post(attempt, channel, lambda cursor: client.conversations_history(
            channel=channel, limit=200, include_all_metadata=True, cursor=cursor))

    def _wake(session: Session, escalation_id: int) -> None:
        # What waited on this post is due now, not after its backoff.
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.dedupe_key.startswith(case_key(escalation_id, ""), autoescape=True),
                   OutboxRow.status == OutboxStatus.PENDING, OutboxRow.next_attempt_at > context.clock())
            .values(next_attempt_at=context.clock())
        )

    return {
        PARENT: Delivery(send_parent, find=find_parent, on_delivered=parent_posted),
        REPLY: Delivery(send_reply, find=find_reply, on_delivered=reply_posted),
        PARENT_UPDATE: Delivery(send_update),
        DM: Delivery(send_dm, find=find_dm),
    }


def outbox_metadata(attempt: Attempt) -> dict[str, Any]:
    """The message metadata that names a post's outbox row (a key of ids, never a customer's e-mail)."""
    return {"event_type": METADATA_TYPE, "event_payload": {"outbox_key": attempt.dedupe_key}}


def find_post(attempt: Attempt, channel: str, read: Callable[[str | None], SlackResponse]) -> FindResult:
    """Page through `read` (history or a thread, with metadata) for the message that names `attempt`'s row.

    History comes newest first: paging stops at a page that reaches back before the row was queued. (No
    `oldest` bound is sent: a message's ts is Slack's clock, the row's time is ours.)
    """
    cutoff = _slack_seconds(attempt.queued_at - CLOCK_SKEW)
    cursor: str | None = None
    try:
        for _ in range(MAX_PAGES):
            page = read(cursor)
            found = page.get("messages") or []
            for message in found:
                metadata = message.get("metadata") or {}
                if (metadata.get("event_type") == METADATA_TYPE
                        and (metadata.get("event_payload") or {}).get("outbox_key") == attempt.dedupe_key):
                    return Delivered({"channel": channel, "ts": str(message["ts"])})
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
            reached_back = any(float(message.get("ts") or 0) < cutoff for message in found)
            if not page.get("has_more") or cursor is None or reached_back:
                return None
    except SlackApiError as exc:
        error = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
        if error in NO_HISTORY_ACCESS:
            log.warning("cannot read Slack history to check for an earlier attempt (%s): add channels:history, "
                        "groups:history and im:history; sending: key=%s", error, attempt.dedupe_key)
            return None
        return TryLater(f"could not check Slack for an earlier attempt: {error}")
    except OSError as exc:
        return TryLater(f"Slack is unreachable: {exc.__class__.__name__}")
    return None


def _slack_seconds(at: datetime) -> float:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).timestamp()


def _earlier_reply_pending(context: BotContext, escalation_id: int, dedupe_key: str) -> bool:
    """Replies of one thread go out in the order they were queued (after an outage too)."""
    prefix = case_key(escalation_id, "reply:")
    with context.db.reading() as session:
        mine = session.scalar(select(OutboxRow.id).where(OutboxRow.dedupe_key == dedupe_key))
        if mine is None:
            return False
        earlier = session.scalar(
            select(OutboxRow.id)
            .where(OutboxRow.dedupe_key.startswith(prefix, autoescape=True), OutboxRow.status == OutboxStatus.PENDING,
                   OutboxRow.id < mine)
            .limit(1)
        )
    return earlier is not None


def _call(post: Callable[[], SlackResponse], result: Callable[[SlackResponse], dict[str, Any]]) -> DeliveryResult:
    """One Slack call as an outbox outcome."""
    try:
        response = post()
    except SlackApiError as exc:
        error = str(exc.response.get("error") or f"HTTP {exc.response.status_code}")
        if error in PERMANENT_ERRORS:
            return GiveUp(f"Slack refused the post: {error}")
        if error in SETUP_ERRORS:
            log.warning("Slack refused an escalation post with %s: check SLACK_BOT_TOKEN, the bot's scopes "
                        "(chat:write, im:write) and that the bot is in ESCALATION_CHANNEL; the post waits", error)
        return TryLater(f"Slack answered {error}")
    except OSError as exc:  # connection refused, reset, timed out: Slack is unreachable for now
        return TryLater(f"Slack is unreachable: {exc.__class__.__name__}")
    return Delivered(result(response))
