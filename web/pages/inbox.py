"""The task inbox: my tasks, my group's unclaimed tasks, due soon, overdue.

Reads only the ``human_task`` mirror (joined to its instance for the process key): a list never
deserializes a workflow.  Every query is limited to the user's region prefix.
"""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil

from flask import render_template, request
from sqlalchemy import Text, and_, cast, func, not_, or_, select, union_all

from engine.actors import ROLES, Actor, within_region
from engine.workflow.models import HumanTask, ProcessDefinition, ProcessInstance
from web.i18n import gettext as _
from web.pages.tasks import delegates_for
from web.pages.common import (CASEWORK_ROLES, SUPERVISING_ROLES, Countdown, actor, countdown,
                              page_blueprint, role_label, roles_required, services)

bp = page_blueprint("inbox", __name__)

PER_PAGE = 20
VIEWS = ("mine", "group", "due", "overdue")


@dataclass(frozen=True)
class InboxRow:
    id: int
    name: str
    instance_id: int
    process: str
    process_name: str
    group: str | None
    assignee: str | None
    region_code: str
    countdown: Countdown
    mine: bool
    can_claim: bool
    can_handoff: bool


def visible(who: Actor):
    """Open tasks in the actor's region that do not exclude the actor (a relative in the case)."""
    excluded = HumanTask.excluded_users
    conditions = [HumanTask.status == "open"]
    if who.region:
        conditions.append(within_region(HumanTask.region_code, who.region))
    conditions.append(or_(excluded.is_(None),
                          not_(cast(excluded, Text).contains(f'"{who.username}"', autoescape=True))))
    return and_(*conditions)


def _workable(who: Actor) -> list:
    """Assigned to me, or unclaimed in my group: two disjoint sets, queried as two index scans."""
    mine = HumanTask.assignee == who.username
    if who.role == "admin":
        return [mine, HumanTask.assignee.is_(None)]
    return [mine, and_(HumanTask.assignee.is_(None), HumanTask.candidate_group == who.role)]


def view_branches(view: str, who: Actor, at, soon) -> list:
    """The view as disjoint conditions; a list of two is glued with UNION ALL, never OR (an OR makes
    SQLite scan every open task instead of two index ranges, bench/inbox.py)."""
    if view == "mine":
        return [HumanTask.assignee == who.username]
    if view == "group":
        cond = HumanTask.assignee.is_(None)
        return [cond if who.role == "admin" else and_(cond, HumanTask.candidate_group == who.role)]
    # supervisors watch every deadline in their region; everyone else their own work
    if view == "due":
        cond = and_(HumanTask.due_at.is_not(None), HumanTask.due_at >= at, HumanTask.due_at <= soon)
    else:
        cond = and_(HumanTask.due_at.is_not(None), HumanTask.due_at < at)
    if who.role in SUPERVISING_ROLES:
        return [cond]
    return [and_(scope, cond) for scope in _workable(who)]


def _count(db, where: list, branches: list) -> int:
    joined = select(func.count()).select_from(HumanTask).join(
        ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
    return sum(db.execute(joined.where(*where, b)).scalar_one() for b in branches)


def _page(where: list, branches: list, limit: int, offset: int):
    order = (HumanTask.due_at.is_(None), HumanTask.due_at, HumanTask.id)
    joined = select(HumanTask, ProcessInstance.process_key).join(
        ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
    if len(branches) == 1:
        return joined.where(*where, branches[0]).order_by(*order).limit(limit).offset(offset)
    parts = [select(HumanTask.id, HumanTask.due_at).join(ProcessInstance, ProcessInstance.id == HumanTask.instance_id)
             .where(*where, b) for b in branches]
    both = union_all(*parts).subquery("inbox")
    ids = select(both.c.id).order_by(both.c.due_at.is_(None), both.c.due_at, both.c.id).limit(limit).offset(offset)
    return joined.where(HumanTask.id.in_(ids)).order_by(*order)


@bp.get("/inbox")
@roles_required(*CASEWORK_ROLES)
def index():
    svc = services()
    who = actor()
    at = svc.clock.now()
    soon = svc.calendar.workdays_after(at, int(svc.config.get("DUE_SOON_WORKDAYS", 2)))
    view = request.args.get("view", "mine")
    if view not in VIEWS:
        view = "mine"
    process = request.args.get("process", "").strip()[:128]
    group = request.args.get("group", "").strip()[:64]
    text = request.args.get("q", "").strip()[:100]
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1

    base = visible(who)
    filters = []
    if process:
        filters.append(ProcessInstance.process_key == process)
    if group:
        filters.append(HumanTask.candidate_group == group)
    if text:
        filters.append(HumanTask.name.contains(text, autoescape=True))
    where = [base, *filters]

    with svc.db.read() as db:
        counts = {name: _count(db, where, view_branches(name, who, at, soon)) for name in VIEWS}
        total = counts[view]
        pages = max(1, ceil(total / PER_PAGE))
        page = min(page, pages)
        rows = db.execute(_page(where, view_branches(view, who, at, soon), PER_PAGE,
                                (page - 1) * PER_PAGE)).all()
        colleagues: dict[int, list[tuple[str, str]]] = {}
        for t, _key in rows:
            if t.assignee is not None and (t.assignee == who.username or who.role in SUPERVISING_ROLES):
                colleagues[t.id] = delegates_for(db, t.candidate_group, t.region_code,
                                                 {t.assignee, who.username})
        names = {}
        for key, pname in db.execute(select(ProcessDefinition.key, ProcessDefinition.name)
                                     .order_by(ProcessDefinition.key, ProcessDefinition.version)):
            names[key] = pname or key
    items = [InboxRow(t.id, t.name, t.instance_id, key, names.get(key, key), t.candidate_group,
                      t.assignee, t.region_code,
                      countdown(t.due_at, t.created_at, at, svc.calendar), t.assignee == who.username,
                      t.assignee is None and who.in_group(t.candidate_group),
                      t.assignee is not None and (t.assignee == who.username
                                                  or who.role in SUPERVISING_ROLES))
             for t, key in rows]
    groups = [(r, role_label(r)) for r in ROLES if r not in ("designer",)]
    tabs = [("mine", _("我的待办")), ("group", _("组内待领取")), ("due", _("即将到期")),
            ("overdue", _("已超期"))]
    return render_template(
        "inbox/index.html", items=items, view=view, tabs=tabs, counts=counts, page=page, pages=pages,
        total=total, process=process, group=group, q=text, processes=sorted(names.items()),
        groups=groups, colleagues=colleagues)
