"""The audit trail: every act on a customer and every refusal; the once-a-day retention claim.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from models.base import UTCDateTime

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("customer_id", sa.String(64)),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("detail", sa.String(200)),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_events")),
    )
    op.create_index(op.f("ix_audit_events_at"), "audit_events", ["at"])
    op.create_index(op.f("ix_audit_events_agent"), "audit_events", ["agent"])
    op.create_index(op.f("ix_audit_events_customer_id"), "audit_events", ["customer_id"])
    # Retention deletes lookups by age too.
    op.create_index(op.f("ix_lookups_looked_up_at"), "lookups", ["looked_up_at"])
    op.create_table(
        "audit_prunes",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("pruned_at", UTCDateTime(), nullable=False),
        sa.Column("removed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", name=op.f("pk_audit_prunes")),
    )


def downgrade() -> None:
    op.drop_table("audit_prunes")
    op.drop_index(op.f("ix_lookups_looked_up_at"), table_name="lookups")
    op.drop_table("audit_events")
