"""The digest's set-based queries: the rules of `commands.rules.recommend`, in SQL, for every customer at once.

Per not-connected customer with a live authorization, SQL works out what the rules look at: how many
authorizations are live, the newest live grant, the live function blocks, the procedures sent in the
repeat window and the first procedure ever sent. A CASE then classifies row by row in the order of
`recommend` (rules 3, 4, 5, 0, 6, 7, 8; rules 1 and 2 are the filters). Thresholds and reason codes
come from `commands.policy` and `commands.rules`, so no number is written twice.

Where the facts come from: the summary the database keeps on each customer's row (migration 0006), so
a digest is one scan of customers with no join. The summary is by status; whether an authorization is
live also depends on the moment, so the few customers for whom the moment matters (a consent ended or a
grant still to come, a procedure inside the repeat window) have their own rows read. Rule 5 (scope) and
rule 7 (procedure before the grant) only apply when a single authorization is live, so "the newest live
one" is that one. The tests hold this module to `/reauth-check` on generated populations, boundaries
included.
"""

from __future__ import annotations

import csv
import sqlite3
from collections import Counter
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import compress, islice
from operator import itemgetter
from typing import Any, Protocol, TypeVar

from psycopg import capabilities
from psycopg.types.string import TextLoader
from sqlalchemy import (
    ColumnElement,
    FromClause,
    Integer,
    Join,
    Select,
    String,
    Subquery,
    and_,
    case,
    func,
    insert,
    literal,
    literal_column,
    null,
    or_,
    select,
    text,
    union_all,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from commands.check import EnrollmentStatus
from commands.digest import (
    ESCALATION_AGE_LIMITS,
    LONGEST_STUCK,
    REASON_ACTIONS,
    STUCK_REASONS,
    EscalationAge,
    NewlyStuck,
    StuckCounts,
    StuckCustomer,
)
from commands.escalations import Status
from commands.policy import DATA_FRESHNESS, REPEAT_LIMIT, REPEAT_WINDOW, Utility, policy_for
from commands.rules import LIVE_STATUSES, Reason
from commands.spreadsheet import FORMULA_STARTS, MARK, original_cell
from models.base import UTCDateTime
from models.customers import AuthorizationRow, CustomerRow, ProcedureRow
from models.digest.snapshots import DigestStuckRow
from models.escalations import EscalationRow
from models.function_blocks import required_mask

# Written as literals, not bound parameters: the partial index of migration 0005 has this very
# predicate, and SQLite uses a partial index only when the query's term matches it.
LIVE_STATUS_VALUES = tuple(sorted(s.value for s in LIVE_STATUSES))


# Dictionary lookups: calling the enums costs a second per million rows.
_UTILITIES = {u.value: u for u in Utility}
_REASONS = {r.value: r for r in STUCK_REASONS}


@dataclass(frozen=True)
class StuckSnapshot:
    """Counts per category and the longest-stuck customers at one moment; with an earlier snapshot to
    compare with, the customers stuck now who were not then (else None)."""

    counts: dict[Reason, int]
    longest: list[StuckCustomer]
    newly: NewlyStuck | None = None


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


def live_summary_holds(now: datetime) -> ColumnElement[bool]:
    """The customer's summary of pending and active authorizations (migration 0006) is what is live at
    `now`: no consent has ended by then and no grant is still to come. Almost always true; where it is
    not, the digest reads that customer's authorizations."""
    c = CustomerRow
    return and_(
        or_(c.live_earliest_end.is_(None), c.live_earliest_end > now),
        or_(c.live_newest_grant.is_(None), c.live_newest_grant <= now),
    )


def live_features(now: datetime) -> Select[Any]:
    """Per not-connected customer with a live authorization, what the rules read at `now`: (id, utility,
    last_data_at, live_count, newest, function_blocks, recent, first_sent), the last two being the
    procedures sent in the repeat window and the first procedure sent.

    One scan of customers, no join: the summary on the customer's row answers, and only where the moment
    matters (`live_summary_holds` false, a procedure inside the repeat window) does a customer's own rows
    get read, through the indexes that lead with customer_id.
    """
    c, a, p = CustomerRow, AuthorizationRow, ProcedureRow
    holds = live_summary_holds(now)

    def live_at_now(aggregate: ColumnElement[Any]) -> ColumnElement[Any]:
        return select(aggregate).where(a.customer_id == c.id, live_authorization(now)).scalar_subquery()

    window_start = now - REPEAT_WINDOW
    sent_in_window = (
        select(func.count()).where(p.customer_id == c.id, p.sent_at >= window_start, p.sent_at <= now)
    ).scalar_subquery()
    live_count = case((holds, c.live_authorizations), else_=live_at_now(func.count()))
    return select(
        c.id.label("id"),
        c.utility.label("utility"),
        c.last_data_at.label("last_data_at"),
        live_count.label("live_count"),
        case((holds, c.live_newest_grant), else_=live_at_now(func.max(a.granted_at))).label("newest"),
        case((holds, c.live_function_blocks), else_=live_at_now(func.max(a.function_blocks))).label(
            "function_blocks"
        ),
        case((c.last_procedure_at >= window_start, sent_in_window), else_=0).label("recent"),
        # The first procedure ever sent, unless it is still to come at `now` (then none was sent by then).
        case((c.first_procedure_at <= now, c.first_procedure_at), else_=null()).label("first_sent"),
    ).where(c.live_authorizations > 0, not_connected(now), live_count > 0)


def stuck_customers(now: datetime) -> Select[Any]:
    """One row per not-connected customer with a live authorization: (id, utility, reason, stuck_since);
    reason is NULL for customers who only need to wait."""
    features = live_features(now).subquery("features")
    f = features.c
    # rule 5: the scope lacks a function block the utility requires; rule 6: still inside the window.
    scope_incomplete = per_utility(
        f.utility, _required_mask, lambda required: f.function_blocks.op("&")(required) != required
    )
    waiting = per_utility(f.utility, _wait, lambda wait: f.newest >= literal(now - wait, UTCDateTime()))
    reason = case(
        (f.recent >= REPEAT_LIMIT, Reason.REPEATED_PROCEDURE.value),  # rule 3
        (f.live_count > 1, Reason.DUPLICATE_AUTHORIZATIONS.value),  # rule 4
        (scope_incomplete, Reason.SCOPE_INCOMPLETE.value),  # rule 5
        (f.newest.is_(None), Reason.GRANT_DATE_UNKNOWN.value),  # rule 0
        (waiting, null()),  # rule 6: wait, not stuck
        (f.first_sent < f.newest, Reason.REAUTH_DID_NOT_HELP.value),  # rule 7
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
    ).select_from(features)


_V = TypeVar("_V", bound=Hashable)


def per_utility(
    utility: ColumnElement[str] | InstrumentedAttribute[str],
    setting: Callable[[Utility], _V],
    test: Callable[[_V], ColumnElement[bool]],
) -> ColumnElement[bool]:
    """`test` on each customer's utility's `setting`: one test when every utility has the same setting
    (cheaper per row), else one per utility."""
    settings = {u: setting(u) for u in Utility}
    if len(set(settings.values())) == 1:
        return test(settings[Utility.SCE])
    return or_(*(and_(utility == u.value, test(value)) for u, value in settings.items()))


def _required_mask(utility: Utility) -> int:
    return required_mask(policy_for(utility).required_function_blocks)


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
    listing: FullList | None = None,
    newly_since: int | None = None,
    newly_first: int = 0,
) -> StuckSnapshot:
    """Counts per category and the `longest` longest stuck, in one pass over the customers.

    With `listing`, the same pass streams the full list as CSV lines built in SQL (`csv_line`): no
    per-customer object past the first few, which is what keeps a list of hundreds of thousands within
    the digest's time. With `newly_since` (an earlier digest's recorded snapshot), the same pass also
    tells each stuck customer who was not stuck then: how many, and the first `newly_first` of them.
    """
    dialect = session.get_bind().dialect.name
    _tune(session, dialect)
    if listing is not None:
        return _stream_list(session, now, dialect, longest, listing, newly_since, newly_first)
    source = stuck_customers(now).subquery("judged")
    # The flag rides in the materialized CTE: worked out once per customer, read by both parts below.
    newly: ColumnElement[int] = literal(0)
    judged: FromClause = source
    if newly_since is not None:
        judged, newly = _newly_stuck(source, newly_since)
    stuck = (
        select(*source.c, case((source.c.reason.is_(None), 0), else_=newly).label("newly"))
        .select_from(judged)
        .cte("stuck").prefix_with("MATERIALIZED")
    )
    listed = stuck.c.reason.is_not(None)
    order = (stuck.c.stuck_since.asc().nulls_last(), stuck.c.id)
    counts = select(
        literal(0).label("kind"), stuck.c.reason, func.count().label("n"), func.sum(stuck.c.newly).label("newly"),
        null().label("id"), null().label("utility"), null().label("stuck_since"),
    ).where(listed).group_by(stuck.c.reason)
    parts: list[Select[Any]] = [counts]
    for kind, wanted, condition in ((1, longest, listed), (2, newly_first, stuck.c.newly == 1)):
        if wanted <= 0 or (kind == 2 and newly_since is None):
            continue
        top = select(stuck).where(condition).order_by(*order).limit(wanted).subquery(f"top{kind}")
        parts.append(select(
            literal(kind).label("kind"), top.c.reason, null().label("n"), null().label("newly"), top.c.id,
            top.c.utility, top.c.stuck_since,
        ))
    by_reason: dict[Reason, int] = {}
    newly_total = 0
    found: dict[int, list[StuckCustomer]] = {1: [], 2: []}
    with _hash_joins(session, newly_since is not None):
        result = session.execute(union_all(*parts).execution_options(yield_per=5000))
    for kind, reason, n, newly_n, customer_id, utility, stuck_since in result:
        if kind == 0:
            by_reason[Reason(reason)] = int(n)
            newly_total += int(newly_n or 0)
            continue
        found[kind].append(StuckCustomer(customer_id, _UTILITIES[utility], _REASONS[reason], _utc(stuck_since)))
    for customers in found.values():
        customers.sort(key=lambda s: (s.stuck_since is None, s.stuck_since or now, s.customer_id))
    return StuckSnapshot(
        {r: by_reason.get(r, 0) for r in STUCK_REASONS},
        found[1],
        None if newly_since is None else NewlyStuck(newly_total, tuple(found[2])),
    )


