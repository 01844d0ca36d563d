"""Supervision: the escalations of a region, and the statutory clocks of a case (停表 / 恢复计时).

Escalations are listed for the cases inside the supervisor's region: those addressed to the region
itself or to a township inside it, and those of its cases sent further up (level 2 to the county).
Pausing and resuming a clock are POSTs from the case page; the engine checks the role and the
region and writes the audit events.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from math import ceil

from flask import abort, flash, redirect, render_template, request, url_for
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from engine.actors import Actor
from engine.errors import Conflict
from engine.workflow.models import ProcessInstance
from engine.workflow.sla import Escalation, SlaClock, clocks_of
from web.i18n import gettext as _
from web.pages.common import (CASEWORK_ROLES, SUPERVISING_ROLES, actor, local_time, page_blueprint,
                              role_label, roles_required, services)
from web.pages.dashboard_figures import process_names, within

bp = page_blueprint("supervision", __name__)

#: Who may pause or resume a case's clock (the engine says the same).
CLOCK_ROLES = ("caseworker", "approver", "supervisor", "admin")
PER_PAGE = 50
REASON_MAX = 200


def clock_status_label(status: str) -> str:
    labels = {"running": _("计时中"), "paused": _("已停表"), "met": _("按时完成"),
              "met_late": _("超时完成"), "cancelled": _("已取消")}
    return labels.get(status, status)


def lateness(due_at: datetime, until: datetime, calendar) -> str:
    """How late something is at ``until``: working days, or hours for short limits; "" when not late."""
    if until <= due_at:
        return ""
    days = calendar.workdays_between(due_at, until)
    if days >= 1:
        return _("超期 %(n)d 个工作日", n=days)
    return _("超期 %(n)d 小时", n=max(1, ceil((until - due_at).total_seconds() / 3600)))


def _until(clock: SlaClock, now: datetime) -> datetime:
    """The moment a clock's lateness is measured at: now, when it was paused, or when it stopped."""
    if clock.status == "paused" and clock.paused_at is not None:
        return clock.paused_at
    if clock.stopped_at is not None:
        return clock.stopped_at
    return now


# --------------------------------------------------------------------------- the case's clocks

@dataclass(frozen=True)
class ClockRow:
    id: int
    name: str
    spec: str
    status: str
    status_text: str
    started: str
    due: str
    late: str
    paused_since: str
    paused_total: str
    stopped: str


