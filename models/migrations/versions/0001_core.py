"""Customers, authorizations, procedures sent, and the lookup audit.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from models.base import UTCDateTime

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "customers",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("email", sa.String(320)),
        sa.Column("email_key", sa.String(320)),
        sa.Column("name", sa.String(200)),
        sa.Column("utility", sa.String(8), nullable=False),
        sa.Column("enrollment_status", sa.String(16)),
        sa.Column("last_data_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_customers"),
    )
    op.create_index("ix_customers_email_key", "customers", ["email_key"])
    op.create_table(
        "authorizations",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("granted_at", UTCDateTime()),
        sa.Column("scope", sa.Text()),
        sa.Column("authorized_end", UTCDateTime()),
        sa.Column("revoked_at", UTCDateTime()),
        sa.PrimaryKeyConstraint("id", name="pk_authorizations"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_authorizations_customer_id_customers", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_authorizations_customer_id", "authorizations", ["customer_id"])
    op.create_table(
        "procedures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("sent_at", UTCDateTime(), nullable=False),
        sa.Column("ticket_id", sa.String(64), nullable=False),
        sa.Column("agent", sa.String(64)),
        sa.Column("template", sa.String(64)),
        sa.PrimaryKeyConstraint("id", name="pk_procedures"),
        sa.UniqueConstraint("customer_id", "sent_at", "ticket_id", name="uq_procedures_customer_id_sent_at_ticket_id"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_procedures_customer_id_customers", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_procedures_ticket_id", "procedures", ["ticket_id"])
    op.create_table(
        "lookups",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("looked_up_at", UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_lookups"),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name="fk_lookups_customer_id_customers", ondelete="CASCADE"
        ),
    )
    op.create_index("ix_lookups_customer_id", "lookups", ["customer_id"])


def downgrade() -> None:
    op.drop_table("lookups")
    op.drop_table("procedures")
    op.drop_table("authorizations")
    op.drop_index("ix_customers_email_key", "customers")
    op.drop_table("customers")