def _newly_stuck(stuck: Subquery, since: int) -> tuple[Join, ColumnElement[int]]:
    """`stuck` joined to the recorded snapshot `since`, and a flag: 1 when the customer is not in it.

    A left join rather than a probe per customer, so that PostgreSQL can hash the snapshot once (run it
    under `_hash_joins`). SQLite seeks the snapshot's key (a WITHOUT ROWID table) either way.
    """
    previously = DigestStuckRow.__table__.alias("previously")
    joined = stuck.outerjoin(previously, and_(
        previously.c.digest_id == literal_column(str(int(since))), previously.c.customer_id == stuck.c.id))
    return joined, case((previously.c.customer_id.is_(None), 1), else_=0)


@contextmanager
def _hash_joins(session: Session, wanted: bool = True) -> Iterator[None]:
    """PostgreSQL plans the statement run inside without nested loops, then plans as configured again.

    Its planner probes the snapshot once per stuck customer by its costs; hashing the snapshot once is
    cheaper (measured at 288k stuck customers against a 576k snapshot: 0.3 s of server CPU, against 0.6 s
    for the nested loop and 1.25 s for a correlated EXISTS). Only for the statement that joins the snapshot:
    the transaction's other statements are planned as configured.
    """
    postgresql = wanted and session.get_bind().dialect.name == "postgresql"
    if postgresql:
        session.execute(text("SET LOCAL enable_nestloop = off"))
    try:
        yield
    finally:
        if postgresql:
            session.execute(text("SET LOCAL enable_nestloop TO DEFAULT"))


