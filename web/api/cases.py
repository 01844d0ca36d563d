"""Cases: start any deployed process for a household, read its state, audit trail and diagram."""

from __future__ import annotations

import html
import logging
from datetime import datetime

from flask import Response, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.actors import Actor
from engine.casework import payments, records
from engine.errors import NotFound, ValidationError
from engine.workflow import audit
from engine.workflow.engine import InstanceView
from engine.workflow.models import AuditEvent, HumanTask, ProcessInstance, Timer
from web.api import schemas
from web.api.common import (TOTAL_HEADER, api_blueprint, body_doc, current_actor, iso, load,
                            mask_id_numbers, read_json, services, with_total)
from web.api.policy import CASE_READERS, CASE_RETRIERS, CASE_STARTERS, require

log = logging.getLogger("jishijiu.api")

blp = api_blueprint("cases", "/cases", "Cases (process instances) / 案件")


def task_brief(t) -> dict:
    return {"id": t.id, "name": t.name, "form_key": t.form_key, "candidate_group": t.candidate_group,
            "assignee": t.assignee, "due_at": iso(t.due_at)}


def _local(text: str | None) -> datetime | None:
    return iso(datetime.fromisoformat(text)) if text else None


def case_answer(view: InstanceView, actor: Actor) -> dict:
    escalations = [{**e, "at": _local(e["at"])} for e in services().engine.escalations(view.id, actor)]
    with services().db.read() as session:
        decisions = [{**d, "decided_at": _local(d["decided_at"])}
                     for d in payments.decisions_of(session, view.id)]
        paid = [{**p.to_dict(), "paid_at": iso(p.paid_at)}
                for p in payments.payments_of(session, view.id)]
    return {
        "id": view.id, "process": view.process, "process_version": view.process_version,
        "status": view.status, "region_code": view.region_code, "household_id": view.household_id,
        "overdue": view.overdue, "escalations": escalations,
        "open_tasks": [task_brief(t) for t in view.open_tasks],
        "decisions": decisions, "payments": paid,
        "data": mask_id_numbers(view.data), "created_at": iso(view.created_at),
        "updated_at": iso(view.updated_at), "version": view.version,
    }


def visible_case(session: Session, case_id: int, actor: Actor) -> ProcessInstance:
    row = session.get(ProcessInstance, case_id)
    if row is None or not actor.sees(row.region_code):
        raise NotFound(f"case {case_id} not found / 未找到该案件")
    return row


@blp.route("", methods=["POST"])
@blp.doc(**body_doc(schemas.CaseStart))
@blp.response(201, schemas.Case)
def start_case():
    """Start a deployed process (latest version) for a household in your region."""
    actor = current_actor()
    require(actor, CASE_STARTERS, "start cases")
    body = load(schemas.CaseStart, read_json())
    engine = services().engine
    with services().db.read() as session:
        household = records.get_household(session, body["household_id"], actor=actor)
        try:
            engine.newest(session, body["process"])
        except NotFound:
            raise ValidationError("unknown process", {"process": [
                f"no process '{body['process']}' is deployed / 该流程尚未部署"]}) from None
    view = engine.start(body["process"], actor=actor, region_code=household.region_code,
                        data=body["data"], household_id=household.id)
    return case_answer(view, actor), 201, {"Location": url_for("api_cases.get_case", case_id=view.id)}


@blp.route("", methods=["GET"])
@blp.arguments(schemas.CaseQuery, location="query")
@blp.response(200, schemas.CaseSummary(many=True), headers=TOTAL_HEADER)
def list_cases(query):
    """Cases in your region, newest first: ``status``, ``process``, ``household_id``, ``overdue``
    (``X-Total-Count`` counts them all)."""
    actor = current_actor()
    require(actor, CASE_READERS, "read cases")
    conditions = [ProcessInstance.region_code.startswith(actor.region, autoescape=True)]
    for name in ("status", "household_id"):
        if query.get(name) is not None:
            conditions.append(getattr(ProcessInstance, name) == query[name])
    if query.get("process"):
        conditions.append(ProcessInstance.process_key == query["process"])
    if query.get("overdue") is not None:
        conditions.append(ProcessInstance.overdue == query["overdue"])
    with services().db.read() as session:
        total = session.execute(select(func.count(ProcessInstance.id)).where(*conditions)).scalar()
        rows = session.execute(select(ProcessInstance).where(*conditions)
                               .order_by(ProcessInstance.id.desc())
                               .limit(query["limit"]).offset(query["offset"])).scalars()
        items = [{"id": r.id, "process": r.process_key, "status": r.status,
                  "region_code": r.region_code, "household_id": r.household_id,
                  "overdue": r.overdue, "created_at": iso(r.created_at),
                  "updated_at": iso(r.updated_at)} for r in rows]
    return with_total(items, int(total or 0))


