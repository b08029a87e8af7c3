"""The Green Button sync's tables: the company's subscription-to-customer mapping, where each synced
authorization came from, and the per-utility lease that lets one instance at a time sync."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class SubscriptionRow(Base):
    """A Green Button subscription (or retail customer) URI the company knows as one of its customers."""

    __tablename__ = "greenbutton_subscriptions"

    resource_uri: Mapped[str] = mapped_column(String(1000), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"), index=True)


class SyncedAuthorizationRow(Base):
    """An authorization read from a data custodian: which one, so that a complete feed without it revokes it."""

    __tablename__ = "greenbutton_authorizations"

    authorization_id: Mapped[str] = mapped_column(
        ForeignKey("authorizations.id", ondelete="CASCADE"), primary_key=True
    )
    utility: Mapped[str] = mapped_column(String(8), index=True)
    authorization_uri: Mapped[str] = mapped_column(Text)


class SyncRunRow(Base):
    """One row per utility: who holds the sync until when, and how the last run went."""

    __tablename__ = "sync_runs"

    utility: Mapped[str] = mapped_column(String(8), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64))
    lease_until: Mapped[datetime]
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    outcome: Mapped[str | None] = mapped_column(String(200))
