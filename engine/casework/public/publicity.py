"""The village publicity board (码上公示) and objections from the public.

The current list is read from the open publicity tasks of the unified application (form
``application.publicity``) in the village; the results list from approved monthly decisions (低保、
特困: name, household size and amount are published by law [N], privacy protected).  Names are
masked to the family name; nothing else about the family is shown.

An objection completes the publicity task exactly as the village assistant's registration does
(the task's completion *is* the objection; ``gw_objection`` then routes it), acting as ``public``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.actors import SYSTEM
from engine.casework.models import HouseholdRow
from engine.casework.payments import Decision
from engine.casework.public.help import public_actor
from engine.casework.public.limits import Limits, check_and_record
from engine.db import Database
from engine.errors import NotFound, ValidationError
from engine.workflow.models import HumanTask, ProcessInstance

PUBLICITY_FORM = "application.publicity"
EXTRA_NAMES = {"marginal": "低保边缘家庭"}
RESULTS_LIMIT = 100


@dataclass(frozen=True)
class PublicityEntry:
    task_id: int
    name: str  # masked
    size: int
    programme: str
    amount: str | None  # yuan a month, two decimals
    objection_until: datetime | None


@dataclass(frozen=True)
class ResultEntry:
    name: str
    size: int
    programme: str
    amount: str
    from_month: str | None


def mask_name(name: str) -> str:
    """The family name and a star per other character (韩进 → 韩*); compound family names are
    rare enough that showing one character more is not worth the guessing."""
    name = (name or "").strip()
    if not name:
        return "*"
    return name[0] + "*" * max(1, len(name) - 1)


def _family(row: HouseholdRow | None) -> tuple[str, int]:
    members = (row.data or {}).get("members", []) if row is not None else []
    head = next((m for m in members if m.get("relation") == "head"), members[0] if members else {})
    return mask_name(head.get("name", "")), len(members)


def board(db: Database, engine, village: str, *, programmes: Mapping[str, str]) -> list[PublicityEntry]:
    """The cases under publicity in ``village`` now (``programmes``: code → Chinese name)."""
    with db.read() as session:
        tasks = session.execute(select(HumanTask.id, HumanTask.instance_id, HumanTask.due_at).where(
            HumanTask.form_key == PUBLICITY_FORM, HumanTask.status == "open",
            HumanTask.region_code == village).order_by(HumanTask.created_at, HumanTask.id)).all()
        households = {}
        for task in tasks:
            case = session.get(ProcessInstance, task.instance_id)
            households[task.id] = session.get(HouseholdRow, case.household_id) if case.household_id else None
    entries = []
    for task in tasks:
        data = engine.instance(task.instance_id, SYSTEM).data
        name, size = _family(households[task.id])
        code = str(data.get("proposed") or "")
        entries.append(PublicityEntry(task.id, name, size, programmes.get(code, EXTRA_NAMES.get(code, code)),
                                      data.get("proposed_amount") if code != "marginal" else None,
                                      task.due_at))
    return entries


def results(session: Session, village: str, *, programmes: Mapping[str, str]) -> list[ResultEntry]:
    """Approved monthly benefits of the village's households, newest first."""
    rows = session.execute(select(Decision, HouseholdRow).join(
        HouseholdRow, HouseholdRow.id == Decision.household_id).where(
        HouseholdRow.region_code == village, Decision.decision == "approved",
        Decision.monthly_amount.is_not(None)).order_by(Decision.decided_at.desc())
        .limit(RESULTS_LIMIT)).all()
    out = []
    for decision, household in rows:
        name, size = _family(household)
        out.append(ResultEntry(name, size, programmes.get(decision.programme, decision.programme),
                               f"{decision.monthly_amount:.2f}", decision.from_month))
    return out


def object_to(db: Database, engine, *, village: str, task_id: int, text: str, ip: str,
              now: datetime, limits: Limits = Limits()):
    """Register an objection on a publicity entry of ``village``; NotFound when the entry is not
    (or no longer) under publicity there."""
    text = (text or "").strip()
    if not 4 <= len(text) <= 500:
        raise ValidationError("异议内容有误", {"objection": ["请写明异议的事实和理由（4到500字）。"]})
    with db.write() as session:
        task = session.get(HumanTask, task_id)
        if task is None or task.form_key != PUBLICITY_FORM or task.status != "open" \
                or task.region_code != village:
            raise NotFound("no such publicity entry")
        check_and_record(session, kind="objection", ip=ip, phone=None, now=now, limits=limits)
        assignee = task.assignee
    if assignee is not None:
        # the village assistant had picked it up: the public's objection still counts
        engine.unclaim(task_id, SYSTEM)
    return engine.complete(task_id, public_actor(village),
                           {"objection": text, "objection_source": "public"})
