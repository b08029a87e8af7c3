"""The last file imported alone for each kind, and the state it left its table in.

An unchanged re-import read and fingerprinted every row of the file to learn that nothing changed: about the
cost of a plain `csv.reader` + `executemany` of the file, a third of a first import. The same bytes, imported
onto a table still as that import left it, cannot change anything either, and a digest of the bytes costs a
fraction of reading them as CSV (`models.imports.ImportBatch.unchanged`).

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "imported_files",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("table_state", sa.String(100), nullable=False),
        sa.PrimaryKeyConstraint("kind", name="pk_imported_files"),
    )


def downgrade() -> None:
    op.drop_table("imported_files")