@blp.route("/<api_id:case_id>", methods=["GET"])
@blp.response(200, schemas.Case)
def get_case(case_id: int):
    """A case: process and version, status, overdue, escalations, open tasks, decisions, payments."""
    actor = current_actor()
    require(actor, CASE_READERS, "read cases")
    return case_answer(services().engine.instance(case_id, actor), actor)


@blp.route("/<api_id:case_id>/retry", methods=["POST"])
@blp.response(200, schemas.Case)
def retry_case(case_id: int):
    """Put a failed case (status ``error``) back to ``active`` and run what is due (admin,
    supervisor); 409 when the case has not failed."""
    actor = current_actor()
    require(actor, CASE_RETRIERS, "retry failed cases")
    return case_answer(services().engine.retry_case(case_id, actor), actor)


@blp.route("/<api_id:case_id>/events", methods=["GET"])
@blp.arguments(schemas.EventQuery, location="query")
@blp.response(200, schemas.Event(many=True), headers=TOTAL_HEADER)
def case_events(query, case_id: int):
    """The case's audit trail (hash-chained), oldest first; ID numbers masked."""
    actor = current_actor()
    require(actor, CASE_READERS, "read cases")
    chain = audit.case_chain(case_id)
    with services().db.read() as session:
        visible_case(session, case_id, actor)
        total = session.execute(select(func.count(AuditEvent.id))
                                .where(AuditEvent.chain == chain)).scalar()
        rows = session.execute(select(AuditEvent).where(AuditEvent.chain == chain)
                               .order_by(AuditEvent.seq)
                               .limit(query["limit"]).offset(query["offset"])).scalars()
        items = [{"seq": e.seq, "at": iso(e.at), "actor": e.actor, "action": e.action,
                  "object_type": e.object_type, "object_id": e.object_id,
                  "before": mask_id_numbers(e.before), "after": mask_id_numbers(e.after),
                  "prev_hash": e.prev_hash, "hash": e.hash} for e in rows]
    return with_total(items, int(total or 0))


@blp.route("/<api_id:case_id>/diagram", methods=["GET"])
@blp.doc(responses={"200": {"description": "the process diagram with the case's position",
                            "content": {"image/svg+xml": {"schema": {"type": "string"}}}}})
def case_diagram(case_id: int):
    """The BPMN diagram as SVG: current tasks and what is done are marked."""
    actor = current_actor()
    require(actor, CASE_READERS, "read cases")
    with services().db.read() as session:
        row = visible_case(session, case_id, actor)
        xml = services().engine.definitions.xml(session, row.definition_id)
        tasks = session.execute(select(HumanTask.bpmn_id, HumanTask.name, HumanTask.status)
                                .where(HumanTask.instance_id == case_id)).all()
        fired = session.execute(select(Timer.bpmn_id).where(Timer.instance_id == case_id,
                                                            Timer.status == "fired")).scalars()
        current = {t.bpmn_id for t in tasks if t.status == "open"}
        done = {t.bpmn_id for t in tasks if t.status == "completed"} | set(fired)
        names = [t.name for t in tasks if t.status == "open"]
    return Response(_render(xml, current, done, names), mimetype="image/svg+xml")


def _render(xml: bytes, current: set[str], done: set[str], names: list[str]) -> str:
    try:
        from web.diagram import render_svg
    except ImportError:
        return fallback_svg(names)
    try:
        return render_svg(xml, current=current, done=done)
    except Exception:  # noqa: BLE001 - a diagram that cannot be drawn must not fail the request
        log.exception("could not draw the diagram")
        return fallback_svg(names)


def fallback_svg(names: list[str]) -> str:
    """A plain SVG listing the current task names (when no diagram renderer is available)."""
    lines = ["当前环节 / current tasks:"] + (names or ["—"])
    height = 24 * len(lines) + 16
    texts = "".join(f'<text x="12" y="{28 + 24 * i}">{html.escape(line)}</text>'
                    for i, line in enumerate(lines))
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="480" height="{height}" '
            f'font-family="sans-serif" font-size="14">{texts}</svg>')
