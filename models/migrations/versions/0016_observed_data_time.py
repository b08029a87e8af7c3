"""History: the data time each observed connection rests on, so that a connection lapsing with time is found
by an index range rather than by comparing every customer.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from models.base import UTCDateTime

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("observed_connections") as table:
        table.add_column(sa.Column("last_data_at", UTCDateTime()))
    op.execute(
        "UPDATE observed_connections SET last_data_at = "
        "(SELECT c.last_data_at FROM customers c WHERE c.id = observed_connections.customer_id) WHERE connected"
    )
    op.create_index("ix_observed_connections_last_data_at", "observed_connections", ["last_data_at"])


def downgrade() -> None:
    op.drop_index("ix_observed_connections_last_data_at", "observed_connections")
    with op.batch_alter_table("observed_connections") as table:
        table.drop_column("last_data_at")
