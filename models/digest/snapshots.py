"""Who was stuck at each posted digest (migration 0015): what "newly stuck" is measured against."""

from __future__ import annotations

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class DigestStuckRow(Base):
    """One customer the digest counted as stuck. A digest's rows are its snapshot only when
    `digests.stuck_recorded` is true: nobody stuck leaves no rows either. No foreign key (migration 0015):
    PostgreSQL would check it once per row of a snapshot of hundreds of thousands."""

    __tablename__ = "digest_stuck"
    # A snapshot is hundreds of thousands of rows: one b-tree on SQLite, not a table and its key's index.
    __table_args__ = ({"sqlite_with_rowid": False},)

    digest_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    customer_id: Mapped[str] = mapped_column(String(64), primary_key=True)
