"""Regions: the national statistical division codes and their names (DESIGN decision 8).

A household's ``region_code`` is the full 12-digit village/community code; every other region is a
prefix of 2, 4, 6, 9 or 12 digits, never padded.  The table gives codes their names and parents for
pages and reports; codes not in it stay valid (a bureau loads its own division list).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import Base
from engine.errors import ValidationError

LEVELS = {2: "province", 4: "city", 6: "county", 9: "township", 12: "village"}


class RegionRow(Base):
    __tablename__ = "region"

    code: Mapped[str] = mapped_column(String(12), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    level: Mapped[str] = mapped_column(String(16))
    parent_code: Mapped[str | None] = mapped_column(String(12), index=True)


@dataclass(frozen=True)
class Region:
    code: str
    name: str
    level: str
    parent_code: str | None


def level_of(code: str) -> str:
    if not code.isdigit() or len(code) not in LEVELS:
        raise ValidationError(f"region code {code!r} is not 2, 4, 6, 9 or 12 digits",
                              {"code": ["2, 4, 6, 9 or 12 digits"]})
    return LEVELS[len(code)]


def parent_of(code: str) -> str | None:
    lengths = sorted(LEVELS)
    i = lengths.index(len(code))
    return code[: lengths[i - 1]] if i > 0 else None


def upsert(session: Session, code: str, name: str) -> Region:
    level = level_of(code)
    if not name or len(name) > 128:
        raise ValidationError("a region needs a name of at most 128 characters", {"name": ["required"]})
    row = session.get(RegionRow, code)
    if row is None:
        row = RegionRow(code=code, name=name, level=level, parent_code=parent_of(code))
        session.add(row)
    else:
        row.name = name
    session.flush()
    return Region(row.code, row.name, row.level, row.parent_code)


def name_of(session: Session, code: str) -> str:
    row = session.get(RegionRow, code)
    return row.name if row is not None else code


def path_of(session: Session, code: str) -> list[Region]:
    """The region and its ancestors, province first (only those the table knows)."""
    codes = [code[:n] for n in sorted(LEVELS) if n <= len(code)]
    rows = {r.code: r for r in session.execute(select(RegionRow).where(RegionRow.code.in_(codes))).scalars()}
    return [Region(r.code, r.name, r.level, r.parent_code) for c in codes if (r := rows.get(c)) is not None]


def children_of(session: Session, code: str | None) -> list[Region]:
    query = select(RegionRow).where(RegionRow.parent_code == code if code else RegionRow.parent_code.is_(None))
    return [Region(r.code, r.name, r.level, r.parent_code)
            for r in session.execute(query.order_by(RegionRow.code)).scalars()]
