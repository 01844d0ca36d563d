"""Bulk writes that bypass the ORM: COPY on PostgreSQL, executemany on SQLite.

Used by the set-based jobs (monthly review, payment cycles) and the benchmarks' data loaders.
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any, Iterable, Iterator, Mapping, Sequence

from sqlalchemy.orm import Session



def bulk_insert(session: Session, table, rows: Sequence[Mapping[str, Any]] | Iterable[tuple],
                columns: Sequence[str] | None = None) -> int:
    """Insert many rows in one go: COPY on PostgreSQL, executemany elsewhere.

    ``rows`` are mappings, or tuples in the order of ``columns``.  Values must already be plain
    (str, int, Decimal, date, aware datetime; JSON columns as text); nothing is flushed through the ORM.
    """
    table = getattr(table, "__table__", table)
    rows = list(rows)
    if not rows:
        return 0
    if columns is None:
        columns = list(rows[0].keys())
        tuples = [tuple(r[c] for c in columns) for r in rows]
    else:
        tuples = [tuple(r) for r in rows]
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        cols = ", ".join(f'"{c}"' for c in columns)
        with raw.cursor() as cur:
            with cur.copy(f'COPY "{table.name}" ({cols}) FROM STDIN') as copy:
                for t in tuples:
                    copy.write_row(t)
        return len(tuples)
    conn.exec_driver_sql(
        f'INSERT INTO "{table.name}" ({", ".join(columns)}) VALUES ({", ".join("?" for _ in columns)})',
        [tuple(sqlite_value(v) for v in t) for t in tuples])
    return len(tuples)


def sqlite_value(v):
    """What SQLAlchemy would store on SQLite: Decimal as text, aware datetimes as naive UTC."""
    if isinstance(v, Decimal):
        return str(v)
    if isinstance(v, datetime):
        if v.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return v.astimezone(timezone.utc).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    if isinstance(v, date):
        return v.isoformat()
    return v


def chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    for i in range(0, len(items), size):
        yield items[i:i + size]

