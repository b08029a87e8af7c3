"""The digest's set-based queries: the rules of `commands.rules.recommend`, in SQL, for every customer at once.

Per not-connected customer with a live authorization, SQL computes what the rules look at: how many
authorizations are live, the newest live grant, the live function blocks, the procedures sent in the
repeat window and the first procedure ever sent. A CASE then classifies row by row in the order of
`recommend` (rules 3, 4, 5, 0, 6, 7, 8; rules 1 and 2 are the filters). Thresholds and reason codes
come from `commands.policy` and `commands.rules`, so no number is written twice.

Why aggregates are enough: rule 5 (scope) and rule 7 (procedure before the grant) only apply when a
single authorization is live, so "the newest live one" is that one, and MAX() over the live rows gives
its grant time and function blocks. The tests hold this module to `/reauth-check` on generated
populations, boundaries included.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from typing import Any, Protocol

from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Select,
    String,
    and_,
    case,
    column,
    func,
    inspect,
    literal,
    literal_column,
    null,
    or_,
    select,
    table,
    text,
    type_coerce,
    union_all,
)
from sqlalchemy.orm import Session

from commands.digest import (
    ESCALATION_AGE_LIMITS,
    LONGEST_STUCK,
    REASON_ACTIONS,
    STUCK_REASONS,
    EscalationAge,
    StuckCounts,
    StuckCustomer,
)
from commands.policy import DATA_FRESHNESS, REPEAT_LIMIT, REPEAT_WINDOW, Utility, policy_for
from commands.reauth_check import EnrollmentStatus
from commands.rules import LIVE_STATUSES, Reason
from models.base import UTCDateTime
from models.customers import AuthorizationRow, CustomerRow, ProcedureRow
from models.function_blocks import required_mask

# Written as literals, not bound parameters: the partial index of migration 0005 has this very
# predicate, and SQLite uses a partial index only when the query's term matches it.
LIVE_STATUS_VALUES = tuple(sorted(s.value for s in LIVE_STATUSES))

# The escalations table belongs to the escalation feature; read through a lightweight table so that
# this module neither needs its model nor registers a second definition on the metadata.
_ESCALATIONS = table(
    "escalations",
    column("customer_id", String()),
    column("status", String()),
    column("opened_at", UTCDateTime()),
    column("opened_by", String()),
)
ESCALATION_OPEN = "open"


# Dictionary lookups: calling the enums costs a second per million rows.
_UTILITIES = {u.value: u for u in Utility}
_REASONS = {r.value: r for r in STUCK_REASONS}


@dataclass(frozen=True)
class StuckSnapshot:
    """Counts per category and the longest-stuck customers at one moment."""

    counts: dict[Reason, int]
    longest: list[StuckCustomer]


@dataclass(frozen=True)
class OpenEscalation:
    customer_id: str
    opened_at: datetime


def live_authorization(now: datetime) -> ColumnElement[bool]:
    """Pending or active at `now` (rules.live_authorizations): consent not ended, granted by then."""
    a = AuthorizationRow
    return and_(
        a.status.in_([literal_column(f"'{status}'") for status in LIVE_STATUS_VALUES]),
        or_(a.authorized_end.is_(None), a.authorized_end > now),
        # With a moment in the past, an authorization granted later did not exist yet.
        or_(a.granted_at.is_(None), a.granted_at <= now),
    )


def not_connected(now: datetime) -> ColumnElement[bool]:
    """The negation of Customer.is_connected (DESIGN rule 1), NULL-safe."""
    c = CustomerRow
    return or_(
        c.enrollment_status.is_(None),
        c.enrollment_status != EnrollmentStatus.VERIFIED.value,
        c.last_data_at.is_(None),
        c.last_data_at < now - DATA_FRESHNESS,
        c.last_data_at > now,
    )


def customers_with_live_authorizations(now: datetime, dialect: str) -> Select[Any]:
    """FROM not-connected customers JOIN their live authorizations, joined in the order that is fast.

    SQLite only nests loops: the fast order scans customers once and seeks each one's live
    authorizations in the partial index. `id || ''` keeps its planner from seeking customers by id
    instead (PostgreSQL merges or hashes either way).
    """
    c, a = CustomerRow, AuthorizationRow
    join_key = c.id.concat("") if dialect == "sqlite" else c.id
    return select().select_from(c).join(a, and_(a.customer_id == join_key, live_authorization(now))).where(
        not_connected(now)
    )


def stuck_customers(now: datetime, dialect: str) -> Select[Any]:
    """One row per not-connected customer with a live authorization: (id, utility, reason, stuck_since);
    reason is NULL for customers who only need to wait."""
    c, a, p = CustomerRow, AuthorizationRow, ProcedureRow
    # On SQLite, grouping by rowid follows the scan order of customers, so no sort is needed.
    group_key = literal_column("customers.rowid") if dialect == "sqlite" else c.id
    features = (
        customers_with_live_authorizations(now, dialect)
        .add_columns(
            c.id.label("id"),
            c.utility.label("utility"),
            c.last_data_at.label("last_data_at"),
            func.count().label("live_count"),
            func.max(a.granted_at).label("newest"),
            func.max(a.function_blocks).label("function_blocks"),
        )
        .group_by(group_key)
        .subquery("features")
    )
    sent = (
        select(
            p.customer_id.label("customer_id"),
            func.sum(case((p.sent_at >= now - REPEAT_WINDOW, 1), else_=0)).label("recent"),
            func.min(p.sent_at).label("first_sent"),
        )
        .where(p.sent_at <= now)
        .group_by(p.customer_id)
        .subquery("sent")
    )
    f = features.c
    utility = f.utility
    wait_start = case(
        {u.value: literal(now - _wait(u), UTCDateTime()) for u in Utility}, value=utility
    )
    required = case(
        {u.value: literal(required_mask(policy_for(u).required_function_blocks), BigInteger()) for u in Utility},
        value=utility,
    )
    reason = case(
        (func.coalesce(sent.c.recent, 0) >= REPEAT_LIMIT, Reason.REPEATED_PROCEDURE.value),  # rule 3
        (f.live_count > 1, Reason.DUPLICATE_AUTHORIZATIONS.value),  # rule 4
        (f.function_blocks.op("&")(required) != required, Reason.SCOPE_INCOMPLETE.value),  # rule 5
        (f.newest.is_(None), Reason.GRANT_DATE_UNKNOWN.value),  # rule 0
        (f.newest >= wait_start, null()),  # rule 6: wait, not stuck
        (sent.c.first_sent < f.newest, Reason.REAUTH_DID_NOT_HELP.value),  # rule 7
        else_=Reason.NOT_CONNECTED_7D.value,  # rule 8
    )
    stuck_since = case(
        (f.last_data_at.is_(None), f.newest),
        (or_(f.newest.is_(None), f.last_data_at > f.newest), f.last_data_at),
        else_=f.newest,
    )
    return select(
        f.id.label("id"),
        f.utility.label("utility"),
        reason.label("reason"),
        stuck_since.label("stuck_since"),
    ).select_from(features.outerjoin(sent, sent.c.customer_id == f.id))


def _wait(utility: Utility) -> timedelta:
    return timedelta(days=policy_for(utility).wait_days)


class FullList(Protocol):
    """Where the full list goes: the first `keep` stuck customers as objects (enough for thread replies),
    and every stuck customer as a CSV line formatted by the database, in list order, batch by batch."""

    keep: int

    def keep_customer(self, customer: StuckCustomer) -> None: ...

    def write_lines(self, lines: list[str]) -> None: ...


def stuck_snapshot(
    session: Session,
    now: datetime,
    *,
    longest: int = LONGEST_STUCK,
    each: Callable[[StuckCustomer], None] | None = None,
    listing: FullList | None = None,
) -> StuckSnapshot:
    """Counts per category and the `longest` longest stuck, in one pass over the customers.

    With `each`, every stuck customer is also handed to it, longest stuck first, streamed rather than
    loaded: memory stays flat whatever the number of customers. With `listing` instead, the same pass
    streams the full list as CSV lines built in SQL (`csv_line`): no per-customer object past the
    first few, which is what keeps a list of hundreds of thousands within the digest's time.
    """
    if each is not None and listing is not None:
        raise ValueError("stuck_snapshot takes `each` or `listing`, not both")
    dialect = session.get_bind().dialect.name
    _tune(session, dialect)
    stuck = stuck_customers(now, dialect).cte("stuck").prefix_with("MATERIALIZED")
    listed = stuck.c.reason.is_not(None)
    order = (stuck.c.stuck_since.asc().nulls_last(), stuck.c.id)
    counts = select(
        literal(0).label("kind"), stuck.c.reason, func.count().label("n"),
        null().label("id"), null().label("utility"), null().label("stuck_since"),
    ).where(listed).group_by(stuck.c.reason)
    # Counts first (kind 0), then every stuck customer, longest stuck first.
    in_list_order: tuple[ColumnElement[Any], ...] = (
        literal_column("kind"), literal_column("stuck_since").asc().nulls_last(), literal_column("id")
    )
    if listing is not None:
        rows = select(
            literal(1).label("kind"), stuck.c.reason, null().label("n"), stuck.c.id, stuck.c.utility,
            # The raw value: converting 300k timestamps costs more than the few that are looked at.
            type_coerce(stuck.c.stuck_since, String()).label("stuck_since"),
            csv_line(dialect, now).label("line"),
        ).where(listed)
        statement = union_all(rows, counts.add_columns(null().label("line"))).order_by(*in_list_order)
        return _stream_list(session, statement, longest, listing)
    if each is None:
        top = select(stuck).where(listed).order_by(*order).limit(longest).subquery("top")
        rows = select(
            literal(1).label("kind"), top.c.reason, null().label("n"), top.c.id, top.c.utility, top.c.stuck_since
        )
        statement = union_all(rows, counts)
    else:
        rows = select(
            literal(1).label("kind"), stuck.c.reason, null().label("n"), stuck.c.id, stuck.c.utility,
            stuck.c.stuck_since,
        ).where(listed)
        statement = union_all(rows, counts).order_by(*in_list_order)
    by_reason: dict[Reason, int] = {}
    first: list[StuckCustomer] = []
    result = session.execute(statement.execution_options(yield_per=5000))
    for kind, reason, n, customer_id, utility, stuck_since in result:
        if kind == 0:
            by_reason[Reason(reason)] = int(n)
            continue
        customer = StuckCustomer(customer_id, _UTILITIES[utility], _REASONS[reason], _aware(stuck_since))
        if len(first) < longest:
            first.append(customer)
        if each is not None:
            each(customer)
    first.sort(key=lambda s: (s.stuck_since is None, s.stuck_since or now, s.customer_id))
    return StuckSnapshot({r: by_reason.get(r, 0) for r in STUCK_REASONS}, first)


def _stream_list(session: Session, statement: Any, longest: int, listing: FullList) -> StuckSnapshot:
    """Read the counts, the first customers as objects, and every CSV line as a plain string."""
    by_reason: dict[Reason, int] = {}
    first: list[StuckCustomer] = []
    wanted = max(longest, listing.keep)
    seen = 0
    line = itemgetter(6)
    result = session.execute(statement.execution_options(yield_per=5000))
    for batch in result.partitions():
        if seen >= wanted:
            # Past the counts (they come first) and the first customers: only the lines are needed.
            listing.write_lines(list(map(line, batch)))
            continue
        lines: list[str] = []
        for kind, reason, n, customer_id, utility, stuck_since, text_line in batch:
            if kind == 0:
                by_reason[Reason(reason)] = int(n)
                continue
            if seen < wanted:
                customer = StuckCustomer(customer_id, _UTILITIES[utility], _REASONS[reason], _raw_aware(stuck_since))
                if seen < longest:
                    first.append(customer)
                if seen < listing.keep:
                    listing.keep_customer(customer)
            seen += 1
            lines.append(text_line)
        listing.write_lines(lines)
    return StuckSnapshot({r: by_reason.get(r, 0) for r in STUCK_REASONS}, first)


def csv_line(dialect: str, now: datetime) -> ColumnElement[str]:
    """One line of the full list's CSV for a row of the `stuck` CTE, built by the database: byte for byte
    what `csv.writer` makes of `bot.blocks.digest.csv_row` (customer_id, utility, category, action,
    days stuck at `now`, stuck since in `datetime.isoformat`), so the full list needs no Python per row.

    Days are whole days in integer microseconds (`timedelta.days`, never below 0), so no rounding
    can move a boundary; the customer id is quoted as `csv.QUOTE_MINIMAL` would (comma, quote, newline).
    """
    since = "stuck.stuck_since"
    now_us = _epoch_us(now)
    if dialect == "sqlite":
        # SQLAlchemy stores 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC, no offset) on SQLite. The date functions
        # round a fraction to milliseconds, so they get the whole seconds and the digits are read apart;
        # parsing dates is most of this line's cost, so it happens once per row.
        micro = f"CAST(substr({since} || '00000', 21, 6) AS INTEGER)"
        since_us = f"({_SQLITE_SECONDS.format(f'substr({since}, 1, 19)')} * 1000000 + {micro})"
        fraction = (f"CASE WHEN substr({since}, 21, 6) IN ('', '000000') THEN '' "
                    f"ELSE '.' || substr({since} || '00000', 21, 6) END")
        iso = f"substr({since}, 1, 10) || 'T' || substr({since}, 12, 8) || {fraction} || '+00:00'"
        # Integer division truncates toward zero, which max(..., 0) makes the same as timedelta's floor.
        days = f"max(({now_us} - {since_us}) / {_DAY_US}, 0)"
        has = "instr"
        newline = "char(10)"
    else:
        since_us = f"CAST(EXTRACT(EPOCH FROM {since}) * 1000000 AS BIGINT)"
        iso = (f"to_char({since} AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS') || "
               f"CASE WHEN to_char({since}, 'US') = '000000' THEN '' ELSE '.' || to_char({since}, 'US') END || "
               "'+00:00'")
        days = f"CAST(GREATEST(({now_us} - {since_us}) / {_DAY_US}, 0) AS TEXT)"
        has = "strpos"
        newline = "chr(10)"
    customer_id = (f"CASE WHEN {has}(stuck.id, ',') > 0 OR {has}(stuck.id, '\"') > 0 "
                   f"OR {has}(stuck.id, {newline}) > 0 "
                   f"THEN '\"' || replace(stuck.id, '\"', '\"\"') || '\"' ELSE stuck.id END")
    action = "CASE stuck.reason " + " ".join(
        f"WHEN '{reason.value}' THEN '{action.value}'" for reason, action in REASON_ACTIONS.items()
    ) + " END"
    return literal_column(
        f"{customer_id} || ',' || stuck.utility || ',' || stuck.reason || ',' || {action} || ',' || "
        f"CASE WHEN {since} IS NULL THEN ',' ELSE {days} || ',' || {iso} END",
        String(),
    )


_DAY_US = 86_400_000_000
# unixepoch() (SQLite 3.38) is the cheaper of the two.
_SQLITE_SECONDS = (
    "unixepoch({})" if sqlite3.sqlite_version_info >= (3, 38) else "CAST(strftime('%s', {}) AS INTEGER)"
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Written into csv_line's SQL as literals: none may need CSV quoting or SQL escaping.
assert all(
    value.isidentifier()
    for value in [*(u.value for u in Utility), *(r.value for r in Reason), *(a.value for a in REASON_ACTIONS.values())]
)


def _epoch_us(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(microseconds=1)


def _tune(session: Session, dialect: str) -> None:
    if dialect == "postgresql":
        # JIT-compiling this one-off query costs more than it saves (a quarter second at a million rows).
        session.execute(text("SET LOCAL jit = off"))


def _aware(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value
    return UTCDateTime().process_result_value(value, None)  # type: ignore[arg-type]


def _raw_aware(value: str | datetime | None) -> datetime | None:
    """A timestamp as the driver returns it untyped: SQLite's text (UTC), PostgreSQL's aware datetime."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def count_stuck(session: Session, now: datetime) -> dict[Reason, int]:
    """Stuck customers per category (the App Home's live counts)."""
    dialect = session.get_bind().dialect.name
    _tune(session, dialect)
    stuck = stuck_customers(now, dialect).subquery("stuck")
    rows = session.execute(
        select(stuck.c.reason, func.count()).where(stuck.c.reason.is_not(None)).group_by(stuck.c.reason)
    ).all()
    found = {Reason(reason): int(n) for reason, n in rows}
    return {r: found.get(r, 0) for r in STUCK_REASONS}


