"""Database access: the tables, the engine and the schema migrations."""

from faceloop.db.engine import connect, session_factory
from faceloop.db.migrate import upgrade

__all__ = ["connect", "session_factory", "upgrade"]
