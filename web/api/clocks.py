"""Statutory clocks of a case: read them, pause (停表) and resume."""

from __future__ import annotations

from engine.actors import Actor
from engine.errors import NotFound
from engine.workflow import sla
from engine.workflow.models import ProcessInstance
from web.api import schemas
from web.api.common import api_blueprint, body_doc, current_actor, iso, load, read_json, services
from web.api.policy import CASE_READERS, CLOCK_HOLDERS, require

blp = api_blueprint("clocks", "/cases", "Statutory clocks of cases / 办理时限")


def clock_answer(c: sla.SlaClock) -> dict:
    return {"id": c.id, "name": c.name, "spec": c.spec, "status": c.status, "bpmn_id": c.bpmn_id,
            "started_at": iso(c.started_at), "due_at": iso(c.due_at), "paused_at": iso(c.paused_at),
            "paused_seconds": c.paused_seconds, "warned_at": iso(c.warned_at),
            "breached_at": iso(c.breached_at), "stopped_at": iso(c.stopped_at)}


def clocks_answer(case_id: int, actor: Actor) -> dict:
    with services().db.read() as session:
        case = session.get(ProcessInstance, case_id)
        if case is None or not actor.sees(case.region_code):
            raise NotFound(f"case {case_id} not found / 未找到该案件")
        return {"case_id": case.id, "overdue": case.overdue,
                "clocks": [clock_answer(c) for c in sla.clocks_of(session, case_id)]}


@blp.route("/<api_id:case_id>/clocks", methods=["GET"])
@blp.response(200, schemas.CaseClocks)
def case_clocks(case_id: int):
    """The case's statutory clocks: due, paused, warned, breached, stopped."""
    actor = current_actor()
    require(actor, CASE_READERS, "read cases")
    return clocks_answer(case_id, actor)


@blp.route("/<api_id:case_id>/clock/pause", methods=["POST"])
@blp.doc(**body_doc(schemas.ClockPause))
@blp.response(200, schemas.CaseClocks)
def pause(case_id: int):
    """停表: stop the running clocks of the case (or the one named) with a reason; 409 when none
    runs.  Caseworker, approver, supervisor of the region."""
    actor = current_actor()
    require(actor, CLOCK_HOLDERS, "pause statutory clocks")
    body = load(schemas.ClockPause, read_json())
    services().engine.pause_clock(case_id, actor, reason=body["reason"], name=body.get("name"))
    return clocks_answer(case_id, actor)


@blp.route("/<api_id:case_id>/clock/resume", methods=["POST"])
@blp.doc(requestBody={"required": False,
                      "content": {"application/json": {"schema": schemas.ClockResume}}})
@blp.response(200, schemas.CaseClocks)
def resume(case_id: int):
    """Count again: every deadline of the paused clocks moves by the paused span; 409 when none
    is paused."""
    actor = current_actor()
    require(actor, CLOCK_HOLDERS, "resume statutory clocks")
    body = load(schemas.ClockResume, read_json(required=False))
    services().engine.resume_clock(case_id, actor, name=body.get("name"))
    return clocks_answer(case_id, actor)
