"""Tables of the public side: help requests, satisfaction ratings, the submission ledger that rate
limiting counts, local contacts and other departments' policies (migration 0008)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base
from engine.types_sql import JSONText, UTCDateTime
from engine.workflow.models import BigId


class HelpRequest(Base):
    """A request for help sent from the public form (码上办).

    The receipt code is shown once to the person who asked; only its sha256 is kept, so neither a
    database reader nor a guesser can open someone's receipt.
    """

    __tablename__ = "help_request"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    receipt_hash: Mapped[str] = mapped_column(String(64), unique=True)
    region_code: Mapped[str] = mapped_column(String(12), index=True)  # the village
    name: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str] = mapped_column(String(20), index=True)
    description: Mapped[str] = mapped_column(Text)
    urgency: Mapped[str] = mapped_column(String(24))  # normal | urgent | especially_urgent
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    signal_id: Mapped[int | None] = mapped_column(ForeignKey("signal.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)


class SatisfactionRating(Base):
    """One rating per help request, given after its case closed; ``followup_case_id`` is the
    follow-up opened by a ``dissatisfied`` rating."""

    __tablename__ = "satisfaction_rating"
    __table_args__ = (UniqueConstraint("help_request_id"),
                      Index("ix_rating_region_at", "region_code", "rated_at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    help_request_id: Mapped[int] = mapped_column(ForeignKey("help_request.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    region_code: Mapped[str] = mapped_column(String(12))
    rating: Mapped[str] = mapped_column(String(16))  # satisfied | neutral | dissatisfied
    comment: Mapped[str | None] = mapped_column(Text)
    rated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    followup_case_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"))


class PublicSubmission(Base):
    """Every accepted public form submission, for the rate limits (counted in the database, so the
    limit holds across gunicorn workers).  ``ip_key`` is a keyed hash of the address, never the
    address itself."""

    __tablename__ = "public_submission"
    __table_args__ = (Index("ix_public_submission_ip", "ip_key", "at"),
                      Index("ix_public_submission_phone", "phone", "at"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # help | objection | rating
    ip_key: Mapped[str] = mapped_column(String(64))
    phone: Mapped[str | None] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class RegionContact(Base):
    """Where to apply and whom to call, per region prefix (the longest prefix wins)."""

    __tablename__ = "region_contact"

    region_code: Mapped[str] = mapped_column(String(12), primary_key=True)
    office: Mapped[str] = mapped_column(String(128))
    address: Mapped[str | None] = mapped_column(String(255))
    hotline: Mapped[str] = mapped_column(String(32))


class DepartmentPolicy(Base):
    """A policy of another department (教育、住建、医保…) shown in the policy guide as data."""

    __tablename__ = "department_policy"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    region_code: Mapped[str] = mapped_column(String(12), index=True)  # applies under this prefix
    department: Mapped[str] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(128))
    conditions: Mapped[list] = mapped_column(JSONText)
    benefit: Mapped[str | None] = mapped_column(Text)
    documents: Mapped[list] = mapped_column(JSONText)
    where_to_apply: Mapped[str | None] = mapped_column(String(255))
    hotline: Mapped[str | None] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer, default=0)