# --- escalations (read only while the escalations table exists) ------------------------------------


def escalations_exist(session: Session) -> bool:
    return bool(inspect(session.connection()).has_table(_ESCALATIONS.name))


def escalation_ages(session: Session, now: datetime) -> dict[EscalationAge, int] | None:
    """Open escalations per age bucket; None when escalations are not kept in this database."""
    if not escalations_exist(session):
        return None
    opened = _ESCALATIONS.c.opened_at
    bucket = case(
        *[(opened > now - limit, literal(age.value)) for age, limit in ESCALATION_AGE_LIMITS],
        else_=literal(EscalationAge.OVER_7_DAYS.value),
    )
    rows = session.execute(
        select(bucket, func.count()).where(_ESCALATIONS.c.status == ESCALATION_OPEN).group_by(bucket)
    ).all()
    found = {EscalationAge(age): int(n) for age, n in rows}
    return {age: found.get(age, 0) for age in EscalationAge}


def open_escalations_by(session: Session, agent: str, *, limit: int = 20) -> list[OpenEscalation] | None:
    """The agent's own open escalations, oldest first; None when escalations are not kept."""
    if not escalations_exist(session):
        return None
    e = _ESCALATIONS.c
    rows = session.execute(
        select(e.customer_id, e.opened_at)
        .where(e.status == ESCALATION_OPEN, e.opened_by == agent)
        .order_by(e.opened_at, e.customer_id)
        .limit(limit)
    ).all()
    return [OpenEscalation(customer_id, opened_at) for customer_id, opened_at in rows]


def stuck_counts(session: Session, now: datetime) -> StuckCounts:
    """The live counts: stuck customers per category and open escalations per age."""
    return StuckCounts(count_stuck(session, now), escalation_ages(session, now))
