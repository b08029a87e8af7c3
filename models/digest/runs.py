"""The daily digest's runs: one row per day and channel, claimed by INSERT, posted under a lease.

States: `claimed` (the row exists, nothing sent), `posting` (an attempt holds or held the lease),
`posted` (the channel message exists and its ts is recorded; thread replies may be missing),
`done` (the thread is complete). A crash leaves `claimed` or `posting` with an expired lease, and the
next trigger takes the lease over and finishes the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, cast

from sqlalchemy import (
    JSON,
    Boolean,
    CursorResult,
    Date,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    case,
    delete,
    false,
    func,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from commands.digest import PastDigest
from models.base import Base
from models.claims import insert_if_absent
from models.customers import AuthorizationRow
from models.digest.queries import record_stuck
from models.digest.snapshots import DigestStuckRow


class DigestState(StrEnum):
    CLAIMED = "claimed"
    POSTING = "posting"
    POSTED = "posted"
    DONE = "done"


UNFINISHED = (DigestState.CLAIMED, DigestState.POSTING, DigestState.POSTED)


class DigestRow(Base):
    __tablename__ = "digests"
    __table_args__ = (UniqueConstraint("day", "channel"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    channel: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    claimed_at: Mapped[datetime]
    claimed_by: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    leased_until: Mapped[datetime | None]
    leased_by: Mapped[str | None] = mapped_column(String(64))
    # When the first attempt started: a message found in the channel after it may be this run's post.
    first_attempt_at: Mapped[datetime | None]
    as_of: Mapped[datetime | None]
    ts: Mapped[str | None] = mapped_column(String(32))
    posted_at: Mapped[datetime | None]
    # Stuck customers per category (and open escalations) as posted, so the next digest shows the change.
    counts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    total: Mapped[int | None] = mapped_column(Integer)
    replies_posted: Mapped[int] = mapped_column(Integer, default=0)
    # Who was stuck is in digest_stuck (migration 0015); false before then, and once pruned.
    stuck_recorded: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    finished_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)


# The digest reads each not-connected customer's live authorizations through this covering partial index
# (migration 0005); its predicate is the digest query's own.
_LIVE = text("status IN ('active', 'pending')")
Index(
    "ix_authorizations_customer_id_status_granted_at",
    AuthorizationRow.customer_id,
    AuthorizationRow.status,
    AuthorizationRow.granted_at,
    AuthorizationRow.authorized_end,
    AuthorizationRow.function_blocks,
    sqlite_where=_LIVE,
    postgresql_where=_LIVE,
)


@dataclass(frozen=True)
class DigestRun:
    """A snapshot of one day's run in one channel."""

    id: int
    day: date
    channel: str
    state: str
    attempts: int
    first_attempt_at: datetime | None
    ts: str | None
    posted_at: datetime | None
    counts: dict[str, Any] | None
    total: int | None
    replies_posted: int
    finished_at: datetime | None


def claim(session: Session, day: date, channel: str, *, now: datetime, by: str) -> bool:
    """Claim the day's digest for the channel; True for exactly one caller across every instance."""
    return insert_if_absent(
        session,
        DigestRow.__table__,
        {"day": day, "channel": channel, "state": DigestState.CLAIMED, "claimed_at": now, "claimed_by": by,
         "attempts": 0, "replies_posted": 0},
        ["day", "channel"],
    )


def take_lease(session: Session, day: date, channel: str, *, now: datetime, until: datetime, by: str) -> bool:
    """Take the run's lease unless it is finished or another live attempt holds it (the rowcount decides)."""
    statement = (
        update(DigestRow)
        .where(
            DigestRow.day == day,
            DigestRow.channel == channel,
            DigestRow.state.in_(UNFINISHED),
            DigestRow.leased_until.is_(None) | (DigestRow.leased_until < now),
        )
        .values(
            state=_posting_unless_posted(),
            leased_until=until,
            leased_by=by,
            attempts=DigestRow.attempts + 1,
            first_attempt_at=_coalesce(DigestRow.first_attempt_at, now),
        )
    )
    return cast(CursorResult[Any], session.execute(statement)).rowcount == 1


def _posting_unless_posted() -> Any:
    return case((DigestRow.state == DigestState.POSTED, DigestState.POSTED), else_=DigestState.POSTING)


def _coalesce(column: Any, value: datetime) -> Any:
    return func.coalesce(column, literal(value, DigestRow.first_attempt_at.type))


