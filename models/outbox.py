"""The outbox: side effects that must happen exactly once, delivered later when a service is down.

A row is claimed by INSERT (its `dedupe_key` is unique) and delivered under a lease taken by a
conditional UPDATE, so several instances never deliver one row twice.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class OutboxStatus(StrEnum):
    """Where a row stands; stored as its value in a plain String column."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class OutboxRow(Base):
    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    dedupe_key: Mapped[str] = mapped_column(String(200), unique=True)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.PENDING)  # an OutboxStatus value
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime]
    next_attempt_at: Mapped[datetime]
    leased_until: Mapped[datetime | None]
    leased_by: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)


Index("ix_outbox_status_next_attempt_at", OutboxRow.status, OutboxRow.next_attempt_at)
