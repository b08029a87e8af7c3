"""Alembic environment: run with the connection the caller passes (see models.db.Database.upgrade)."""

from __future__ import annotations

from alembic import context

import models  # noqa: F401  (registers every table on the metadata)
from models.base import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
