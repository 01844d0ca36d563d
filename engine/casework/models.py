"""Tables of the shared casework data: households, standards, assessments.

Rows stay inside ``engine``; callers get the frozen dataclasses of :mod:`engine.casework.types`
through :mod:`engine.casework.records`.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import Date, ForeignKey, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base
from engine.types_sql import JSONText, Money, UTCDateTime
from engine.workflow.models import BigId


class HouseholdRow(Base):
    """One household; ``data`` is the full DESIGN.md household shape (ID numbers unmasked)."""

    __tablename__ = "household"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    region_code: Mapped[str] = mapped_column(String(12), index=True)  # 12-digit village code
    hukou: Mapped[str] = mapped_column(String(8))
    hukou_region_code: Mapped[str] = mapped_column(String(12))
    data: Mapped[dict] = mapped_column(JSONText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}


class StandardRow(Base):
    """One standards row for a region prefix, valid from a date (amounts in yuan)."""

    __tablename__ = "standard"
    __table_args__ = (UniqueConstraint("region_code", "valid_from"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    region_code: Mapped[str] = mapped_column(String(12), index=True)  # prefix of 2/4/6/9/12 digits
    valid_from: Mapped[date] = mapped_column(Date)
    dibao_urban: Mapped[Decimal] = mapped_column(Money)
    dibao_rural: Mapped[Decimal] = mapped_column(Money)
    tekun_urban: Mapped[Decimal | None] = mapped_column(Money)
    tekun_rural: Mapped[Decimal | None] = mapped_column(Money)
    care_self: Mapped[Decimal] = mapped_column(Money)
    care_partial: Mapped[Decimal] = mapped_column(Money)
    care_total: Mapped[Decimal] = mapped_column(Money)
    marginal_multiplier: Mapped[Decimal | None] = mapped_column(Numeric(8, 4, asdecimal=True))
    township_relief_limit: Mapped[Decimal] = mapped_column(Money)
    county_relief_limit: Mapped[Decimal | None] = mapped_column(Money)
    deposit_limit_per_capita: Mapped[Decimal | None] = mapped_column(Money)
    disposable_income_last_year: Mapped[Decimal | None] = mapped_column(Money)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(128))


class AssessmentRow(Base):
    """One programme's answer for one household on one date, as it was given (never updated)."""

    __tablename__ = "assessment"
    __table_args__ = (Index("ix_assessment_household_programme", "household_id", "programme"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("household.id"), index=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    programme: Mapped[str] = mapped_column(String(64))
    as_of: Mapped[date] = mapped_column(Date)
    result: Mapped[dict] = mapped_column(JSONText)
    rule_version: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(128))
