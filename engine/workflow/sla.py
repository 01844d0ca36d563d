"""Statutory clocks (SLAs): due in working days or hours, pausable (停表), 80% warning, escalation.

Declared in the BPMN, never hand-drawn on every task (DESIGN decision 5):

* a user task's property ``sla`` (``PT24H``, ``20WD``…) starts a clock when the task appears and
  stops it when the task is done;
* the process's property ``sla`` starts a clock for the whole case.

The clock lives in the host's ``sla_clock`` table.  Warning at 80 % of the span; at breach level 1
escalates to the supervisor of the case's township (9-digit prefix) and marks the case overdue for
good; at breach + half the span level 2 escalates to the county supervisor (6-digit prefix).  Each
step is recorded once (a conditional UPDATE makes it idempotent), written to the case's audit chain,
and delivered into the workflow as the message ``sla_warning`` / ``sla_breach`` / ``sla_escalated``
when the workflow waits for it.  A late completion stops the clock ("met late"), and later levels
never fire; the obligation itself (e.g. to pay) stays in the workflow.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, select, update
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.db import Base
from engine.types_sql import UTCDateTime
from engine.workflow import audit
from engine.workflow.models import BigId, ProcessInstance

WARN_FRACTION = 0.8
LEVEL2_FRACTION = 0.5


class SlaClock(Base):
    __tablename__ = "sla_clock"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    name: Mapped[str] = mapped_column(String(255))
    bpmn_id: Mapped[str | None] = mapped_column(String(255))
    task_guid: Mapped[str | None] = mapped_column(String(36), index=True)
    spec: Mapped[str] = mapped_column(String(32))
    region_code: Mapped[str] = mapped_column(String(12))
    handler_group: Mapped[str | None] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    warn_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    level2_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="running", index=True)  # running|paused|met|met_late|cancelled
    paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paused_seconds: Mapped[int] = mapped_column(Integer, default=0)
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    breached_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    level2_fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Escalation(Base):
    __tablename__ = "escalation"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    instance_id: Mapped[int] = mapped_column(ForeignKey("process_instance.id"), index=True)
    clock_id: Mapped[int] = mapped_column(ForeignKey("sla_clock.id"), index=True)
    level: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    to_role: Mapped[str] = mapped_column(String(32))
    to_region: Mapped[str] = mapped_column(String(12), index=True)
    message: Mapped[str] = mapped_column(String(500))


@dataclass(frozen=True)
class SlaEvent:
    """One thing that happened to a clock; the engine delivers it into the workflow."""

    instance_id: int
    clock_id: int
    kind: str  # warning|breach|escalated
    level: int
    message_name: str


def start_clock(session: Session, *, instance: ProcessInstance, name: str, spec: str, start: datetime,
                due: datetime, bpmn_id: str | None = None, task_guid: str | None = None,
                handler_group: str | None = None, actor: str = "system") -> SlaClock:
    span = due - start
    clock = SlaClock(instance_id=instance.id, name=name, bpmn_id=bpmn_id, task_guid=task_guid, spec=spec,
                     region_code=instance.region_code, handler_group=handler_group, started_at=start,
                     due_at=due, warn_at=start + span * WARN_FRACTION,
                     level2_at=due + span * LEVEL2_FRACTION, status="running", paused_seconds=0)
    session.add(clock)
    session.flush()
    audit.append(session, chain=audit.case_chain(instance.id), actor=actor, action="sla.started",
                 object_type="sla", object_id=clock.id, at=start,
                 after={"name": name, "spec": spec, "due_at": due.isoformat()})
    return clock


def stop_task_clocks(session: Session, instance_id: int, task_guids: set[str], now: datetime,
                     *, status: str = "met", actor: str = "system") -> None:
    if not task_guids:
        return
    for clock in session.execute(select(SlaClock).where(
            SlaClock.instance_id == instance_id, SlaClock.task_guid.in_(task_guids),
            SlaClock.status.in_(("running", "paused")))).scalars():
        _stop(session, clock, now, status, actor)


def stop_case_clocks(session: Session, instance_id: int, now: datetime, *, status: str = "met",
                     actor: str = "system") -> None:
    for clock in session.execute(select(SlaClock).where(
            SlaClock.instance_id == instance_id, SlaClock.status.in_(("running", "paused")))).scalars():
        _stop(session, clock, now, status, actor)


def _stop(session: Session, clock: SlaClock, now: datetime, status: str, actor: str) -> None:
    if status == "met" and clock.breached_at is not None:
        status = "met_late"
    clock.status = status
    clock.stopped_at = now
    late = (now - clock.due_at).total_seconds()
    audit.append(session, chain=audit.case_chain(clock.instance_id), actor=actor, action="sla.stopped",
                 object_type="sla", object_id=clock.id, at=now,
                 after={"name": clock.name, "status": status,
                        "elapsed_seconds": round((now - clock.started_at).total_seconds()
                                                 - clock.paused_seconds),
                        "late_seconds": round(late) if late > 0 else 0})


def pause(session: Session, clock: SlaClock, now: datetime, *, actor: str, reason: str) -> None:
    """停表: stop counting (waiting for documents, publicity, a visit the family postponed)."""
    if clock.status != "running":
        from engine.errors import Conflict

        raise Conflict(f"clock '{clock.name}' is {clock.status}, not running")
    clock.status = "paused"
    clock.paused_at = now
    audit.append(session, chain=audit.case_chain(clock.instance_id), actor=actor, action="sla.paused",
                 object_type="sla", object_id=clock.id, at=now, after={"name": clock.name, "reason": reason})


def resume(session: Session, clock: SlaClock, now: datetime, *, actor: str) -> None:
    """Count again; every deadline moves by the paused span."""
    if clock.status != "paused" or clock.paused_at is None:
        from engine.errors import Conflict

        raise Conflict(f"clock '{clock.name}' is {clock.status}, not paused")
    span = now - clock.paused_at
    clock.paused_seconds += int(span.total_seconds())
    before = clock.due_at
    clock.due_at += span
    clock.warn_at += span
    clock.level2_at += span
    clock.status = "running"
    clock.paused_at = None
    audit.append(session, chain=audit.case_chain(clock.instance_id), actor=actor, action="sla.resumed",
                 object_type="sla", object_id=clock.id, at=now,
                 before={"due_at": before.isoformat()},
                 after={"due_at": clock.due_at.isoformat(), "paused_seconds": int(span.total_seconds())})


def due_clock_ids(session: Session, now: datetime, limit: int = 1000) -> list[int]:
    """Running clocks with a warning, breach or level-2 step due."""
    running = SlaClock.status == "running"
    q = select(SlaClock.id).where(running, (
        (SlaClock.warned_at.is_(None) & (SlaClock.warn_at <= now))
        | (SlaClock.breached_at.is_(None) & (SlaClock.due_at <= now))
        | (SlaClock.level2_fired_at.is_(None) & (SlaClock.level2_at <= now)))).limit(limit)
    return list(session.execute(q).scalars())


def next_due(session: Session) -> datetime | None:
    times = []
    for column, flag in ((SlaClock.warn_at, SlaClock.warned_at), (SlaClock.due_at, SlaClock.breached_at),
                         (SlaClock.level2_at, SlaClock.level2_fired_at)):
        t = session.execute(select(column).where(SlaClock.status == "running", flag.is_(None))
                            .order_by(column).limit(1)).scalar()
        if t is not None:
            times.append(t)
    return min(times) if times else None


def advance_clock(session: Session, clock_id: int, now: datetime, instance: ProcessInstance) -> list[SlaEvent]:
    """Record whatever is due on one clock, once each (idempotent under concurrency)."""
    clock = session.get(SlaClock, clock_id)
    if clock is None or clock.status != "running":
        return []
    events: list[SlaEvent] = []
    chain = audit.case_chain(clock.instance_id)
    township, county = clock.region_code[:9], clock.region_code[:6]

    def claim(column) -> bool:
        result = session.execute(update(SlaClock).where(SlaClock.id == clock.id, column.is_(None))
                                 .values({column.key: now}))
        return result.rowcount == 1

    if clock.warn_at <= now and clock.warned_at is None and claim(SlaClock.warned_at):
        audit.append(session, chain=chain, actor="system", action="sla.warning", object_type="sla",
                     object_id=clock.id, at=now,
                     after={"name": clock.name, "to_group": clock.handler_group, "due_at": clock.due_at.isoformat()})
        events.append(SlaEvent(clock.instance_id, clock.id, "warning", 0, "sla_warning"))
    if clock.due_at <= now and clock.breached_at is None and claim(SlaClock.breached_at):
        _escalate(session, clock, 1, "supervisor", township, now,
                  f"{clock.name} 超时 (due {clock.due_at.isoformat()})")
        instance.overdue = True  # for good, from the first breach on
        events.append(SlaEvent(clock.instance_id, clock.id, "breach", 1, "sla_breach"))
    if clock.level2_at <= now and clock.level2_fired_at is None and claim(SlaClock.level2_fired_at):
        _escalate(session, clock, 2, "supervisor", county, now,
                  f"{clock.name} 超时未办结，升级至县级督导")
        events.append(SlaEvent(clock.instance_id, clock.id, "escalated", 2, "sla_escalated"))
    session.expire(clock)
    return events


def _escalate(session: Session, clock: SlaClock, level: int, role: str, region: str, now: datetime,
              message: str) -> None:
    session.add(Escalation(instance_id=clock.instance_id, clock_id=clock.id, level=level, at=now,
                           to_role=role, to_region=region, message=message))
    audit.append(session, chain=audit.case_chain(clock.instance_id), actor="system", action="sla.escalated",
                 object_type="sla", object_id=clock.id, at=now,
                 after={"name": clock.name, "level": level, "to_role": role, "to_region": region})


def escalations_of(session: Session, instance_id: int) -> list[dict]:
    rows = session.execute(select(Escalation).where(Escalation.instance_id == instance_id)
                           .order_by(Escalation.level, Escalation.id)).scalars()
    return [{"level": e.level, "at": e.at.isoformat(), "to_role": e.to_role, "to_region": e.to_region,
             "message": e.message} for e in rows]


def clocks_of(session: Session, instance_id: int) -> list[SlaClock]:
    return list(session.execute(select(SlaClock).where(SlaClock.instance_id == instance_id)
                                .order_by(SlaClock.id)).scalars())
