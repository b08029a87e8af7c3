"""Import fingerprints: each customer and authorization keeps the fingerprint of the CSV row it was last
imported from, so a re-import checks only the rows that changed.

Existing rows get none (NULL): the first import after this migration reads and checks every row, as before,
and fingerprints them.

Revision ID: 0014
Revises: 0012
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0012"
branch_labels = None
depends_on = None

_TABLES = ("customers", "authorizations")


def upgrade() -> None:
    for table in _TABLES:
        # A nullable column without a default: a change of the table's definition only, on both databases.
        op.add_column(table, sa.Column("import_fingerprint", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    for table in _TABLES:
        # Plain DROP COLUMN (SQLite 3.35+): a batch rebuild of the table would lose its triggers (0006).
        op.execute(f"ALTER TABLE {table} DROP COLUMN import_fingerprint")