def case_clocks(session: Session, case_id: int, now: datetime, calendar) -> list[ClockRow]:
    """The statutory clocks of one case (the caller has checked that the user sees the case)."""
    rows = []
    for c in clocks_of(session, case_id):
        paused = c.paused_seconds + (int((now - c.paused_at).total_seconds())
                                     if c.status == "paused" and c.paused_at else 0)
        rows.append(ClockRow(
            c.id, c.name, c.spec, c.status, clock_status_label(c.status), local_time(c.started_at),
            local_time(c.due_at), lateness(c.due_at, _until(c, now), calendar) if c.status != "cancelled" else "",
            local_time(c.paused_at) if c.status == "paused" else "",
            _("%(h)d 小时 %(m)d 分", h=paused // 3600, m=paused % 3600 // 60) if paused else "",
            local_time(c.stopped_at)))
    return rows


def clock_panel(case_id: int, who: Actor) -> dict:
    """What the case page's clock section needs (rendered by ``escalations_case_clocks.html``)."""
    svc = services()
    now = svc.clock.now()
    with svc.db.read() as db:
        clocks = case_clocks(db, case_id, now, svc.calendar)
    return {"clocks": clocks, "may_pause": who.role in CLOCK_ROLES, "reason_max": REASON_MAX}


def _back(case_id: int):
    return redirect(url_for("cases.show", case_id=case_id) + "#clocks", code=303)


@bp.post("/cases/<int:case_id>/clocks/pause")
@roles_required(*CASEWORK_ROLES)
def pause(case_id: int):
    svc = services()
    who = actor()
    svc.engine.instance(case_id, who)  # 404 outside the region, before anything else is said
    if who.role not in CLOCK_ROLES:
        abort(403)
    name = (request.form.get("name") or "").strip()[:255] or None
    reason = (request.form.get("reason") or "").strip()
    if not reason or len(reason) > REASON_MAX:
        flash(_("请填写停表原因（不超过 %(n)d 字）。", n=REASON_MAX), "error")
        return _back(case_id)
    try:
        svc.engine.pause_clock(case_id, who, reason=reason, name=name)
    except Conflict:
        flash(_("该时限已不在计时中，请刷新页面。"), "error")
        return _back(case_id)
    flash(_("已停表：%(name)s。恢复计时后，期限将顺延停表的时间。", name=name or _("全部时限")), "success")
    return _back(case_id)


@bp.post("/cases/<int:case_id>/clocks/resume")
@roles_required(*CASEWORK_ROLES)
def resume(case_id: int):
    svc = services()
    who = actor()
    svc.engine.instance(case_id, who)
    if who.role not in CLOCK_ROLES:
        abort(403)
    name = (request.form.get("name") or "").strip()[:255] or None
    try:
        svc.engine.resume_clock(case_id, who, name=name)
    except Conflict:
        flash(_("该时限未处于停表状态，请刷新页面。"), "error")
        return _back(case_id)
    flash(_("已恢复计时：%(name)s。", name=name or _("全部时限")), "success")
    return _back(case_id)


# --------------------------------------------------------------------------- escalations

@dataclass(frozen=True)
class EscalationRow:
    id: int
    level: int
    at: str
    case_id: int
    process: str
    case_region: str
    case_status: str
    clock: str
    clock_status: str
    clock_status_text: str
    to: str
    to_region: str
    mine: bool  # addressed to the user's own region
    late: str
    message: str


FILTERS = ("open", "all")


def _conditions(region: str, show: str) -> list:
    """Escalations of the cases inside ``region``; "open": the case and its clock still running."""
    conditions = [within(ProcessInstance.region_code, region)]
    if show == "open":
        conditions.append(and_(ProcessInstance.status == "active",
                               SlaClock.status.in_(("running", "paused"))))
    return conditions


def _joined(query, conditions: list):
    return (query.join(SlaClock, SlaClock.id == Escalation.clock_id)
            .join(ProcessInstance, ProcessInstance.id == Escalation.instance_id).where(*conditions))


def count_by_level(session: Session, region: str, show: str = "open") -> dict[int, int]:
    """Escalations per level (what the page's tabs and the dashboard's tile show)."""
    rows = session.execute(_joined(select(Escalation.level, func.count()).select_from(Escalation),
                                   _conditions(region, show)).group_by(Escalation.level))
    return {int(level): int(n) for level, n in rows}


@bp.get("/escalations")
@roles_required(*SUPERVISING_ROLES)
def escalations():
    svc = services()
    who = actor()
    now = svc.clock.now()
    show = request.args.get("show", "open")
    show = show if show in FILTERS else "open"
    level = request.args.get("level", "")
    level = int(level) if level in ("1", "2") else None
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1

    conditions = _conditions(who.region, show)

    def joined(query):
        return _joined(query, conditions)

    with svc.db.read() as db:
        counts = count_by_level(db, who.region, show)
        total = sum(counts.values()) if level is None else counts.get(level, 0)
        mine = db.execute(joined(select(func.count()).select_from(Escalation))
                          .where(Escalation.to_region == who.region)).scalar_one()
        pages = max(1, ceil(total / PER_PAGE))
        page = min(page, pages)
        query = joined(select(Escalation, SlaClock, ProcessInstance).select_from(Escalation))
        if level is not None:
            query = query.where(Escalation.level == level)
        found = db.execute(query.order_by(Escalation.at.desc(), Escalation.id.desc())
                           .limit(PER_PAGE).offset((page - 1) * PER_PAGE)).all()
        names = process_names(db)
    rows = [EscalationRow(
        e.id, e.level, local_time(e.at), p.id, names.get(p.process_key, p.process_key), p.region_code,
        p.status, c.name, c.status, clock_status_label(c.status),
        _("%(role)s（%(region)s）", role=role_label(e.to_role), region=e.to_region), e.to_region,
        e.to_region == who.region, lateness(c.due_at, _until(c, now), svc.calendar), e.message)
        for e, c, p in found]
    return render_template(
        "escalations.html", rows=rows, show=show, level=level, counts=counts, total=total, page=page,
        pages=pages, mine=mine, at=local_time(now))