def record_post(
    session: Session, run_id: int, *, by: str, ts: str, now: datetime, as_of: datetime, counts: dict[str, Any],
    total: int, compared_with: date | None,
) -> bool:
    """Record the channel message of the run and who was stuck at `as_of`; False when this attempt no
    longer holds the lease. `compared_with`: the day of the digest this one compared with (None: none)."""
    statement = (
        update(DigestRow)
        .where(DigestRow.id == run_id, DigestRow.leased_by == by, DigestRow.ts.is_(None))
        .values(state=DigestState.POSTED, ts=ts, posted_at=now, as_of=as_of, counts=counts, total=total,
                stuck_recorded=True)
    )
    if cast(CursorResult[Any], session.execute(statement)).rowcount != 1:
        return False
    record_stuck(session, run_id, as_of)
    channel, day = session.execute(select(DigestRow.channel, DigestRow.day).where(DigestRow.id == run_id)).one()
    prune_stuck(session, channel, before=compared_with or day)
    return True


def prune_stuck(session: Session, channel: str, *, before: date) -> None:
    """Forget who was stuck at the channel's digests before `before`: the next digests compare with this
    one or a later one, and a preview of this one with the digest it compared with (kept). A digest run
    later for an earlier day finds no snapshot and says nothing of newly stuck."""
    older = select(DigestRow.id).where(
        DigestRow.channel == channel, DigestRow.day < before, DigestRow.stuck_recorded.is_(True)
    )
    ids = list(session.scalars(older))
    if not ids:
        return
    session.execute(delete(DigestStuckRow).where(DigestStuckRow.digest_id.in_(ids)))
    session.execute(update(DigestRow).where(DigestRow.id.in_(ids)).values(stuck_recorded=False))


def record_replies(session: Session, run_id: int, *, by: str, replies_posted: int) -> bool:
    statement = (
        update(DigestRow)
        .where(DigestRow.id == run_id, DigestRow.leased_by == by)
        .values(replies_posted=replies_posted)
    )
    return cast(CursorResult[Any], session.execute(statement)).rowcount == 1


def finish(session: Session, run_id: int, *, by: str, now: datetime) -> bool:
    statement = (
        update(DigestRow)
        .where(DigestRow.id == run_id, DigestRow.leased_by == by, DigestRow.state == DigestState.POSTED)
        .values(state=DigestState.DONE, finished_at=now, leased_until=None, leased_by=None, last_error=None)
    )
    return cast(CursorResult[Any], session.execute(statement)).rowcount == 1


def release(session: Session, run_id: int, *, by: str, error: str) -> None:
    """Give the lease back after a failed attempt, so the next trigger retries at once."""
    session.execute(
        update(DigestRow)
        .where(DigestRow.id == run_id, DigestRow.leased_by == by)
        .values(leased_until=None, leased_by=None, last_error=error[:2000])
    )


def get_run(session: Session, day: date, channel: str) -> DigestRun | None:
    row = session.scalars(select(DigestRow).where(DigestRow.day == day, DigestRow.channel == channel)).one_or_none()
    return _run(row) if row else None


def previous_digests(session: Session, channel: str, day: date, days: int) -> list[PastDigest]:
    """The posted digests of the channel in the `days` days before `day`, oldest first."""
    rows = session.execute(
        select(DigestRow.day, DigestRow.counts, DigestRow.id, DigestRow.stuck_recorded)
        .where(
            DigestRow.channel == channel,
            DigestRow.day < day,
            DigestRow.day >= day - timedelta(days=days),
            DigestRow.counts.is_not(None),
        )
        .order_by(DigestRow.day)
    ).all()
    return [PastDigest.from_json(d, counts, digest_id if recorded else None) for d, counts, digest_id, recorded in rows]


def last_posted_at(session: Session, channel: str | None = None) -> datetime | None:
    """When the newest digest (of the channel, or of any) was posted."""
    query = select(DigestRow.posted_at).where(DigestRow.posted_at.is_not(None))
    if channel is not None:
        query = query.where(DigestRow.channel == channel)
    return session.scalars(query.order_by(DigestRow.posted_at.desc()).limit(1)).first()


def _run(row: DigestRow) -> DigestRun:
    return DigestRun(
        id=row.id, day=row.day, channel=row.channel, state=row.state, attempts=row.attempts,
        first_attempt_at=row.first_attempt_at, ts=row.ts, posted_at=row.posted_at,
        counts=dict(row.counts) if row.counts is not None else None, total=row.total,
        replies_posted=row.replies_posted, finished_at=row.finished_at,
    )
