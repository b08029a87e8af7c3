"""One head again: the escalations (0004) and digests (0005) branches were written side by side.

Revision ID: 0006
Revises: 0004, 0005
"""

from __future__ import annotations

revision = "0006"
down_revision = ("0004", "0005")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
