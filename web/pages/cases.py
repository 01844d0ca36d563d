"""The case page: status, open tasks, the audit timeline, the household, the diagram."""

from __future__ import annotations

import importlib
import json
from dataclasses import dataclass
from typing import Any

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from engine.casework import documents
from engine.errors import DefinitionError, NotAllowed, NotFound, ValidationError
from engine.workflow import audit
from engine.workflow.models import AuditEvent, HumanTask, ProcessDefinition
from web import diagram
from web.i18n import gettext as _
from web.pages import forms, supervision
from web.pages.tasks import form_schemas
from web.pages.common import (CASEWORK_ROLES, REVEAL_ROLES, actor, countdown, local_time, mask_text,
                              page_blueprint, roles_required, services, status_label)

bp = page_blueprint("cases", __name__)


@dataclass(frozen=True)
class TimelineEntry:
    at: str
    actor: str
    action: str
    label: str
    subject: str
    details: list[tuple[str, str]]


@dataclass(frozen=True)
class MemberRow:
    index: int
    name: str
    relation: str
    sex: str
    birth_date: str
    id_masked: str
    id_full: str | None
    health: str | None


def action_label(action: str) -> str:
    labels = {
        "instance.started": _("立案，流程启动"), "instance.completed": _("办结"),
        "instance.cancelled": _("撤销"), "task.claimed": _("领取任务"), "task.unclaimed": _("退回任务"),
        "task.delegated": _("转交任务"), "task.completed": _("完成任务"), "task.cancelled": _("任务取消"),
        "timer.fired": _("计时到期"), "message.received": _("收到消息"),
        "id_number.revealed": _("查看完整身份证号"), "escalation.raised": _("超时升级"),
        "sla.warning": _("时限预警"), "payment.made": _("发放"), "data.changed": _("修改数据"),
        "sla.started": _("开始计时"), "sla.stopped": _("停止计时"), "sla.paused": _("停表"),
        "sla.resumed": _("恢复计时"), "sla.escalated": _("超时升级"), "payment.paid": _("发放救助金"),
        "payment.scheduled": _("安排按月发放"), "decision.recorded": _("作出决定"),
        "referral.created": _("转办"), "referral.answered": _("转办反馈"), "notification.sent": _("告知"),
        "case.started_child": _("发起关联案件"), "instance.failed": _("流程出错"),
        "instance.retried": _("重新执行"), "instance.migrated": _("迁移到新版本"),
        "assessment.recorded": _("测算"), "document.issued": _("已出具文书"),
    }
    return labels.get(action, action)


RELATIONS = {"head": "户主", "spouse": "配偶", "child": "子女", "parent": "父母", "grandchild": "孙子女",
             "grandparent": "祖父母", "sibling": "兄弟姐妹", "other": "其他"}
DISABILITY = {"physical": "肢体", "intellectual": "智力", "mental": "精神", "visual": "视力",
              "hearing": "听力", "speech": "言语", "multiple": "多重"}


