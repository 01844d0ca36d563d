"""Referral slips (转办单): make one for a case, list and read them, record the feedback once."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import url_for
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.casework import referrals
from engine.casework.referrals import Referral
from engine.errors import Conflict, EngineError, ExpressionError, NotFound, ValidationError
from engine.workflow import audit
from engine.workflow.engine import StepContext
from engine.workflow.models import ProcessInstance
from web.api import schemas
from web.api.common import (TOTAL_HEADER, api_blueprint, body_doc, current_actor, iso, load, now,
                            read_json, services, with_total)
from web.api.policy import REFERRAL_READERS, REFERRAL_WRITERS, require

log = logging.getLogger("jishijiu.api")

blp = api_blueprint("referrals", "/referrals", "Referral slips / 转办单")

FEEDBACK_MESSAGE = "referral_feedback"
REFERRAL_PROCESS = "referral"
MAX_DUE = timedelta(days=366)


def referral_answer(row: Referral, at: datetime) -> dict:
    return {"id": row.id, "case_id": row.instance_id, "referral_case_id": row.case_id,
            "household_id": row.household_id, "region_code": row.region_code, "target": row.target,
            "reason": row.reason, "due_at": iso(row.due_at), "status": row.status,
            "overdue": row.status == "open" and row.due_at < at, "outcome": row.outcome,
            "feedback": row.feedback, "answered_at": iso(row.answered_at),
            "answered_by": row.answered_by, "created_at": iso(row.created_at),
            "created_by": row.created_by}


def _visible(session: Session, referral_id: int, actor, *, lock: bool = False) -> Referral:
    row = session.get(Referral, referral_id, with_for_update=lock)
    if row is None or not actor.sees(row.region_code):
        raise NotFound(f"referral {referral_id} not found / 未找到该转办单")
    return row


@blp.route("", methods=["POST"])
@blp.doc(**body_doc(schemas.ReferralIn))
@blp.response(201, schemas.Referral)
def create_referral():
    """Make a slip for a case in your region (caseworker, approver).

    The same code path as the ``referral.create`` service task: audited on the case, and when
    the ``referral`` process is deployed a referral case starts to track the feedback.
    """
    actor = current_actor()
    require(actor, REFERRAL_WRITERS, "make referral slips")
    body = load(schemas.ReferralIn, read_json())
    svc = services()
    at = now()
    if body.get("due"):
        _check_due(body["due"], at)
    with svc.db.write() as session:
        # the case's writers queue on its row: we extend its audit chain (and may start a child)
        case = session.get(ProcessInstance, body["case_id"], with_for_update=True)
        if case is None or not actor.sees(case.region_code):
            raise NotFound(f"case {body['case_id']} not found / 未找到该案件")
        if case.status == "cancelled":
            raise Conflict(f"case {case.id} is cancelled / 案件已撤销")
        ctx = StepContext(session, case, actor, at, "referral")
        made = svc.services.get("referral.create")(
            {"target": body["target"], "reason": body["reason"], "due": body.get("due")}, {}, ctx)
        row = session.get(Referral, made["referral_id"])
        answer = referral_answer(row, at)
    return answer, 201, {"Location": url_for("api_referrals.get_referral", referral_id=row.id)}


def _check_due(spec: str, at: datetime) -> None:
    try:
        due = services().engine.parse_due(spec, at)
    except (ExpressionError, ValueError, OverflowError) as exc:
        raise ValidationError("invalid due time", {"due": [str(exc)]}) from None
    if due <= at:
        raise ValidationError("due time has passed", {"due": ["must lie in the future / 反馈期限须晚于现在"]})
    if due > at + MAX_DUE:
        raise ValidationError("due time too far", {"due": ["at most a year from now / 反馈期限不超过一年"]})


@blp.route("", methods=["GET"])
@blp.arguments(schemas.ReferralQuery, location="query")
@blp.response(200, schemas.Referral(many=True), headers=TOTAL_HEADER)
def list_referrals(query):
    """Slips in your region, soonest due first: ``status`` (open | answered), ``overdue=1``,
    ``case_id``, ``target``."""
    actor = current_actor()
    require(actor, REFERRAL_READERS, "read referral slips")
    at = now()
    conditions = [Referral.region_code.startswith(actor.region, autoescape=True)]
    if query.get("status"):
        conditions.append(Referral.status == query["status"])
    if query.get("overdue") is not None:
        late = (Referral.status == "open") & (Referral.due_at < at)
        conditions.append(late if query["overdue"] else ~late)
    if query.get("case_id") is not None:
        conditions.append(Referral.instance_id == query["case_id"])
    if query.get("target"):
        conditions.append(Referral.target == query["target"])
    with services().db.read() as session:
        total = session.execute(select(func.count(Referral.id)).where(*conditions)).scalar()
        rows = session.execute(select(Referral).where(*conditions)
                               .order_by(Referral.due_at, Referral.id)
                               .limit(query["limit"]).offset(query["offset"])).scalars()
        items = [referral_answer(r, at) for r in rows]
    return with_total(items, int(total or 0))


@blp.route("/<api_id:referral_id>", methods=["GET"])
@blp.response(200, schemas.Referral)
def get_referral(referral_id: int):
    """One slip with its feedback."""
    actor = current_actor()
    require(actor, REFERRAL_READERS, "read referral slips")
    with services().db.read() as session:
        return referral_answer(_visible(session, referral_id, actor), now())


@blp.route("/<api_id:referral_id>/feedback", methods=["POST"])
@blp.doc(**body_doc(schemas.FeedbackIn))
@blp.response(200, schemas.ReferralAnswered)
def give_feedback(referral_id: int):
    """Record the receiving body's feedback, once (409 the second time).

    Audited on the case the slip was made for, then delivered to the referral case as the message
    ``referral_feedback`` {referral_id, outcome, feedback} when that case waits for it.
    """
    actor = current_actor()
    require(actor, REFERRAL_WRITERS, "record referral feedback")
    body = load(schemas.FeedbackIn, read_json())
    svc = services()
    at = now()
    with svc.db.write() as session:
        case_id = _visible(session, referral_id, actor).instance_id
        # lock order as in every engine step: the case first, then what hangs on it
        session.execute(select(ProcessInstance.id).where(ProcessInstance.id == case_id)
                        .with_for_update())
        row = _visible(session, referral_id, actor, lock=True)
        session.refresh(row)
        referrals.give_feedback(session, row, outcome=body["outcome"], feedback=body["feedback"],
                                at=at, actor=actor.username)
        audit.append(session, chain=audit.case_chain(row.instance_id), actor=actor.username,
                     action="referral.answered", object_type="referral", object_id=row.id, at=at,
                     before={"status": "open"},
                     after={"target": row.target, "outcome": row.outcome, "feedback": row.feedback})
        tracking = _tracking_case(session, row)
        payload = {"referral_id": row.id, "outcome": row.outcome, "feedback": row.feedback}
        answer = referral_answer(row, at)
    return {**answer, "delivered": _deliver(tracking, payload, actor)}


def _tracking_case(session: Session, row: Referral) -> int | None:
    """The active referral case that tracks this slip: the one it started, or the referral case
    that made the slip itself."""
    candidate = row.case_id
    if candidate is None:
        parent = session.get(ProcessInstance, row.instance_id)
        if parent is not None and parent.process_key == REFERRAL_PROCESS:
            candidate = parent.id
    if candidate is None:
        return None
    case = session.get(ProcessInstance, candidate)
    return case.id if case is not None and case.status == "active" else None


def _deliver(case_id: int | None, payload: dict, actor) -> bool:
    """Send ``referral_feedback`` when the case waits for it; the feedback stands either way."""
    if case_id is None:
        return False
    engine = services().engine
    try:
        if FEEDBACK_MESSAGE not in engine.waiting_messages(case_id):
            return False
        engine.send_message(case_id, FEEDBACK_MESSAGE, payload, actor=actor)
    except Conflict:
        return False  # the case moved on meanwhile (a caseworker recorded it by hand)
    except EngineError as exc:
        log.error("referral feedback %s could not be delivered to case %s: %s",
                  payload["referral_id"], case_id, exc)
        return False
    return True
