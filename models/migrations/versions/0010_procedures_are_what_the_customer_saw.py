"""A procedure is what the customer saw: past internal notes stop counting as steps sent.

Until now every post of the canned steps the bot delivered recorded a procedure, internal notes
included, although the customer never sees a note: the 7-day clock started, the guardrail warned
"Steps already went to this customer" and the next check could escalate. From this revision on only a
customer-visible reply (or an agent's "I sent them myself") records one, so `procedures` means "steps
the customer received", as its imported rows always did.

Past internal notes: each delivered internal-note post (`outbox` kind `helpdesk_note`, `public` false)
recorded exactly one procedure, with the post's customer, ticket, delivery time (`result.posted_at`) and
template; that row is deleted. The note itself is not lost: its outbox row keeps what was posted, to
which ticket, by whom and when. Imported procedures, replies, and anything whose key does not match a
note are kept. The summary on `customers` (migration 0006) follows by its triggers. Follow-up clocks a
note set and case-thread replies it posted are left as they are: they already happened.

Downgrade puts the deleted rows back from the same outbox rows.

Revision ID: 0010
Revises: 0008
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from models.base import UTCDateTime

revision = "0010"
down_revision = "0008"
branch_labels = None
depends_on = None

# Written here, not imported: a migration must not change when the code does.
_OUTBOX = sa.table(
    "outbox", sa.column("kind", sa.String), sa.column("status", sa.String), sa.column("payload", sa.JSON),
    sa.column("result", sa.JSON),
)
_PROCEDURES = sa.table(
    "procedures", sa.column("customer_id", sa.String), sa.column("sent_at", UTCDateTime()),
    sa.column("ticket_id", sa.String), sa.column("agent", sa.String), sa.column("template", sa.String),
)
_CUSTOMERS = sa.table("customers", sa.column("id", sa.String))


def _past_notes(connection: sa.Connection) -> Iterator[dict[str, Any]]:
    """The procedure each delivered internal note recorded, as its columns."""
    rows = connection.execute(
        sa.select(_OUTBOX.c.payload, _OUTBOX.c.result)
        .where(_OUTBOX.c.kind == "helpdesk_note", _OUTBOX.c.status == "delivered")
    )
    for payload, result in rows:
        if not isinstance(payload, dict) or payload.get("public") or not isinstance(result, dict):
            continue
        posted_at = result.get("posted_at")
        if not posted_at:
            continue
        yield {
            "customer_id": str(payload["customer_id"]),
            "sent_at": datetime.fromisoformat(str(posted_at)),
            "ticket_id": str(payload["ticket_id"]),
            "agent": str(payload.get("agent") or "")[:64],
            "template": str(payload.get("template") or "")[:64],
        }


def upgrade() -> None:
    connection = op.get_bind()
    for note in list(_past_notes(connection)):
        connection.execute(sa.delete(_PROCEDURES).where(
            _PROCEDURES.c.customer_id == note["customer_id"],
            _PROCEDURES.c.sent_at == note["sent_at"],
            _PROCEDURES.c.ticket_id == note["ticket_id"],
            _PROCEDURES.c.template == note["template"],
        ))


def downgrade() -> None:
    connection = op.get_bind()
    for note in list(_past_notes(connection)):
        customer = connection.execute(sa.select(_CUSTOMERS.c.id).where(_CUSTOMERS.c.id == note["customer_id"]))
        there = connection.execute(sa.select(sa.func.count()).select_from(_PROCEDURES).where(
            _PROCEDURES.c.customer_id == note["customer_id"],
            _PROCEDURES.c.sent_at == note["sent_at"],
            _PROCEDURES.c.ticket_id == note["ticket_id"],
        )).scalar_one()
        if customer.first() is not None and not there:
            connection.execute(sa.insert(_PROCEDURES).values(**note))
