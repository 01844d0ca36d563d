"""Referral slips (转办单), notifications sent to families, and staff relatives (近亲属备案)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import Base
from engine.errors import Conflict, NotFound, ValidationError
from engine.types_sql import JSONText, UTCDateTime
from engine.workflow.models import BigId

OUTCOMES = ("done", "partly", "refused", "not_applicable")


class Referral(Base):
    """A slip to a department or charity; every slip must end with recorded feedback (件件有反馈)."""

    __tablename__ = "referral"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    case_id: Mapped[int | None] = mapped_column(BigId, index=True)  # the referral process's own case
    household_id: Mapped[int | None] = mapped_column(BigId, index=True)
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    target: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(String(500))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|answered
    outcome: Mapped[str | None] = mapped_column(String(32))
    feedback: Mapped[str | None] = mapped_column(Text)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    answered_by: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(128))


class NotificationRecord(Base):
    __tablename__ = "notification"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    household_id: Mapped[int | None] = mapped_column(BigId, index=True)
    kind: Mapped[str] = mapped_column(String(64))
    programmes: Mapped[list | None] = mapped_column(JSONText)
    text: Mapped[str | None] = mapped_column(Text)
    deliveries: Mapped[list | None] = mapped_column(JSONText)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class StaffRelative(Base):
    """A staff member or village cadre registered as a close relative of a household's member."""

    __tablename__ = "staff_relative"
    __table_args__ = (UniqueConstraint("username", "household_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    username: Mapped[str] = mapped_column(String(128), index=True)
    household_id: Mapped[int] = mapped_column(BigId, index=True)
    relation: Mapped[str] = mapped_column(String(64))
    registered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    registered_by: Mapped[str] = mapped_column(String(128))


def create_referral(session: Session, *, instance_id: int, household_id: int | None, region_code: str,
                    target: str, reason: str, due_at: datetime, at: datetime, actor: str) -> Referral:
    if not target:
        raise ValidationError("a referral needs a target", {"target": ["required"]})
    row = Referral(instance_id=instance_id, household_id=household_id, region_code=region_code,
                   target=target, reason=reason or "", due_at=due_at, status="open", created_at=at,
                   created_by=actor)
    session.add(row)
    session.flush()
    return row


def give_feedback(session: Session, referral: Referral, *, outcome: str, feedback: str, at: datetime,
                  actor: str) -> Referral:
    if outcome not in OUTCOMES:
        raise ValidationError("unknown outcome", {"outcome": [f"one of {', '.join(OUTCOMES)}"]})
    if not (feedback or "").strip():
        raise ValidationError("feedback is required", {"feedback": ["required"]})
    if referral.status != "open":
        raise Conflict(f"referral {referral.id} already has feedback")
    referral.status, referral.outcome, referral.feedback = "answered", outcome, feedback.strip()
    referral.answered_at, referral.answered_by = at, actor
    return referral


def get_referral(session: Session, referral_id: int) -> Referral:
    row = session.get(Referral, referral_id)
    if row is None:
        raise NotFound(f"referral {referral_id} not found")
    return row


def referrals_of(session: Session, instance_id: int) -> list[Referral]:
    return list(session.execute(select(Referral).where(Referral.instance_id == instance_id)
                                .order_by(Referral.id)).scalars())


def relatives_of(session: Session, household_id: int | None) -> list[str]:
    if household_id is None:
        return []
    return sorted(session.execute(select(StaffRelative.username).where(
        StaffRelative.household_id == household_id)).scalars())


def register_relative(session: Session, *, username: str, household_id: int, relation: str, at: datetime,
                      actor: str) -> StaffRelative:
    row = StaffRelative(username=username, household_id=household_id, relation=relation, registered_at=at,
                        registered_by=actor)
    session.add(row)
    session.flush()
    return row
