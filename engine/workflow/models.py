"""Tables of the workflow runtime: definitions, instances, human tasks, timers, audit, leases."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, String, Text,
                        UniqueConstraint)
from sqlalchemy.orm import Mapped, mapped_column

from engine.db import Base
from engine.types_sql import JSONText, UTCDateTime

BigId = BigInteger().with_variant(Integer, "sqlite")


class ProcessDefinition(Base):
    """One deployed version of one BPMN process; the XML is kept as deployed, forever."""

    __tablename__ = "process_definition"
    __table_args__ = (
        UniqueConstraint("key", "version"),
        Index("ix_definition_key_sha", "key", "sha256"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    key: Mapped[str] = mapped_column(String(128), index=True)
    version: Mapped[int] = mapped_column(Integer)
    name: Mapped[str | None] = mapped_column(String(255))
    filename: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    bpmn_xml: Mapped[bytes] = mapped_column(LargeBinary)
    deployed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deployed_by: Mapped[str] = mapped_column(String(128))
    meta: Mapped[dict] = mapped_column(JSONText, default=dict)


class ProcessInstance(Base):
    """A running or finished case; `state` is SpiffWorkflow's instance state without the spec."""

    __tablename__ = "process_instance"
    __table_args__ = (Index("ix_instance_status_region", "status", "region_code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("process_definition.id"), index=True)
    process_key: Mapped[str] = mapped_column(String(128), index=True)
    status: Mapped[str] = mapped_column(String(16), default="active")  # active|completed|cancelled|error
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    household_id: Mapped[int | None] = mapped_column(BigId, index=True)
    business_key: Mapped[str | None] = mapped_column(String(128), index=True)
    parent_id: Mapped[int | None] = mapped_column(BigId, index=True)
    state: Mapped[str] = mapped_column(Text)
    serializer_version: Mapped[str] = mapped_column(String(16))
    version: Mapped[int] = mapped_column(Integer, default=1)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __mapper_args__ = {"version_id_col": version}


class HumanTask(Base):
    """A READY user/manual task, mirrored as a row so the inbox never deserializes a workflow."""

    __tablename__ = "human_task"
    __table_args__ = (
        UniqueConstraint("instance_id", "task_guid"),
        Index("ix_task_open_group", "status", "candidate_group", "region_code", "due_at"),
        Index("ix_task_open_assignee", "status", "assignee", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_guid: Mapped[str] = mapped_column(String(36))
    bpmn_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    form_key: Mapped[str | None] = mapped_column(String(255))
    candidate_group: Mapped[str | None] = mapped_column(String(64))
    lane: Mapped[str | None] = mapped_column(String(255))
    region_code: Mapped[str] = mapped_column(String(12))
    assignee: Mapped[str | None] = mapped_column(String(128))
    excluded_users: Mapped[list | None] = mapped_column(JSONText)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open|completed|cancelled
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_by: Mapped[str | None] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer, default=1)


class Timer(Base):
    """A waiting BPMN timer and its due time: the database is the truth, the scheduler only wakes."""

    __tablename__ = "timer"
    __table_args__ = (
        UniqueConstraint("instance_id", "task_guid", "due_at"),
        Index("ix_timer_pending_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    task_guid: Mapped[str] = mapped_column(String(36))
    bpmn_id: Mapped[str] = mapped_column(String(255))
    kind: Mapped[str] = mapped_column(String(16))  # duration|date|cycle
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending|fired|cancelled
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class AuditEvent(Base):
    """Append-only, hash-chained record of one state change (one chain per case or object)."""

    __tablename__ = "audit_event"
    __table_args__ = (UniqueConstraint("chain", "seq"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    chain: Mapped[str] = mapped_column(String(64), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[str] = mapped_column(String(64))
    before: Mapped[dict | None] = mapped_column(JSONText)
    after: Mapped[dict | None] = mapped_column(JSONText)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditAnchor(Base):
    """A periodic snapshot of every chain's head, so deleting the newest events is detectable."""

    __tablename__ = "audit_anchor"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    heads: Mapped[dict] = mapped_column(JSONText)  # chain -> [seq, hash]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Setting(Base):
    """Small key/value settings that several processes must agree on (e.g. the test clock offset)."""

    __tablename__ = "setting"

    key: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[dict | list | str | int | float | None] = mapped_column(JSONText)


class Lease(Base):
    """A leader lease (e.g. the one scheduler); works on SQLite and PostgreSQL alike."""

    __tablename__ = "lease"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
