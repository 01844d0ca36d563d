"""Help requests from the public (即时求助 / 码上办) and the receipt that follows them.

A request becomes a ``help_request`` discovery signal for its village, so it lands in the
township's inbox as the discovery triage task.  It never opens an emergency case by itself: the
emergency process needs a known household and an amount, which only a caseworker can establish
— the triage or the home visit opens it (``open_emergency``).  The urgency the person chose sets
how soon the home visit is due.

The receipt code is random (``secrets``), shown once, stored only as a hash; the receipt shows
status steps and dates, never a name, a phone number or what was written.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.actors import SYSTEM, Actor
from engine.casework import signals
from engine.casework.public.guide import public_region
from engine.casework.public.limits import Limits, check_and_record
from engine.casework.public.models import HelpRequest, SatisfactionRating
from engine.db import Database
from engine.errors import EngineError, NotFound, ValidationError
from engine.workflow.models import HumanTask, ProcessInstance

log = logging.getLogger("jishijiu.public")

URGENCIES = {"normal": "一般", "urgent": "紧急", "especially_urgent": "特别紧急"}
VISIT_DUE = {"normal": "3WD", "urgent": "PT24H", "especially_urgent": "PT2H"}  # [S0/S3/S4]
SOURCE = "public_help"
RECEIPT_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"  # no 0/O, 1/I/L: read aloud on the phone
RECEIPT_LENGTH = 12  # 31^12 ≈ 2^59
_PHONE = re.compile(r"1[3-9]\d{9}|0\d{2,3}-?\d{7,8}")

# Public wording of the steps a help request goes through (by BPMN task id); nothing else shows.
STEP_LABELS = {
    "triage": "乡镇（街道）受理研判",
    "home_visit": "工作人员入户核实",
    "urgent_check": "工作人员上门查看",
}
OUTCOMES = {
    "confirmed": "已办结：已为您启动救助程序",
    "not_confirmed": "已办结：经核实，暂不需要救助或问题已解决",
    "merged": "已办结：与您家庭正在办理的事项合并办理",
}
CHILD_LABELS = {"emergency": "临时救助", "application": "救助申请"}


@dataclass(frozen=True)
class HelpForm:
    name: str
    phone: str
    village: str
    description: str
    urgency: str = "normal"

    def check(self) -> dict[str, list[str]]:
        problems: dict[str, list[str]] = {}
        if not 1 <= len(self.name.strip()) <= 32:
            problems["name"] = ["请填写姓名（32字以内）。"]
        if not _PHONE.fullmatch(self.phone.strip()):
            problems["phone"] = ["请填写11位手机号或带区号的固定电话。"]
        if not (self.village.isdigit() and len(self.village) == 12):
            problems["village"] = ["请选择所在村（社区）。"]
        if not 4 <= len(self.description.strip()) <= 1000:
            problems["description"] = ["请简要说明遇到的困难（4到1000字）。"]
        if self.urgency not in URGENCIES:
            problems["urgency"] = ["请选择紧急程度。"]
        return problems


@dataclass(frozen=True)
class Step:
    label: str
    state: str  # done | current
    at: datetime | None


@dataclass(frozen=True)
class Receipt:
    help_request_id: int
    submitted_at: datetime
    urgency: str
    steps: tuple[Step, ...]
    closed: bool
    rating: str | None
    can_rate: bool


def new_receipt_code() -> str:
    return "".join(secrets.choice(RECEIPT_ALPHABET) for _ in range(RECEIPT_LENGTH))


def normalise(code: str) -> str:
    return re.sub(r"[^0-9A-Z]", "", (code or "").upper())[:RECEIPT_LENGTH * 2]


def display(code: str) -> str:
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def receipt_hash(code: str) -> str:
    return hashlib.sha256(normalise(code).encode()).hexdigest()


def public_actor(village: str) -> Actor:
    """Who the audit trail names for what the public did: reporting like a village assistant."""
    return Actor("public", "assistant", village)


def submit(db: Database, engine, form: HelpForm, *, ip: str, now: datetime,
           limits: Limits = Limits()) -> tuple[str, int]:
    """Store the request, start discovery for it; answer the receipt code (shown once) and id."""
    problems = form.check()
    if problems:
        raise ValidationError("求助信息有误", problems)
    phone = form.phone.strip().replace("-", "")
    code = new_receipt_code()
    with db.write() as session:
        public_region(session, form.village)
        check_and_record(session, kind="help", ip=ip, phone=phone, now=now, limits=limits)
        row = HelpRequest(receipt_hash=receipt_hash(code), region_code=form.village,
                          name=form.name.strip(), phone=phone, description=form.description.strip(),
                          urgency=form.urgency, created_at=now)
        session.add(row)
        session.flush()
        request_id = row.id
    _forward(db, engine, request_id, now=now)
    return code, request_id


def _forward(db: Database, engine, request_id: int, *, now: datetime) -> None:
    """Hand the stored request to discovery as a signal and note the signal and case on it.

    ``signals.receive`` is idempotent on ``(source, source_id)``, so forwarding again after a crash
    between the two transactions finds the same signal instead of reporting the family twice.
    """
    with db.read() as session:
        row = session.get(HelpRequest, request_id)
        village, name, phone, description, urgency = (row.region_code, row.name, row.phone, row.description,
                                                      row.urgency)
    received = signals.receive(db, engine, signals.SignalIn(
        source=SOURCE, source_id=f"help-{request_id}", kind="help_request", region_code=village,
        details={"help_request_id": request_id, "reporter": name, "phone": phone, "description": description,
                 "urgency": urgency, "urgency_zh": URGENCIES[urgency], "visit_due_in": VISIT_DUE[urgency]},
        occurred_at=now), actor=public_actor(village), now=now)
    with db.write() as session:
        row = session.get(HelpRequest, request_id)
        row.signal_id, row.case_id = received.signal.id, received.signal.case_id


def forward_pending(db: Database, engine, *, now: datetime, older_than: timedelta = timedelta(minutes=1),
                    limit: int = 100) -> list[int]:
    """Requests that were stored but never reached discovery (the process stopped in between),
    and requests whose signal got its case later (discovery deployed after they came in): the
    scheduler's sweep calls this so no one's request for help is left lying in a table."""
    with db.read() as session:
        stale = list(session.execute(select(HelpRequest.id).where(
            HelpRequest.signal_id.is_(None), HelpRequest.created_at < now - older_than)
            .order_by(HelpRequest.id).limit(limit)).scalars())
    for request_id in stale:
        try:
            _forward(db, engine, request_id, now=now)
        except EngineError:
            log.exception("help request %s could not be forwarded; retried at the next sweep", request_id)
    with db.write() as session:  # signals started late by signals.start_waiting
        waiting = session.execute(select(HelpRequest, signals.Signal.case_id)
                                  .join(signals.Signal, signals.Signal.id == HelpRequest.signal_id)
                                  .where(HelpRequest.case_id.is_(None), signals.Signal.case_id.isnot(None))
                                  .limit(limit)).all()
        for row, case_id in waiting:
            row.case_id = case_id
    return stale


def find(session: Session, code: str) -> HelpRequest:
    row = session.execute(select(HelpRequest).where(
        HelpRequest.receipt_hash == receipt_hash(code))).scalar()
    if row is None:
        raise NotFound("no such receipt")
    return row


def receipt(db: Database, engine, code: str) -> Receipt:
    """The progress of a request as status steps only (NotFound for an unknown code)."""
    with db.read() as session:
        row = find(session, code)
        steps = [Step("已提交求助", "done", row.created_at)]
        case = session.get(ProcessInstance, row.case_id) if row.case_id else None
        if case is None:
            steps.append(Step("等待乡镇（街道）受理", "current", None))
        else:
            steps += _task_steps(session, case.id)
            children = session.execute(select(ProcessInstance).where(
                ProcessInstance.parent_id == case.id).order_by(ProcessInstance.id)).scalars()
            for child in children:
                label = CHILD_LABELS.get(child.process_key, "相关救助")
                done = child.status == "completed"
                steps.append(Step(f"{label}{'已办结' if done else '办理中'}", "done" if done else "current",
                                  child.completed_at if done else child.created_at))
        rating = session.execute(select(SatisfactionRating.rating).where(
            SatisfactionRating.help_request_id == row.id)).scalar()
        closed = case is not None and case.status in ("completed", "cancelled")
        request_id, created_at, urgency, case_id = row.id, row.created_at, row.urgency, row.case_id
        completed_at = case.completed_at if case is not None else None
    if closed:
        outcome = engine.instance(case_id, SYSTEM).data.get("outcome")
        steps.append(Step(OUTCOMES.get(outcome, "已办结"), "done", completed_at))
    return Receipt(request_id, created_at, URGENCIES.get(urgency, urgency), tuple(steps), closed,
                   rating, closed and rating is None)


def _task_steps(session: Session, case_id: int) -> list[Step]:
    tasks = session.execute(select(HumanTask).where(
        HumanTask.instance_id == case_id, HumanTask.status != "cancelled")
        .order_by(HumanTask.created_at, HumanTask.id)).scalars()
    steps = []
    for task in tasks:
        label = STEP_LABELS.get(task.bpmn_id, "办理中")
        if task.status == "completed":
            steps.append(Step(f"{label}（已完成）", "done", task.completed_at))
        else:
            steps.append(Step(label, "current", task.created_at))
    return steps
