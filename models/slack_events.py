"""Slack events already handled, by event_id: Slack retries an event it thinks was lost, up to 3 times."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class SlackEventRow(Base):
    """Events API deliveries already handled: Slack retries up to 3 times, so dedupe by event_id."""

    __tablename__ = "slack_events"

    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    received_at: Mapped[datetime]
