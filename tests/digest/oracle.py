"""Python oracles the digest's SQL is held to: the category `/reauth-check`'s recommendation puts a customer
in, every stuck customer as an object, longest stuck first, and the CSV `csv.writer` makes of them. The
product works all of these out in the database; these take the slow, plain way."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from datetime import UTC, datetime

from sqlalchemy import select, type_coerce
from sqlalchemy.orm import Session

from bot.features.digest.blocks import ListWriter
from commands.digest import REASON_ACTIONS, StuckCustomer
from commands.policy import Utility
from commands.rules import Reason, Recommendation
from commands.spreadsheet import safe_cell
from models.base import UTCDateTime
from models.digest.queries import stuck_customers

STUCK_ACTIONS = frozenset(REASON_ACTIONS.values())
# What the database writes for stuck-since (models.digest.queries.csv_line).
SINCE_FORMAT = "%Y-%m-%d %H:%M"


def stuck_reason(recommendation: Recommendation) -> Reason | None:
    """The digest category of a customer with this recommendation; None when nobody needs to act
    (healthy, first connection, or still inside the verification window)."""
    if recommendation.action not in STUCK_ACTIONS:
        return None
    first = recommendation.reasons[0]
    return first if REASON_ACTIONS.get(first) is recommendation.action else None


def every_stuck_customer(session: Session, now: datetime) -> list[StuckCustomer]:
    """Every stuck customer, in the full list's order."""
    stuck = stuck_customers(now).subquery("stuck")
    # The CASE that makes stuck_since loses the column's type: SQLite would hand back text.
    since = type_coerce(stuck.c.stuck_since, UTCDateTime())
    rows = session.execute(
        select(stuck.c.id, stuck.c.utility, stuck.c.reason, since)
        .where(stuck.c.reason.is_not(None))
        .order_by(since.asc().nulls_last(), stuck.c.id)
    )
    return [StuckCustomer(customer_id, Utility(utility), Reason(reason), stuck_since)
            for customer_id, utility, reason, stuck_since in rows]


def csv_row(customer: StuckCustomer, now: datetime) -> tuple[str, ...]:
    days = customer.days_stuck(now)
    since = customer.stuck_since
    return (
        safe_cell(customer.customer_id),
        customer.utility.value,
        customer.reason.value,
        REASON_ACTIONS[customer.reason].value,
        "" if days is None else str(days),
        "" if since is None else since.astimezone(UTC).strftime(SINCE_FORMAT),
    )


def csv_lines(customers: Iterable[StuckCustomer], now: datetime) -> list[str]:
    """One CSV line per customer, as `csv.writer` writes it (a quoted id may hold a newline)."""
    lines = []
    for customer in customers:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\n").writerow(csv_row(customer, now))
        lines.append(buffer.getvalue().removesuffix("\n"))
    return lines


def csv_document(customers: Iterable[StuckCustomer], now: datetime) -> bytes:
    writer = ListWriter(keep=0)
    writer.write_lines(csv_lines(customers, now))
    return writer.csv_bytes()
