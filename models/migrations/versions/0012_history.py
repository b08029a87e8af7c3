"""History: the transitions imports and syncs observe, and the state they were observed against.

Revision ID: 0012
Revises: 0010
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from models.base import UTCDateTime

revision = "0012"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # One row: when history began. Outcomes before it are unknown, not zero.
    op.create_table(
        "history_start",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_history_start"),
    )
    op.create_table(
        "observed_authorizations",
        sa.Column("authorization_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("authorization_id", name="pk_observed_authorizations"),
    )
    op.create_table(
        "observed_connections",
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("connected", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("customer_id", name="pk_observed_connections"),
    )
    op.create_table(
        "transitions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("authorization_id", sa.String(64)),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at", UTCDateTime(), nullable=False),
        sa.Column("observed_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_transitions"),
        sa.CheckConstraint("kind IN ('granted', 'revoked', 'connected', 'disconnected')",
                           name="ck_transitions_kind"),
    )
    op.create_index("ix_transitions_customer_id_kind_at", "transitions", ["customer_id", "kind", "at"])
    op.create_index("ix_transitions_at", "transitions", ["at"])
    op.create_table(
        "outcome_posts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("week", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("claimed_at", UTCDateTime(), nullable=False),
        sa.Column("ts", sa.String(32)),
        sa.Column("posted_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_outcome_posts"),
        sa.UniqueConstraint("week", "channel", name="uq_outcome_posts_week_channel"),
    )


def downgrade() -> None:
    op.drop_table("outcome_posts")
    op.drop_table("transitions")
    op.drop_table("observed_connections")
    op.drop_table("observed_authorizations")
    op.drop_table("history_start")
