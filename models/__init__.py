"""Persistence: SQLAlchemy 2.0 entities, engine and sessions, queries, Alembic migrations.

Importing the package registers every table on `Base.metadata`.
"""

from models import customers, escalations, history, outbox, outcomes, slack_events  # noqa: F401
from models.db import DEFAULT_DATABASE_URL, Database, DatabaseError
from models.digest import runs  # noqa: F401

__all__ = ["DEFAULT_DATABASE_URL", "Database", "DatabaseError"]