def _short(value: Any, limit: int = 80) -> str:
    if isinstance(value, bool):
        return _("是") if value else _("否")
    if isinstance(value, (dict, list)):
        text = json.dumps(value, ensure_ascii=False, default=str)
    else:
        text = "" if value is None else str(value)
    text = mask_text(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def timeline(db, case_id: int) -> tuple[list[TimelineEntry], bool]:
    events = list(db.execute(select(AuditEvent).where(AuditEvent.chain == audit.case_chain(case_id))
                             .order_by(AuditEvent.seq)).scalars())
    task_names, task_forms = {}, {}
    for task_id, name, form_key in db.execute(select(HumanTask.id, HumanTask.name, HumanTask.form_key)
                                              .where(HumanTask.instance_id == case_id)):
        task_names[task_id] = name
        task_forms[task_id] = form_key
    schemas = form_schemas()
    entries = []
    for e in events:
        after = e.after if isinstance(e.after, dict) else {}
        before = e.before if isinstance(e.before, dict) else {}
        subject = ""
        if e.object_type == "task" and e.object_id.isdigit():
            subject = task_names.get(int(e.object_id), "")
        details: list[tuple[str, str]] = []
        if e.action == "task.completed":
            data = after.get("data") if isinstance(after.get("data"), dict) else {}
            names = forms.labels(schemas.get(task_forms.get(int(e.object_id)) or "")) \
                if e.object_id.isdigit() else {}
            details = []
            for key, value in list(data.items())[:12]:
                label, choices = names.get(key, (key, {}))
                shown = choices.get(str(value), value) if not isinstance(value, (bool, dict, list)) else value
                details.append((label, _short(shown)))
        elif e.action in ("task.claimed", "task.unclaimed", "task.delegated"):
            details = [(_("经办人"), f"{before.get('assignee') or '—'} → {after.get('assignee') or '—'}")]
        elif e.action == "timer.fired":
            details = [(_("计时器"), _short(after.get("timer")))]
        elif e.action == "instance.started":
            details = [(_("流程"), f"{after.get('process', '')} v{after.get('version', '')}")]
        elif e.action == "id_number.revealed":
            details = [(_("成员"), _short(after.get("member_name"))),
                       (_("身份证号"), _short(after.get("id_number")))]
        elif after:
            details = [(k, _short(v)) for k, v in list(after.items())[:8]]
        entries.append(TimelineEntry(local_time(e.at), e.actor, e.action, action_label(e.action),
                                     subject, details))
    intact = audit.verify(db, chains=[audit.case_chain(case_id)]).ok
    return entries, intact


def _records():
    try:
        return importlib.import_module("engine.casework.records")
    except ImportError:
        return None


def household_of(case, who, reveal: int | None = None) -> tuple[Any, list[MemberRow], str | None]:
    """(record, member rows, note) — ID numbers masked unless ``reveal`` names a member."""
    if case.household_id is None:
        return None, [], _("本案未关联家庭档案。")
    records = _records()
    if records is None or not hasattr(records, "get_household"):
        return None, [], _("家庭档案模块尚未启用。")
    svc = services()
    try:
        with svc.db.read() as db:
            record = records.get_household(db, case.household_id, actor=who)
    except NotFound:
        return None, [], _("家庭档案不在您的辖区内或已不存在。")
    except NotAllowed:
        return None, [], _("您的角色不能查看家庭档案。")
    household = getattr(record, "household", None)
    if household is None:
        return record, [], None
    may_see_health = who.role in REVEAL_ROLES
    rows = []
    for i, m in enumerate(household.members):
        health = None
        if may_see_health:
            bits = []
            if m.disability is not None:
                bits.append(_("残疾：%(kind)s %(grade)s 级", kind=_(DISABILITY.get(m.disability.category, m.disability.category)),
                              grade=m.disability.grade))
            if m.critical_illness:
                bits.append(_("重病"))
            if m.self_care_lost:
                bits.append(_("生活不能自理 %(n)d 项", n=m.self_care_lost))
            health = "；".join(bits) or "—"
        rows.append(MemberRow(i, m.name, _(RELATIONS.get(m.relation, m.relation)),
                              _("男") if m.sex == "M" else _("女") if m.sex == "F" else m.sex,
                              str(m.birth_date), m.masked_id, m.id_number if reveal == i else None,
                              health))
    return record, rows, None


def _page(case_id: int, reveal: int | None = None, status: int = 200):
    svc = services()
    who = actor()
    case = svc.engine.instance(case_id, who)  # NotFound (404) outside the region
    at = svc.clock.now()
    with svc.db.read() as db:
        events, intact = timeline(db, case_id)
        current, done = diagram.case_positions(db, case_id)
        definition = db.get(ProcessDefinition, case.definition_id)
        xml = definition.bpmn_xml
        process_name = definition.name or definition.key
    try:
        svg = diagram.render_svg(xml, current=current, done=done)
    except DefinitionError:
        current_app.logger.exception("cannot draw the diagram of case %s", case_id)
        svg = None
    record, members, note = household_of(case, who, reveal)
    tasks = [(t, countdown(t.due_at, t.created_at, at, svc.calendar)) for t in case.open_tasks]
    data = [(k, _short(v, 120)) for k, v in sorted(case.data.items())
            if k not in ("case_id",)][:40]
    with svc.db.read() as db:
        issued = documents.for_case(db, case_id)
    return render_template(
        "cases/case.html", case=case, process_name=process_name, tasks=tasks, events=events,
        clock_panel=supervision.clock_panel(case.id, who),  # case.html plus its statutory clocks
        intact=intact, svg=svg, record=record, members=members, household_note=note,
        may_reveal=who.role in REVEAL_ROLES, data=data, status_text=status_label(case.status),
        created=local_time(case.created_at), updated=local_time(case.updated_at),
        documents=issued, document_kinds=[(k, kind_label(k)) for k in documents.CASE_KINDS],
        may_issue=who.role in DOCUMENT_ISSUERS, kind_label=kind_label), status


@bp.get("/cases/<int:case_id>")
@roles_required(*CASEWORK_ROLES)
def show(case_id: int):
    return _page(case_id)


@bp.post("/cases/<int:case_id>/reveal")
@roles_required(*CASEWORK_ROLES)
def reveal(case_id: int):
    """Show one member's full ID number, once, and record who looked (audit)."""
    svc = services()
    who = actor()
    case = svc.engine.instance(case_id, who)
    if who.role not in REVEAL_ROLES:
        abort(403)
    index = request.form.get("member", "")
    if not index.isdigit():
        abort(404)
    index = int(index)
    record, members, _note = household_of(case, who)
    if record is None or index >= len(members):
        abort(404)
    member = record.household.members[index]
    at = svc.clock.now()
    seen = {"member": index, "member_name": member.name, "id_number": member.masked_id,
            "case_id": case_id, "ip": request.remote_addr}
    with svc.db.write() as db:
        # on the case (its timeline) and on the household (every reveal of its numbers, any case)
        audit.append(db, chain=audit.case_chain(case_id), actor=who.username,
                     action="id_number.revealed", object_type="household",
                     object_id=case.household_id, at=at, after=seen)
        audit.append(db, chain=f"household:{case.household_id}", actor=who.username,
                     action="household.id_number_revealed", object_type="household",
                     object_id=case.household_id, at=at, after=seen)
    return _page(case_id, reveal=index)


# --------------------------------------------------------------------------- documents

DOCUMENT_ISSUERS = ("caseworker", "approver", "admin")


def kind_label(kind: str) -> str:
    labels = {"approval_notice": _("审核确认通知书"), "refusal_notice": _("不予批准决定书"),
              "change_notice": _("救助变更决定书"),
              "publicity_list": _("公示名单"), "batch_summary": _("发放批次汇总表")}
    return labels.get(kind, kind)


@bp.get("/cases/<int:case_id>/documents/<int:document_id>")
@roles_required(*CASEWORK_ROLES)
def document(case_id: int, document_id: int):
    """The PDF as issued (same bytes and headers as the API's download)."""
    from web.api.documents import pdf_response

    svc = services()
    who = actor()
    svc.engine.instance(case_id, who)  # 404 outside the region
    with svc.db.read() as db:
        row = documents.visible(db, document_id, who)
        if row.instance_id != case_id:
            abort(404)
        return pdf_response(row.id, row.content, row.sha256, row.title)


@bp.post("/cases/<int:case_id>/documents")
@roles_required(*CASEWORK_ROLES)
def issue_document(case_id: int):
    """(Re)issue a notice or publicity list from the case's latest decision; back to the case."""
    svc = services()
    who = actor()
    svc.engine.instance(case_id, who)
    if who.role not in DOCUMENT_ISSUERS:
        abort(403)
    kind = request.form.get("kind", "")
    if kind not in documents.CASE_KINDS:
        abort(400)
    try:
        with svc.db.write() as db:
            row = documents.issue_for_case(db, case_id, kind, at=svc.clock.now(), actor=who,
                                           names=documents.programme_names(svc))
            title = row.title
    except ValidationError:
        flash(_("本案没有可出具%(kind)s的决定。", kind=kind_label(kind)), "error")
    else:
        flash(_("已出具：%(title)s。", title=title), "success")
    return redirect(url_for("cases.show", case_id=case_id) + "#documents", code=303)
