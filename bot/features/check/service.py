"""The `/reauth-check` use case's I/O: the database, and the helpdesk when the query is a ticket.

Agents work from tickets: a new ticket names no customer in our records, but the helpdesk knows who
asked. When a ticket number or link matches no customer and no procedure, the configured helpdesk is
asked for the ticket's requester, and the customer is looked up by that e-mail. The helpdesk is read
outside any database transaction (SQLite's write lock must not wait on HTTP), after the ack.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime

from bot.context import BotContext
from bot.helpdesk import Helpdesk
from commands.check import CheckOutcome, Query, Report, check, find_customers, parse_query, ticket_to_look_up
from commands.tickets import Requester, RequesterProblem, RequesterUnknown
from models import Database
from models.check import SqlCaseRecords

log = logging.getLogger(__name__)

# A ticket's requester rarely changes, and an agent often checks the same ticket twice in a few minutes
# (before and after posting steps): kept this long, each ticket costs the helpdesk one read. Short, so
# a requester corrected in the helpdesk is seen soon. POLICY.
REQUESTER_CACHE_SECONDS = 300.0
# A bound on memory: more tickets than this in five minutes is far beyond a support team's pace.
REQUESTER_CACHE_SIZE = 1000


class RequesterCache:
    """Ticket → requester, per helpdesk, for a few minutes; only answers the helpdesk gave, never failures."""

    def __init__(
        self, seconds: float = REQUESTER_CACHE_SECONDS, size: int = REQUESTER_CACHE_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._seconds = seconds
        self._size = size
        self._clock = clock
        self._entries: OrderedDict[tuple[str, str], tuple[float, Requester]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, helpdesk: str, ticket_id: str) -> Requester | None:
        with self._lock:
            entry = self._entries.get((helpdesk, ticket_id))
            if entry is None:
                return None
            stored_at, requester = entry
            if self._clock() - stored_at > self._seconds:
                del self._entries[(helpdesk, ticket_id)]
                return None
            return requester

    def put(self, helpdesk: str, requester: Requester) -> None:
        with self._lock:
            key = (helpdesk, requester.ticket_id)
            self._entries[key] = (self._clock(), requester)
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)


def run_check(
    context: BotContext, text: str, *, agent: str, source: str = "slack", cache: RequesterCache | None = None
) -> CheckOutcome:
    """The lookup, asking the helpdesk who opened the ticket when the query is a ticket we know nothing of.

    ``cache`` is the app's (built with its listeners); without one every lookup reads the helpdesk.
    """
    return check_with_helpdesk(context.db, context.helpdesk, text, now=context.clock(), agent=agent,
                               source=source, cache=cache)


def check_with_helpdesk(
    db: Database,
    helpdesk: Helpdesk | None,
    text: str,
    *,
    now: datetime,
    agent: str,
    source: str,
    cache: RequesterCache | None = None,
) -> CheckOutcome:
    """`commands.check.check`, with the ticket's requester read from ``helpdesk`` when it is needed."""
    query = parse_query(text)
    requester: Requester | RequesterUnknown | None = None
    if isinstance(query, Query) and ticket_to_look_up(query) is not None:
        with db.reading() as session:
            named, _ = find_customers(SqlCaseRecords(session), query)
        if not named:
            requester = ticket_requester(helpdesk, query, cache or RequesterCache())
    with db.transaction() as session:
        outcome = check(SqlCaseRecords(session), text, now=now, agent=agent, source=source, requester=requester)
    if isinstance(outcome, Report):  # the rule that decided stays on record for the bot's owners, not in the answer
        recommendation = outcome.recommendation
        log.info("check: customer=%s agent=%s action=%s rule=%s", outcome.customer.id, agent,
                 recommendation.action.value, recommendation.rule)
    return outcome


def ticket_requester(helpdesk: Helpdesk | None, query: Query, cache: RequesterCache) -> Requester | RequesterUnknown:
    """Who asked on the ticket the query names, from the cache or the helpdesk."""
    ticket = ticket_to_look_up(query)
    assert ticket is not None
    if helpdesk is None:
        return RequesterUnknown(ticket, RequesterProblem.NO_HELPDESK)
    if query.link is not None and helpdesk.parse_ticket_reference(query.link) is None:
        # The same number on another helpdesk or account is another ticket: asking ours would find a stranger.
        return RequesterUnknown(ticket, RequesterProblem.OTHER_HELPDESK, helpdesk.display_name, helpdesk.ticket_word)
    return cached_requester(cache, helpdesk, ticket)


def cached_requester(cache: RequesterCache, helpdesk: Helpdesk, ticket: str) -> Requester | RequesterUnknown:
    found = cache.get(helpdesk.name, ticket)
    if found is not None:
        return found
    answer = helpdesk.ticket_requester(ticket)
    if isinstance(answer, Requester):
        cache.put(helpdesk.name, answer)
    return answer