def _stream_list(
    session: Session, now: datetime, dialect: str, longest: int, listing: FullList, newly_since: int | None,
    newly_first: int,
) -> StuckSnapshot:
    """One statement, longest stuck first: each stuck customer's category, stuck-since and CSV line (and
    whether it is newly stuck). The counts are tallied from the categories as they stream by; only the
    first customers become objects, their id and utility read back from their own lines (two more columns
    for every customer cost a tenth of a second at 300k)."""
    stuck = _kept_whole(stuck_customers(now), dialect).subquery("stuck")
    newly: ColumnElement[int] = literal_column("0")
    source: FromClause = stuck
    if newly_since is not None:
        source, newly = _newly_stuck(stuck, newly_since)
    statement = (
        select(stuck.c.reason, stuck.c.stuck_since, csv_line(dialect, now).label("line"), newly.label("newly"))
        .select_from(source)
        .where(stuck.c.reason.is_not(None))
        .order_by(stuck.c.stuck_since.asc().nulls_last(), stuck.c.id)
    )
    tally: Counter[str] = Counter()
    first: list[StuckCustomer] = []
    newly_found: list[StuckCustomer] = []
    newly_total = 0
    wanted = max(longest, listing.keep)
    seen = 0
    for batch in _driver_rows(session, statement, hash_joins=newly_since is not None):
        tally.update(map(_REASON_OF_ROW, batch))
        for reason, since, line, _ in batch[: max(wanted - seen, 0)]:
            customer = _customer_of_row(reason, since, line)
            if seen < longest:
                first.append(customer)
            if seen < listing.keep:
                listing.keep_customer(customer)
            seen += 1
        if newly_since is not None:
            newly_total += sum(map(_NEWLY_OF_ROW, batch))
            missing = newly_first - len(newly_found)
            if missing > 0:
                rows = islice(compress(batch, map(_NEWLY_OF_ROW, batch)), missing)
                newly_found += [_customer_of_row(reason, since, line) for reason, since, line, _ in rows]
        listing.write_lines(list(map(_LINE_OF_ROW, batch)))
    return StuckSnapshot(
        {r: tally[r.value] for r in STUCK_REASONS},
        first,
        None if newly_since is None else NewlyStuck(newly_total, tuple(newly_found)),
    )


