"""Persistence: SQLAlchemy 2.0 entities, engine and sessions, queries, Alembic migrations.

Importing the package registers every table on `Base.metadata`.
"""

from models import customers, digests, escalations, outbox  # noqa: F401
from models.db import DEFAULT_DATABASE_URL, Database, DatabaseError

__all__ = ["DEFAULT_DATABASE_URL", "Database", "DatabaseError"]
