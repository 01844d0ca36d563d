"""Discovery signals (主动发现线索): what other systems and village assistants report.

A signal comes from a data comparison, a hospital bill, a disability registration, a village report,
the 12345 hotline, a smart water meter or a request for help.  Each is stored once per
``(source, source_id)`` — a unique constraint, so an integration may resend freely and two
concurrent copies still make one row — and starts the ``discovery`` process when that process is
deployed.  Otherwise the signal waits as ``received`` until :func:`start_waiting` picks it up.

The programme rules (e.g. "< 0.1 m³ of water in 12 h for an extreme-poverty recipient living
alone") are decided in the discovery process; a signal only carries its ``details``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from engine.actors import SYSTEM, Actor
from engine.casework import records
from engine.db import Base, Database
from engine.errors import Conflict, EngineError, NotAllowed, NotFound, ValidationError
from engine.types_sql import JSONText, UTCDateTime, dumps
from engine.workflow import audit
from engine.workflow.models import BigId

log = logging.getLogger("jishijiu.signals")

KINDS = ("data_comparison", "hospital_bill", "disability_registration", "village_report",
         "hotline_12345", "water_meter", "help_request", "other")
STATUSES = ("received", "started", "failed")  # waiting for discovery | case opened | start failed
REPORTERS = frozenset({"admin", "caseworker", "assistant"})
READERS = frozenset({"admin", "caseworker", "assistant", "approver", "supervisor"})
DISCOVERY = "discovery"
MAX_DETAILS_BYTES = 64 * 1024
MAX_DETAILS_DEPTH = 16
_VILLAGE = re.compile(r"[0-9]{12}")


class Signal(Base):
    __tablename__ = "signal"
    __table_args__ = (UniqueConstraint("source", "source_id"),
                      Index("ix_signal_status_region", "status", "region_code"))

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source: Mapped[str] = mapped_column(String(64))
    source_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(32), index=True)
    region_code: Mapped[str] = mapped_column(String(12), index=True)
    household_id: Mapped[int | None] = mapped_column(BigId, index=True)
    details: Mapped[dict] = mapped_column(JSONText)
    occurred_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_by: Mapped[str] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("process_instance.id"), index=True)
    error: Mapped[str | None] = mapped_column(Text)


@dataclass(frozen=True)
class SignalIn:
    """A reported signal as plain data (what an integration or an assistant sends)."""

    source: str
    source_id: str
    kind: str
    region_code: str
    household_id: int | None = None
    details: dict[str, Any] = field(default_factory=dict)
    occurred_at: datetime | None = None

    def check(self) -> None:
        """ValidationError naming every bad field (the web layer checks the same, earlier)."""
        problems: dict[str, list[str]] = {}
        if not (isinstance(self.source, str) and 1 <= len(self.source) <= 64):
            problems["source"] = ["1 to 64 characters"]
        if not (isinstance(self.source_id, str) and 1 <= len(self.source_id) <= 128):
            problems["source_id"] = ["1 to 128 characters"]
        if self.kind not in KINDS:
            problems["kind"] = [f"one of {', '.join(KINDS)}"]
        if not (isinstance(self.region_code, str) and _VILLAGE.fullmatch(self.region_code)):
            problems["region_code"] = ["the 12-digit village/community code / 须为12位村（居）代码"]
        if not isinstance(self.details, dict):
            problems["details"] = ["must be a JSON object"]
        else:
            problems.update(details_problems(self.details))
        if self.occurred_at is not None and self.occurred_at.utcoffset() is None:
            problems["occurred_at"] = ["needs a UTC offset, e.g. 2023-03-06T10:00:00+08:00"]
        if problems:
            raise ValidationError("the signal is invalid / 线索内容有误", problems)


def details_problems(details: Any) -> dict[str, list[str]]:
    """What is wrong with a signal's ``details`` (too large or too deep to keep), if anything."""
    def depth(value: Any, level: int = 0) -> int:
        if level > MAX_DETAILS_DEPTH:
            return level
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        return max((depth(v, level + 1) for v in children), default=level)

    if depth(details) > MAX_DETAILS_DEPTH:
        return {"details": [f"nested deeper than {MAX_DETAILS_DEPTH} levels"]}
    if len(dumps(details).encode("utf-8")) > MAX_DETAILS_BYTES:
        return {"details": [f"larger than {MAX_DETAILS_BYTES // 1024} KB"]}
    return {}


@dataclass(frozen=True)
class SignalView:
    id: int
    source: str
    source_id: str
    kind: str
    region_code: str
    household_id: int | None
    details: dict
    occurred_at: datetime | None
    received_at: datetime
    received_by: str
    status: str
    case_id: int | None
    error: str | None

    @classmethod
    def of(cls, row: Signal) -> "SignalView":
        return cls(row.id, row.source, row.source_id, row.kind, row.region_code, row.household_id,
                   dict(row.details or {}), row.occurred_at, row.received_at, row.received_by,
                   row.status, row.case_id, row.error)


@dataclass(frozen=True)
class Received:
    signal: SignalView
    duplicate: bool  # true: this (source, source_id) was stored before; nothing new happened