def _customer_of_row(reason: str, since: str | datetime | None, line: str) -> StuckCustomer:
    customer_id, utility = _id_and_utility(line)
    return StuckCustomer(customer_id, _UTILITIES[utility], _REASONS[reason], _utc(since))


def record_stuck(session: Session, digest_id: int, as_of: datetime) -> None:
    """Record who is stuck at `as_of` under `digest_id`, in one INSERT ... SELECT of the digest's own query.

    Called when the post is recorded, in that transaction: taken again rather than carried from the build
    (a read-only pass, and no per-customer Python), so an import landing in the seconds between the two can
    make the set differ from the posted count by those customers; the next digest compares with the fresher.
    """
    _tune(session, session.get_bind().dialect.name)
    stuck = stuck_customers(as_of).subquery("stuck")
    session.execute(
        insert(DigestStuckRow).from_select(
            ["digest_id", "customer_id"],
            select(literal(digest_id, Integer()), stuck.c.id).where(stuck.c.reason.is_not(None)),
        )
    )


def _kept_whole(query: Select[Any], dialect: str) -> Select[Any]:
    """OFFSET 0 keeps a subquery a subquery: inlined into the outer query, its CASEs would be worked
    out again wherever the outer query names their columns (the line names stuck_since four times)."""
    if dialect == "sqlite":
        query = query.limit(literal_column("-1"))  # SQLite has no OFFSET without a LIMIT
    return query.offset(0)


