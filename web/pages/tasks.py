"""One task: its form (from the programme's schema), claim / unclaim / delegate, complete."""

from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import Session

from engine import plugins as plugin_registry
from engine.accounts import UserAccount
from engine.actors import Actor
from engine.errors import Conflict, ExpressionError, NotAllowed, ValidationError, WorkflowError
from engine.workflow.models import HumanTask, ProcessDefinition, ProcessInstance
from web.i18n import gettext as _
from web.pages import forms
from web.pages.common import (CASEWORK_ROLES, SUPERVISING_ROLES, actor, countdown, page_blueprint,
                              roles_required, safe_next, services)

bp = page_blueprint("tasks", __name__)


def form_schemas() -> dict[str, type]:
    """Form key → marshmallow schema from every plugin (none when no plugin offers forms)."""
    pm = services().pm
    if pm is None:
        return {}
    try:
        return plugin_registry.form_schemas(pm)
    except Conflict:
        current_app.logger.exception("two plugins offer the same form key")
        return {}


def delegates_for(db: Session, group: str | None, region_code: str, exclude: set[str]) -> list[tuple[str, str]]:
    """Active users who could take a task over: in its group and seeing its region."""
    if not group:
        return []
    rows = db.execute(select(UserAccount).where(UserAccount.role == group, UserAccount.active.is_(True))
                      .order_by(UserAccount.username)).scalars()
    return [(u.username, u.display_name or u.username) for u in rows
            if u.username not in exclude and Actor(u.username, u.role, u.region).sees(region_code)]


def may_work_on(task, who: Actor, excluded: list | None) -> bool:
    if task.status != "open" or who.username in (excluded or []):
        return False
    return task.assignee == who.username or (task.assignee is None and who.in_group(task.candidate_group))


def _context(task_id: int, who: Actor):
    svc = services()
    task = svc.engine.task(task_id, who)  # TaskNotFound (→ 404) outside the region
    with svc.db.read() as db:
        row = db.get(HumanTask, task_id)
        instance = db.get(ProcessInstance, task.instance_id)
        definition = db.get(ProcessDefinition, instance.definition_id)
        colleagues = delegates_for(db, task.candidate_group, task.region_code,
                                   {task.assignee or "", who.username}) \
            if task.assignee is not None and (task.assignee == who.username or who.role in SUPERVISING_ROLES) \
            else []
    return svc, task, row.excluded_users, instance, definition, colleagues


def _render(task_form, task, excluded, instance, definition, colleagues, who, status=200):
    svc = services()
    return render_template(
        "tasks/task.html", task=task, form=task_form, instance=instance, definition=definition,
        colleagues=colleagues, can_work=may_work_on(task, who, excluded),
        can_claim=task.status == "open" and task.assignee is None and who.in_group(task.candidate_group),
        can_unclaim=task.status == "open" and task.assignee is not None and (
            task.assignee == who.username or who.role in SUPERVISING_ROLES),
        countdown=countdown(task.due_at, task.created_at, svc.clock.now(), svc.calendar)), status


@bp.route("/tasks/<int:task_id>", methods=["GET", "POST"])
@roles_required(*CASEWORK_ROLES)
def show(task_id: int):
    who = actor()
    svc, task, excluded, instance, definition, colleagues = _context(task_id, who)
    schema = form_schemas().get(task.form_key or "")
    if request.method == "GET":
        initial = {}
        if schema is not None and may_work_on(task, who, excluded):
            initial = svc.engine.task_data(task_id, who)
        return _render(forms.build(schema, initial), task, excluded, instance, definition, colleagues, who)

    if not may_work_on(task, who, excluded):
        if task.status != "open":
            raise Conflict(f"task {task_id} is already {task.status}")
        raise NotAllowed(f"task '{task.name}' is for the group '{task.candidate_group}'")
    task_form, data = forms.parse(schema, request.form)
    if data is None:
        return _render(task_form, task, excluded, instance, definition, colleagues, who, 422)
    try:
        svc.engine.complete(task_id, who, data)
    except ValidationError as exc:
        for name, messages in exc.fields.items():
            match = next((f for f in task_form.fields if f.name == name), None)
            (match.errors if match else task_form.errors).extend(messages)
        if not exc.fields:
            task_form.errors.append(exc.message)
        return _render(task_form, task, excluded, instance, definition, colleagues, who, 422)
    except (WorkflowError, ExpressionError) as exc:
        current_app.logger.warning("completing task %s failed: %s", task_id, exc)
        task_form.errors.append(_("流程在下一步出错，本次提交未保存。请联系流程管理员。"))
        task_form.errors.append(exc.message)
        return _render(task_form, task, excluded, instance, definition, colleagues, who, 422)
    flash(_("已完成“%(name)s”。", name=task.name), "success")
    return redirect(url_for("cases.show", case_id=task.instance_id), code=303)


def _after(task_id: int, default: str):
    return redirect(safe_next(request.form.get("next"), default), code=303)


@bp.post("/tasks/<int:task_id>/claim")
@roles_required(*CASEWORK_ROLES)
def claim(task_id: int):
    try:
        task = services().engine.claim(task_id, actor())
    except Conflict:
        flash(_("这项任务已被他人领取或已办理。"), "error")
        return redirect(url_for("inbox.index", view="group"), code=303)
    flash(_("已领取“%(name)s”。", name=task.name), "success")
    return _after(task_id, url_for("tasks.show", task_id=task_id))


@bp.post("/tasks/<int:task_id>/unclaim")
@roles_required(*CASEWORK_ROLES)
def unclaim(task_id: int):
    try:
        task = services().engine.unclaim(task_id, actor())
    except Conflict:
        flash(_("这项任务已有变化，请刷新后再试。"), "error")
        return redirect(url_for("inbox.index"), code=303)
    flash(_("已将“%(name)s”退回组内待领取。", name=task.name), "success")
    return _after(task_id, url_for("inbox.index"))


@bp.post("/tasks/<int:task_id>/delegate")
@roles_required(*CASEWORK_ROLES)
def delegate(task_id: int):
    who = actor()
    svc = services()
    target = (request.form.get("to") or "").strip()
    task = svc.engine.task(task_id, who)
    with svc.db.read() as db:
        allowed = {u for u, _name in delegates_for(db, task.candidate_group, task.region_code, set())}
    if target not in allowed or target == task.assignee:
        flash(_("请选择本组、本辖区内的另一位同事。"), "error")
        return redirect(url_for("tasks.show", task_id=task_id), code=303)
    try:
        svc.engine.delegate(task_id, who, target)
    except Conflict:
        flash(_("这项任务已有变化，请刷新后再试。"), "error")
        return redirect(url_for("inbox.index"), code=303)
    flash(_("已将“%(name)s”转交给 %(user)s。", name=task.name, user=target), "success")
    return _after(task_id, url_for("inbox.index"))
