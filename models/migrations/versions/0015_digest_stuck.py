"""Who was stuck at each digest, so the next one can say who is newly stuck.

`digest_stuck` holds the customer ids a posted digest counted as stuck, keyed by the digest; the
channel keeps only the snapshots its next digests compare with (models/digest/runs.py prunes the rest).
No foreign key to `digests`: PostgreSQL checks one per inserted row, a second for 60,000 rows measured
(hundreds of thousands are inserted at once), and digests are never deleted; pruning goes by digest id.
`digests.stuck_recorded` says whether a digest has its snapshot: a digest with nobody stuck has no rows
either, and a digest posted before this revision, or pruned since, has none to compare with ("newly
stuck" is then unknown, not zero). Existing digests are marked as not recorded.

Revision ID: 0015
Revises: 0014
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column(
        "digests", sa.Column("stuck_recorded", sa.Boolean(), nullable=False, server_default=sa.false())
    )
    op.create_table(
        "digest_stuck",
        sa.Column("digest_id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sa.String(64), nullable=False),
        sa.PrimaryKeyConstraint("digest_id", "customer_id", name="pk_digest_stuck"),
        # One b-tree instead of a table and its primary-key index: a snapshot is hundreds of thousands of rows.
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("digest_stuck")
    with op.batch_alter_table("digests") as batch:
        batch.drop_column("stuck_recorded")