def _driver_rows(
    session: Session, statement: Select[Any], batch: int = 5000, *, hash_joins: bool = False
) -> Iterator[list[Any]]:
    """The statement's rows as the driver returns them, batch by batch, in the session's transaction.

    At 300k rows SQLAlchemy's result rows cost a quarter of a second the list does not need. The
    values are written into the SQL (they are all the digest's own: moments, policy numbers, category
    names; nothing a user typed).
    """
    connection = session.connection()
    sql = str(statement.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
    driver = connection.connection.driver_connection
    assert driver is not None
    if connection.dialect.name != "postgresql":
        cursor = driver.cursor()
        try:
            cursor.execute(sql)
            while rows := cursor.fetchmany(batch):
                yield rows
        finally:
            cursor.close()
        return
    with _hash_joins(session, hash_joins):
        yield from _postgresql_batches(driver, sql, batch)


def _postgresql_batches(driver: Any, sql: str, batch: int) -> Iterator[list[Any]]:
    """PostgreSQL streams the rows as the statement makes them, so memory stays flat, without a cursor:
    a cursor is planned for its first rows (cursor_tuple_fraction) and fetched one round trip per batch,
    which cost half a second more at 300k rows. Moments come back as text, in the session's time zone, for
    `_utc` to parse: only the first few customers are ever read as objects, and a datetime per row cost
    another quarter of a second."""
    cursor = driver.cursor()
    cursor.adapters.register_loader("timestamptz", TextLoader)
    # Chunks of `batch` rows need libpq 17; an older one streams row by row, slower but the same rows.
    rows = cursor.stream(sql, size=batch if capabilities.has_stream_chunked() else 1)
    try:
        while chunk := list(islice(rows, batch)):
            yield chunk
    finally:
        rows.close()  # abandoned halfway (the reader failed): psycopg cancels the statement
        cursor.close()


_REASON_OF_ROW = itemgetter(0)
_LINE_OF_ROW = itemgetter(2)
_NEWLY_OF_ROW = itemgetter(3)


def _id_and_utility(line: str) -> tuple[str, str]:
    """The first two fields of a `csv_line`: the id is quoted only when it holds a comma, quote or
    newline, so an unquoted one splits at the first comma (the csv module would refuse a lone CR in it)."""
    if line.startswith('"'):
        customer_id, utility, *_ = next(csv.reader([line]))
        return original_cell(customer_id), utility
    customer_id, utility, _ = line.split(",", 2)
    return original_cell(customer_id), utility


def csv_line(dialect: str, now: datetime) -> ColumnElement[str]:
    """One line of the full list's CSV for a row of the `stuck` subquery, built by the database: byte for
    byte what `csv.writer` makes of the customer (customer_id, utility, category, action, days stuck at `now`,
    stuck since in UTC to the minute; tests/digest/oracle.py), so the full list needs no Python per row.
    Spreadsheets read "YYYY-MM-DD HH:MM" as a date and time (they leave ISO 8601's "T...+00:00" as text);
    days_stuck carries the exact age.

    Days are `timedelta.days` exactly, never below 0: whole seconds apart, less one when the stored
    microseconds are past `now`'s (integer arithmetic, so no rounding moves a boundary). The customer id
    is quoted as `csv.QUOTE_MINIMAL` would (comma, quote, newline).
    """
    since = "stuck.stuck_since"
    now_s = (now - _EPOCH) // timedelta(seconds=1)
    now_micro = f"{now.microsecond:06d}"
    if dialect == "sqlite":
        # SQLAlchemy stores 'YYYY-MM-DD HH:MM:SS.ffffff' (UTC, no offset) on SQLite. The date functions
        # round a fraction to milliseconds (59.9999 s is the next minute), so they get the whole seconds
        # alone; the fraction's digits compare as text in the same order as numbers.
        seconds = _SQLITE_SECONDS.format(f"substr({since}, 1, 19)")
        days = f"max(({now_s} - {seconds} - (substr({since}, 21) > '{now_micro}')) / 86400, 0)"
        minute = f"substr({since}, 1, 16)"
        needs_quotes = """stuck.id GLOB '*[,"' || char(10) || ']*'"""
    else:
        # The difference of two timestamptz is exact in microseconds, with its whole days apart.
        days = f"CAST(GREATEST(date_part('day', {_pg_timestamp(now)} - {since}), 0) AS INTEGER)"
        minute = f"to_char({since} AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')"
        needs_quotes = "strpos(stuck.id, ',') > 0 OR strpos(stuck.id, '\"') > 0 OR strpos(stuck.id, chr(10)) > 0"
    # commands.spreadsheet.safe_cell in SQL: an id a spreadsheet would read as a formula (or that starts with
    # the mark itself) gets a leading quote mark.
    char = "char" if dialect == "sqlite" else "chr"
    starts = ", ".join(f"{char}({ord(c)})" for c in (*FORMULA_STARTS, MARK))
    cell = f"CASE WHEN substr(stuck.id, 1, 1) IN ({starts}) THEN {char}({ord(MARK)}) || stuck.id ELSE stuck.id END"
    customer_id = f"""CASE WHEN {needs_quotes} THEN '"' || replace({cell}, '"', '""') || '"' ELSE {cell} END"""
    # Constant pieces come whole out of CASEs: at 300k lines every concatenation counts.
    utility = "CASE stuck.utility " + " ".join(f"WHEN '{u.value}' THEN ',{u.value},'" for u in Utility) + (
        " ELSE ',' || stuck.utility || ',' END"
    )
    category_action = "CASE stuck.reason " + " ".join(
        f"WHEN '{reason.value}' THEN '{reason.value},{action.value},'" for reason, action in REASON_ACTIONS.items()
    ) + " END"
    return literal_column(
        f"{customer_id} || {utility} || {category_action} || "
        f"CASE WHEN {since} IS NULL THEN ',' ELSE {days} || ',' || {minute} END",
        String(),
    )


def _pg_timestamp(moment: datetime) -> str:
    return f"TIMESTAMPTZ '{moment.astimezone(UTC).isoformat()}'"


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


def _tune(session: Session, dialect: str) -> None:
    if dialect == "postgresql":
        # JIT-compiling this one-off query costs more than it saves (a quarter second at a million rows).
        session.execute(text("SET LOCAL jit = off"))


def _utc(value: str | datetime | None) -> datetime | None:
    """A stored moment as it comes back, SQLite's text (UTC, no offset) or a datetime, as an aware UTC one."""
    if value is None:
        return None
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def count_stuck(session: Session, now: datetime) -> dict[Reason, int]:
    """Stuck customers per category (the App Home's live counts)."""
    dialect = session.get_bind().dialect.name
    _tune(session, dialect)
    stuck = stuck_customers(now).subquery("stuck")
    rows = session.execute(
        select(stuck.c.reason, func.count()).where(stuck.c.reason.is_not(None)).group_by(stuck.c.reason)
    ).all()
    found = {Reason(reason): int(n) for reason, n in rows}
    return {r: found.get(r, 0) for r in STUCK_REASONS}


# --- escalations ------------------------------------------------------------------------------------


def escalation_ages(session: Session, now: datetime) -> dict[EscalationAge, int]:
    """Open escalations per age bucket."""
    opened = EscalationRow.opened_at
    bucket = case(
        *[(opened > now - limit, literal(age.value)) for age, limit in ESCALATION_AGE_LIMITS],
        else_=literal(EscalationAge.OVER_7_DAYS.value),
    )
    rows = session.execute(
        select(bucket, func.count()).where(EscalationRow.status == Status.OPEN.value).group_by(bucket)
    ).all()
    found = {EscalationAge(age): int(n) for age, n in rows}
    return {age: found.get(age, 0) for age in EscalationAge}


def stuck_counts(session: Session, now: datetime) -> StuckCounts:
    """The live counts: stuck customers per category and open escalations per age."""
    return StuckCounts(count_stuck(session, now), escalation_ages(session, now))
