"""Escalated cases (one open case per customer) and follow-up clocks.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from models.base import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

OPEN = sa.text("status = 'open'")


def upgrade() -> None:
    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("opened_at", UTCDateTime(), nullable=False),
        sa.Column("opened_by", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("ticket_id", sa.String(64)),
        sa.Column("ticket_url", sa.Text()),
        sa.Column("note", sa.Text()),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("parent_ts", sa.String(32)),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("taken_by", sa.String(64)),
        sa.Column("taken_at", UTCDateTime()),
        sa.Column("resolved_by", sa.String(64)),
        sa.Column("resolved_at", UTCDateTime()),
        sa.Column("resolution", sa.String(16)),
        sa.PrimaryKeyConstraint("id", name="pk_escalations"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_escalations_customer_id_customers", ondelete="CASCADE"
        ),
        sa.CheckConstraint("status IN ('open', 'resolved')", name="ck_escalations_status"),
    )
    # At most one open case per customer; opening a case is an INSERT claiming this index.
    op.create_index(
        "ix_escalations_customer_id", "escalations", ["customer_id"], unique=True,
        sqlite_where=OPEN, postgresql_where=OPEN,
    )
    op.create_table(
        "follow_ups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("due_at", UTCDateTime(), nullable=False),
        sa.Column("escalation_id", sa.Integer()),
        sa.Column("agent", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("fired_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_follow_ups"),
        sa.UniqueConstraint("customer_id", "due_at", name="uq_follow_ups_customer_id_due_at"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_follow_ups_customer_id_customers", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["escalation_id"], ["escalations.id"], name="fk_follow_ups_escalation_id_escalations",
            ondelete="SET NULL",
        ),
        sa.CheckConstraint("status IN ('pending', 'fired')", name="ck_follow_ups_status"),
    )
    op.create_index("ix_follow_ups_status_due_at", "follow_ups", ["status", "due_at"])


def downgrade() -> None:
    op.drop_index("ix_follow_ups_status_due_at", "follow_ups")
    op.drop_table("follow_ups")
    op.drop_index("ix_escalations_customer_id", "escalations")
    op.drop_table("escalations")