def receive(db: Database, engine, signal: SignalIn, *, actor: Actor, now: datetime) -> Received:
    """Store a signal once and start discovery for it; one transaction per signal.

    The same ``(source, source_id)`` again answers the original (``duplicate``).  When a concurrent
    copy wins the insert, the unique constraint refuses ours and we answer theirs.
    """
    records.require_role(actor, REPORTERS, "report signals")
    signal.check()
    if not actor.sees(signal.region_code):
        raise NotAllowed(f"region {signal.region_code} is outside your region {actor.region} "
                         "/ 该线索不在您的辖区内")
    try:
        with db.write() as session:
            existing = _find(session, signal.source, signal.source_id)
            if existing is not None:
                return Received(_visible_duplicate(existing, actor), True)
            _check_household(session, signal, actor)
            row = Signal(source=signal.source, source_id=signal.source_id, kind=signal.kind,
                         region_code=signal.region_code, household_id=signal.household_id,
                         details=signal.details, occurred_at=signal.occurred_at, received_at=now,
                         received_by=actor.username, status="received")
            session.add(row)
            session.flush()  # PostgreSQL: waits for a concurrent copy, then refuses ours
            _start_discovery(session, engine, row, actor)
            audit.append(session, chain=chain(row.id), actor=actor.username, action="signal.received",
                         object_type="signal", object_id=row.id, at=now,
                         after={"source": row.source, "source_id": row.source_id, "kind": row.kind,
                                "region_code": row.region_code, "household_id": row.household_id,
                                "status": row.status, "case_id": row.case_id})
            return Received(SignalView.of(row), False)
    except IntegrityError:
        with db.read() as session:
            existing = _find(session, signal.source, signal.source_id)
            if existing is None:
                raise
            return Received(_visible_duplicate(existing, actor), True)


def chain(signal_id: int) -> str:
    return f"signal:{signal_id}"


def _find(session: Session, source: str, source_id: str) -> Signal | None:
    return session.execute(select(Signal).where(Signal.source == source,
                                                Signal.source_id == source_id)).scalar()


def _visible_duplicate(row: Signal, actor: Actor) -> SignalView:
    if not actor.sees(row.region_code):
        # the id is taken in another region: say no more than that
        raise Conflict(f"source_id {row.source_id!r} of source {row.source!r} was already reported "
                       "/ 该线索编号已被使用")
    return SignalView.of(row)


def _check_household(session: Session, signal: SignalIn, actor: Actor) -> None:
    if signal.household_id is None:
        return
    household = records.get_household(session, signal.household_id, actor=actor)
    if household.region_code != signal.region_code:
        raise ValidationError("the household lives elsewhere", {"region_code": [
            f"the household lives in {household.region_code} / 与家庭所在村（居）不一致"]})


def _start_discovery(session: Session, engine, row: Signal, actor: Actor) -> None:
    """Open the discovery case in this transaction, or leave the signal waiting.

    A discovery process that fails on its first steps must not lose the signal: the start is
    rolled back to a savepoint and the signal is kept as ``failed`` with the reason.
    """
    try:
        engine.newest(session, DISCOVERY)
    except NotFound:
        return
    try:
        with session.begin_nested():
            view = engine.start(DISCOVERY, actor=actor, region_code=row.region_code,
                                household_id=row.household_id, business_key=chain(row.id),
                                session=session, data={
                                    "signal_kind": row.kind, "source": row.source,
                                    "source_id": row.source_id, "details": row.details,
                                    "signal_id": row.id})
    except EngineError as exc:
        log.error("discovery for signal %s did not start: %s", row.id, exc)
        row.status, row.error = "failed", str(exc)[:2000]
        return
    row.status, row.case_id, row.error = "started", view.id, None


def get_signal(session: Session, signal_id: int, *, actor: Actor) -> SignalView:
    """The signal, or NotFound when it is absent or outside the actor's region."""
    records.require_role(actor, READERS, "read signals")
    row = session.get(Signal, signal_id)
    if row is None or not actor.sees(row.region_code):
        raise NotFound(f"signal {signal_id} not found / 未找到该线索")
    return SignalView.of(row)


def list_signals(session: Session, *, actor: Actor, status: str | None = None, kind: str | None = None,
                 household_id: int | None = None, limit: int = 50,
                 offset: int = 0) -> tuple[list[SignalView], int]:
    """Signals in the actor's region, newest first, and how many match over all pages."""
    records.require_role(actor, READERS, "read signals")
    conditions = [Signal.region_code.startswith(actor.region, autoescape=True)]
    if status:
        conditions.append(Signal.status == status)
    if kind:
        conditions.append(Signal.kind == kind)
    if household_id is not None:
        conditions.append(Signal.household_id == household_id)
    total = session.execute(select(func.count(Signal.id)).where(*conditions)).scalar() or 0
    rows = session.execute(select(Signal).where(*conditions).order_by(Signal.id.desc())
                           .limit(limit).offset(offset)).scalars()
    return [SignalView.of(r) for r in rows], int(total)


def start_waiting(db: Database, engine, *, now: datetime, actor: Actor = SYSTEM,
                  limit: int = 100) -> list[SignalView]:
    """Start discovery for signals that arrived before the process was deployed (oldest first).

    Meant for the scheduler's sweep or right after a deployment; each signal in its own
    transaction, so one bad signal does not hold up the others.
    """
    with db.read() as session:
        try:
            engine.newest(session, DISCOVERY)
        except NotFound:
            return []
        ids = list(session.execute(select(Signal.id).where(Signal.status == "received")
                                   .order_by(Signal.id).limit(limit)).scalars())
    started = []
    for signal_id in ids:
        with db.write() as session:
            row = session.get(Signal, signal_id, with_for_update=True)
            if row is None or row.status != "received":
                continue
            _start_discovery(session, engine, row, actor)
            audit.append(session, chain=chain(row.id), actor=actor.username, action="signal.started",
                         object_type="signal", object_id=row.id, at=now,
                         after={"status": row.status, "case_id": row.case_id, "error": row.error})
            started.append(SignalView.of(row))
    return started
