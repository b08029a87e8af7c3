"""Persistence: SQLAlchemy 2.0 entities, engine and sessions, queries, Alembic migrations.

Importing the package registers every table on `Base.metadata`.
"""

from models import (  # noqa: F401
    audit,
    customer_summary,
    customers,
    escalations,
    history,
    outbox,
    outcomes,
    slack_events,
    sync,
)
from models.db import DEFAULT_DATABASE_URL, Database, DatabaseError
from models.digest import runs  # noqa: F401

__all__ = ["DEFAULT_DATABASE_URL", "Database", "DatabaseError"]
