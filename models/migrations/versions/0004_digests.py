"""The daily digest: one row per day and channel; authorizations' function blocks as a mask; the digest's index.

Revision ID: 0004
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from models.base import UTCDateTime
from models.function_blocks import function_block_mask

# Written here, not imported: a migration must not change when the code does.
LIVE_STATUS_SQL = "('active', 'pending')"

revision = "0004"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "authorizations", sa.Column("function_blocks", sa.BigInteger(), nullable=False, server_default="0")
    )
    _fill_function_blocks()
    # The live authorizations only (a third of them), with every column the digest reads: the digest
    # seeks each not-connected customer's rows here without touching the table. The predicate must stay
    # the query's own (models.digest.queries.LIVE_STATUS_VALUES) for SQLite to use the index.
    live = sa.text(f"status IN {LIVE_STATUS_SQL}")
    op.create_index(
        "ix_authorizations_customer_id_status_granted_at",
        "authorizations",
        ["customer_id", "status", "granted_at", "authorized_end", "function_blocks"],
        sqlite_where=live,
        postgresql_where=live,
    )
    op.create_table(
        "digests",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("claimed_at", UTCDateTime(), nullable=False),
        sa.Column("claimed_by", sa.String(64), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("leased_until", UTCDateTime()),
        sa.Column("leased_by", sa.String(64)),
        sa.Column("first_attempt_at", UTCDateTime()),
        sa.Column("as_of", UTCDateTime()),
        sa.Column("ts", sa.String(32)),
        sa.Column("posted_at", UTCDateTime()),
        sa.Column("counts", sa.JSON()),
        sa.Column("total", sa.Integer()),
        sa.Column("replies_posted", sa.Integer(), nullable=False),
        sa.Column("finished_at", UTCDateTime()),
        sa.Column("last_error", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_digests"),
        sa.UniqueConstraint("day", "channel", name="uq_digests_day_channel"),
    )


def _fill_function_blocks() -> None:
    # Few distinct scope strings exist (each utility sends a handful), so one UPDATE per distinct scope.
    connection = op.get_bind()
    scopes = connection.execute(sa.text("SELECT DISTINCT scope FROM authorizations WHERE scope IS NOT NULL"))
    for (scope,) in scopes.all():
        mask = function_block_mask(scope)
        if mask:
            connection.execute(
                sa.text("UPDATE authorizations SET function_blocks = :mask WHERE scope = :scope"),
                {"mask": mask, "scope": scope},
            )


def downgrade() -> None:
    op.drop_table("digests")
    op.drop_index("ix_authorizations_customer_id_status_granted_at", "authorizations")
    with op.batch_alter_table("authorizations") as batch:
        batch.drop_column("function_blocks")
