"""Two SQL helpers the set-based benefit statements share."""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator

from sqlalchemy import and_, text
from sqlalchemy.orm import Session


def prefix_range(column, prefix: str):
    """``column LIKE prefix%`` as an index range (region codes are digits)."""
    return and_(column >= prefix, column < prefix + "~") if prefix else column.isnot(None)


@contextmanager
def hash_anti_joins(session: Session) -> Iterator[None]:
    """Statements inside insert into a table they also anti-join against ("no row yet").

    As a nested loop over a table the planner believes small (empty at the last ANALYZE, e.g. a
    county's first draft), PostgreSQL rescans the growing heap for every row: quadratic.  With
    nested loops off it takes a hash or merge anti-join and reads the table once.  SQLite probes
    the unique index for each row and needs nothing.
    """
    postgres = session.get_bind().dialect.name == "postgresql"
    if postgres:
        session.execute(text("SET LOCAL enable_nestloop = off"))
    try:
        yield
    finally:
        if postgres:
            session.execute(text("SET LOCAL enable_nestloop = on"))
