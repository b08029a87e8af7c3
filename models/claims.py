"""Claim by INSERT: the database, not a read-then-write, decides who performs a side effect."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session


def insert_if_absent(session: Session, table: Any, values: dict[str, Any], keys: list[str]) -> bool:
    """INSERT the row unless one with the same unique `keys` exists; True when this call inserted it.

    ON CONFLICT DO NOTHING on both SQLite and PostgreSQL: a concurrent claimer waits on the unique
    index and then sees the conflict, so exactly one caller gets True.
    """
    assert isinstance(table, Table)
    return insert_returning(session, table, values, keys, [table.c[key] for key in keys]) is not None


def insert_returning(
    session: Session, table: Table, values: dict[str, Any], keys: list[str], returning: list[Any]
) -> Row[Any] | None:
    """`insert_if_absent`, giving the inserted row's `returning` columns (None when the key was taken)."""
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    statement = insert(table).values(**values).on_conflict_do_nothing(index_elements=keys).returning(*returning)
    # A row comes back only when this INSERT inserted. Not rowcount: with RETURNING (which SQLAlchemy
    # adds for the primary key on PostgreSQL) psycopg reports -1.
    return session.execute(statement).first()
