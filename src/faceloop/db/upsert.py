"""Writes that tolerate a concurrent writer of the same row.

Two imports (a command-line run, an upload's job, later a collection run) may store the same
photo or create the same source at the same moment. Checking first and inserting after races;
`INSERT … ON CONFLICT DO NOTHING` does not, on SQLite and PostgreSQL alike. And where a decision
depends on what is stored ("label this face unless someone did"), `serialize` makes the check and
the write one step for every writer that asks for it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Insert, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

#: any constant: the PostgreSQL advisory lock that serialized transactions take
_SERIAL_LOCK = 0x66616365


def insert_new(session: Session, model: type, conflict: list[str], **values: Any) -> int | None:
    """Insert a row unless one with the same `conflict` columns exists; the new row's id, or
    None when another writer got there first."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    statement: Insert = module.insert(model).values(**values)
    statement = statement.on_conflict_do_nothing(index_elements=conflict)
    return session.scalar(statement.returning(model.id))


def serialize(session: Session) -> None:
    """Make this transaction wait for (and then exclude) every other serialized one, before it
    reads: on SQLite by taking the write lock now (`BEGIN IMMEDIATE`), on PostgreSQL with a
    transaction-scoped advisory lock. Call it first in the transaction."""
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        session.execute(text("BEGIN IMMEDIATE"))
    elif dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SERIAL_LOCK})
