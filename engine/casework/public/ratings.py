"""Satisfaction ratings (群众满意度评价): after a help request's case closes the person rates it;
"dissatisfied" opens the ``followup`` process for the responsible township (汶上 [S0]: 凡是群众
评价不满意的，由责任单位与镇街、村居网格员包保落实).  The figures feed the supervisors' dashboard.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from engine.actors import within_region
from engine.casework.public.help import find, public_actor
from engine.casework.public.limits import Limits, check_and_record
from engine.casework.public.models import SatisfactionRating
from engine.db import Database
from engine.errors import Conflict, ValidationError
from engine.workflow.models import HumanTask, ProcessInstance

RATINGS = {"satisfied": "满意", "neutral": "基本满意", "dissatisfied": "不满意"}
FOLLOWUP = "followup"


@dataclass(frozen=True)
class Rated:
    rating_id: int
    followup_case_id: int | None


@dataclass(frozen=True)
class SatisfactionFigures:
    satisfied: int
    neutral: int
    dissatisfied: int
    followups_open: int
    followups_overdue: int

    @property
    def total(self) -> int:
        return self.satisfied + self.neutral + self.dissatisfied

    @property
    def rate(self) -> float | None:
        """满意率: satisfied or fairly satisfied, of all ratings (None before the first)."""
        return (self.satisfied + self.neutral) / self.total if self.total else None


def rate(db: Database, engine, code: str, *, rating: str, comment: str, ip: str, now: datetime,
         limits: Limits = Limits()) -> Rated:
    """Record the rating of a closed request once; "dissatisfied" starts the follow-up case in the
    same transaction, so a rating never exists without its follow-up."""
    if rating not in RATINGS:
        raise ValidationError("请选择评价", {"rating": ["请选择满意、基本满意或不满意。"]})
    comment = (comment or "").strip()
    if len(comment) > 500:
        raise ValidationError("意见过长", {"comment": ["请在500字以内。"]})
    with db.write() as session:
        row = find(session, code)
        case = session.get(ProcessInstance, row.case_id) if row.case_id else None
        if case is None or case.status not in ("completed", "cancelled"):
            raise Conflict("事项办结后才能评价")
        if session.execute(select(SatisfactionRating.id).where(
                SatisfactionRating.help_request_id == row.id)).first():
            raise Conflict("您已评价过此事项")
        check_and_record(session, kind="rating", ip=ip, phone=None, now=now, limits=limits)
        rated = SatisfactionRating(help_request_id=row.id, case_id=case.id, region_code=row.region_code,
                                   rating=rating, comment=comment or None, rated_at=now)
        session.add(rated)
        session.flush()
        if rating == "dissatisfied":
            view = engine.start(FOLLOWUP, actor=public_actor(row.region_code), region_code=row.region_code,
                                household_id=case.household_id, business_key=f"rating:{rated.id}",
                                parent_id=case.id, session=session,
                                data={"rating_id": rated.id, "help_request_id": row.id,
                                      "source_case_id": case.id, "comment": comment})
            rated.followup_case_id = view.id
        return Rated(rated.id, rated.followup_case_id)


def figures(session: Session, region: str, *, now: datetime) -> SatisfactionFigures:
    """Ratings and follow-ups under ``region`` (a prefix), for the dashboard."""
    counts = dict(session.execute(
        select(SatisfactionRating.rating, func.count(SatisfactionRating.id))
        .where(within_region(SatisfactionRating.region_code, region))
        .group_by(SatisfactionRating.rating)).all())
    open_cases = [ProcessInstance.process_key == FOLLOWUP, ProcessInstance.status == "active",
                  within_region(ProcessInstance.region_code, region)]
    followups_open = session.execute(select(func.count(ProcessInstance.id)).where(*open_cases)).scalar() or 0
    overdue = session.execute(select(func.count(HumanTask.id)).join(
        ProcessInstance, ProcessInstance.id == HumanTask.instance_id).where(
        *open_cases, HumanTask.status == "open", HumanTask.due_at < now)).scalar() or 0
    return SatisfactionFigures(int(counts.get("satisfied", 0)), int(counts.get("neutral", 0)),
                               int(counts.get("dissatisfied", 0)), int(followups_open), int(overdue))

