"""Designer pages: upload a BPMN file, read the validation report, deploy, browse versions."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from flask import (Response, abort, current_app, flash, redirect, render_template, request, url_for)
from sqlalchemy import func, select

from engine.errors import DefinitionError, Problem
from engine.workflow.models import HumanTask, ProcessDefinition, ProcessInstance
from web import diagram
from web.i18n import gettext as _
from web.pages.common import (DESIGN_ROLES, actor, local_time, page_blueprint, roles_required,
                              services, status_label)

bp = page_blueprint("designer", __name__, url_prefix="/designer")

VENDOR = Path("vendor") / "bpmn-js"


def vendor_files() -> dict[str, bool]:
    """Which bpmn-js bundles were installed by scripts/web-assets.sh (optional)."""
    static = Path(current_app.static_folder or "")
    return {"viewer": (static / VENDOR / "bpmn-viewer.production.min.js").is_file(),
            "modeler": (static / VENDOR / "bpmn-modeler.production.min.js").is_file()}


def _filename(name: str | None) -> str:
    name = Path((name or "").replace("\\", "/")).name.strip()
    name = "".join(c for c in name if c.isprintable())[:120]
    return name or "upload.bpmn"


def _preview(data: bytes) -> str | None:
    try:
        return diagram.render_svg(data, current=set(), done=set())
    except DefinitionError:
        return None
    except Exception:  # noqa: BLE001 - a preview must never hide the validation report
        current_app.logger.exception("preview failed")
        return None


def _report(data: bytes, filename: str, problems: list[Problem], status: int = 200):
    encoded = base64.b64encode(data).decode("ascii") if not problems else ""
    return render_template(
        "designer/report.html", filename=filename, problems=problems, size=len(data),
        sha256=hashlib.sha256(data).hexdigest(), encoded=encoded,
        svg=_preview(data)), status


@bp.get("/")
@roles_required(*DESIGN_ROLES)
def index():
    svc = services()
    with svc.db.read() as db:
        latest = svc.engine.definitions.list_latest(db)
        counts = dict(db.execute(select(ProcessInstance.definition_id, func.count())
                                 .group_by(ProcessInstance.definition_id)).all())
        versions = dict(db.execute(select(ProcessDefinition.key, func.count())
                                   .group_by(ProcessDefinition.key)).all())
    rows = [(d, versions.get(d.key, 1), counts.get(d.id, 0), local_time(d.deployed_at)) for d in latest]
    return render_template("designer/index.html", rows=rows)


@bp.get("/upload")
@roles_required(*DESIGN_ROLES)
def upload():
    return render_template("designer/upload.html")


@bp.post("/validate")
@roles_required(*DESIGN_ROLES)
def validate():
    upload_file = request.files.get("file")
    if upload_file is not None and upload_file.filename:
        data = upload_file.read()
        filename = _filename(upload_file.filename)
    elif request.form.get("xml"):
        data = request.form["xml"].encode("utf-8")
        filename = _filename(request.form.get("filename") or "diagram.bpmn")
    else:
        flash(_("请选择一个 BPMN 文件。"), "error")
        return redirect(url_for("designer.upload"), code=303)
    problems = services().engine.validate(data, filename)
    return _report(data, filename, problems, 422 if problems else 200)


@bp.post("/deploy")
@roles_required(*DESIGN_ROLES)
def deploy():
    filename = _filename(request.form.get("filename"))
    try:
        data = base64.b64decode(request.form.get("content", ""), validate=True)
    except (binascii.Error, ValueError):
        abort(400)
    if not data:
        abort(400)
    svc = services()
    try:
        outcome = svc.engine.deploy(data, filename, actor=actor())
    except DefinitionError as exc:
        return _report(data, filename, exc.problems, 422)
    info = outcome.definition
    if outcome.created:
        flash(_("已部署流程 %(key)s 第 %(version)d 版。", key=info.key, version=info.version), "success")
    else:
        flash(_("内容与第 %(version)d 版相同，未创建新版本。", version=info.version), "info")
    return redirect(url_for("designer.version", key=info.key, version=info.version), code=303)


@bp.get("/processes/<key>")
@roles_required(*DESIGN_ROLES)
def process(key: str):
    svc = services()
    with svc.db.read() as db:
        versions = svc.engine.definitions.versions(db, key)
        counts = dict(db.execute(select(ProcessInstance.definition_id, func.count())
                                 .where(ProcessInstance.process_key == key)
                                 .group_by(ProcessInstance.definition_id)).all())
    if not versions:
        abort(404)
    rows = [(v, counts.get(v.id, 0), local_time(v.deployed_at)) for v in reversed(versions)]
    return render_template("designer/process.html", key=key, rows=rows, name=versions[-1].name or key)


def _definition(key: str, version: int):
    svc = services()
    with svc.db.read() as db:
        info = svc.engine.definitions.by_version(db, key, version)  # NotFound → 404
        xml = svc.engine.definitions.xml(db, info.id)
    return info, xml


@bp.get("/processes/<key>/<int:version>")
@roles_required(*DESIGN_ROLES)
def version(key: str, version: int):
    info, xml = _definition(key, version)
    svg = _preview(xml)
    vendor = vendor_files()
    with services().db.read() as db:
        running = _active_by_version(db, key, actor().region)  # for moving them to this version
    return render_template("designer_migrate_version.html", info=info, svg=svg,
                           use_viewer=vendor["viewer"] and diagram.has_layout(xml),
                           can_edit=vendor["modeler"], deployed=local_time(info.deployed_at),
                           running=sorted(running.items()))


@bp.get("/processes/<key>/<int:version>/bpmn")
@roles_required(*DESIGN_ROLES)
def download(key: str, version: int):
    info, xml = _definition(key, version)
    disposition = "attachment" if request.args.get("download") else "inline"
    response = Response(xml, mimetype="application/xml")
    response.headers["Content-Disposition"] = f'{disposition}; filename="{info.key}-v{info.version}.bpmn"'
    return response


@bp.get("/processes/<key>/<int:version>/edit")
@roles_required(*DESIGN_ROLES)
def edit(key: str, version: int):
    if not vendor_files()["modeler"]:
        flash(_("浏览器编辑器未安装（scripts/web-assets.sh），请在本地建模工具中编辑后上传。"), "info")
        return redirect(url_for("designer.version", key=key, version=version), code=303)
    info, xml = _definition(key, version)
    return render_template("designer/edit.html", info=info, has_layout=diagram.has_layout(xml))


# --------------------------------------------------------------------------- migrating running cases

#: At most this many cases are listed, previewed or moved in one request (each is loaded and diffed).
MIGRATE_BATCH = 200


def _active_by_version(db, key: str, region: str) -> dict[int, int]:
    """Active cases of ``key`` inside ``region``, counted per version number."""
    rows = db.execute(select(ProcessDefinition.version, func.count(ProcessInstance.id))
                      .join(ProcessInstance, ProcessInstance.definition_id == ProcessDefinition.id)
                      .where(ProcessDefinition.key == key, ProcessInstance.status == "active",
                             ProcessInstance.region_code.startswith(region, autoescape=True))
                      .group_by(ProcessDefinition.version))
    return {int(v): int(n) for v, n in rows}


def _active_cases(db, key: str, version: int, region: str, ids: list[int] | None = None) -> list[ProcessInstance]:
    query = (select(ProcessInstance).join(ProcessDefinition, ProcessDefinition.id == ProcessInstance.definition_id)
             .where(ProcessDefinition.key == key, ProcessDefinition.version == version,
                    ProcessInstance.status == "active",
                    ProcessInstance.region_code.startswith(region, autoescape=True)))
    if ids is not None:
        query = query.where(ProcessInstance.id.in_(ids))
    return list(db.execute(query.order_by(ProcessInstance.id).limit(MIGRATE_BATCH)).scalars())


def element_kind(node) -> str:
    if node is None:
        return ""
    if node.event == "timer":
        return _("定时器")
    if node.event == "message":
        return _("消息事件")
    if node.tag in ("userTask", "manualTask", "task"):
        return _("人工任务")
    if node.tag.endswith("Event"):
        return _("事件")
    if node.tag.endswith("Gateway"):
        return _("网关")
    return _("自动步骤")


def blocking_text(reason: str, names: dict | None = None) -> str:
    """The engine's blocking reasons in the page's language (element ids → names from ``names``)."""
    waits = re.fullmatch(r"the case waits at '(.+)', which the new version does not have", reason)
    if waits:
        node = (names or {}).get(waits.group(1))
        element = f"{node.name}（{waits.group(1)}）" if node is not None and node.name else waits.group(1)
        return _("案件正停在“%(element)s”，新版本中没有这个环节。", element=element)
    if reason == "a running subprocess has no counterpart in the new version":
        return _("正在运行的子流程在新版本中没有对应。")
    status = re.fullmatch(r"the case is (\w+)", reason)
    if status:
        return _("案件状态为“%(status)s”，只能迁移办理中的案件。", status=status_label(status.group(1)))
    return reason


@dataclass(frozen=True)
class Element:
    id: str
    name: str
    kind: str
    timer: bool


class _Elements:
    """Names and kinds of the elements of the old and the new version."""

    def __init__(self, old: bytes, new: bytes) -> None:
        self.old = self._nodes(old)
        self.new = self._nodes(new)

    @staticmethod
    def _nodes(xml: bytes) -> dict:
        try:
            return diagram.read_diagram(xml).nodes
        except DefinitionError:
            return {}

    def __call__(self, ids, *, new: bool = True) -> list[Element]:
        found = []
        first, second = (self.new, self.old) if new else (self.old, self.new)
        for element_id in ids or ():
            node = first.get(element_id) or second.get(element_id)
            found.append(Element(element_id, (node.name if node else "") or element_id, element_kind(node),
                                 bool(node and node.event == "timer")))
        return found


def _versions_or_404(db, key: str):
    versions = services().engine.definitions.versions(db, key)
    if not versions:
        abort(404)
    return versions


def _int(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() and len(value) < 10 else None


@bp.get("/processes/<key>/migrate")
@roles_required(*DESIGN_ROLES)
def migrate(key: str):
    """Choose the running cases of one version and the version to move them to."""
    svc = services()
    who = actor()
    with svc.db.read() as db:
        versions = _versions_or_404(db, key)
        counts = _active_by_version(db, key, who.region)
        numbers = [v.version for v in versions]
        latest = numbers[-1]
        source = _int(request.args.get("from"))
        if source not in numbers:
            source = next((n for n in numbers if counts.get(n) and n != latest), latest)
        target = _int(request.args.get("to"))
        if target not in numbers or target == source:
            target = latest if latest != source else next((n for n in reversed(numbers) if n != source), None)
        cases = _active_cases(db, key, source, who.region)
        waiting: dict[int, list[str]] = {}
        for instance_id, name in db.execute(
                select(HumanTask.instance_id, HumanTask.name)
                .where(HumanTask.instance_id.in_([c.id for c in cases]), HumanTask.status == "open")
                .order_by(HumanTask.id)):
            waiting.setdefault(instance_id, []).append(name)
    rows = [(c, waiting.get(c.id, []), local_time(c.created_at)) for c in cases]
    return render_template("designer_migrate.html", key=key, name=versions[-1].name or key, versions=versions,
                           counts=counts, source=source, target=target, rows=rows,
                           more=counts.get(source, 0) > len(rows), batch=MIGRATE_BATCH)


def _chosen(key: str, who) -> tuple[int, int, list[ProcessInstance]]:
    """The form's source and target versions and the chosen cases (active, this process, in region)."""
    source, target = _int(request.form.get("from")), _int(request.form.get("to"))
    svc = services()
    with svc.db.read() as db:
        numbers = [v.version for v in _versions_or_404(db, key)]
        if source not in numbers or target not in numbers:
            abort(404)
        if request.form.get("all") == "1":
            cases = _active_cases(db, key, source, who.region)
        else:
            ids = [int(i) for i in request.form.getlist("case") if i.isdigit() and len(i) < 19]
            cases = _active_cases(db, key, source, who.region, ids[:MIGRATE_BATCH]) if ids else []
    return source, target, cases


@bp.post("/processes/<key>/migrate/preview")
@roles_required(*DESIGN_ROLES)
def migrate_preview(key: str):
    """What would happen to each chosen case (engine.migrate with ``dry_run``): nothing is written."""
    svc = services()
    who = actor()
    source, target, cases = _chosen(key, who)
    if source == target:
        flash(_("请选择与当前版本不同的目标版本。"), "error")
        return redirect(url_for("designer.migrate", key=key, **{"from": source}), code=303)
    if not cases:
        flash(_("请至少选择一个案件。"), "error")
        return redirect(url_for("designer.migrate", key=key, to=target, **{"from": source}), code=303)
    previews = svc.engine.migrate([c.id for c in cases], to_version=target, actor=who, dry_run=True)
    return _migration_page("designer_migrate_preview.html", key, source, target, cases, previews)


@bp.post("/processes/<key>/migrate")
@roles_required(*DESIGN_ROLES)
def migrate_apply(key: str):
    """Move the confirmed cases; each in its own transaction, audited on its chain by the engine."""
    svc = services()
    who = actor()
    source, target, cases = _chosen(key, who)
    if source == target or not cases:
        flash(_("请至少选择一个案件。"), "error")
        return redirect(url_for("designer.migrate", key=key, to=target, **{"from": source}), code=303)
    results = svc.engine.migrate([c.id for c in cases], to_version=target, actor=who, dry_run=False)
    moved = sum(1 for r in results if r.get("migrated"))
    flash(_("已将 %(n)d 个案件迁移到第 %(v)d 版。", n=moved, v=target), "success" if moved else "info")
    if moved < len(results):
        flash(_("%(n)d 个案件未迁移，原因见下表。", n=len(results) - moved), "error")
    return _migration_page("designer_migrate_result.html", key, source, target, cases, results)


def _migration_page(template: str, key: str, source: int, target: int, cases, results: list[dict]):
    svc = services()
    with svc.db.read() as db:
        old = svc.engine.definitions.by_version(db, key, source)
        new = svc.engine.definitions.by_version(db, key, target)
        elements = _Elements(svc.engine.definitions.xml(db, old.id), svc.engine.definitions.xml(db, new.id))
    regions = {c.id: c.region_code for c in cases}
    rows = []
    for r in results:
        rows.append({"case_id": r["case_id"], "region": regions.get(r["case_id"], ""), "ok": r.get("ok", False),
                     "migrated": r.get("migrated", False),
                     "blocking": [blocking_text(b, elements.old) for b in r.get("blocking", [])],
                     "current": elements(r.get("current"), new=False), "restarts": elements(r.get("restarts"))})
    diffs = {(tuple(r.get("removed", [])), tuple(r.get("changed", [])), tuple(r.get("added", [])))
             for r in results if "removed" in r}
    changes = [{"removed": elements(removed, new=False), "changed": elements(changed), "added": elements(added)}
               for removed, changed, added in sorted(diffs)]
    return render_template(template, key=key, name=new.name or key, source=source, target=target, rows=rows,
                           changes=changes, ok=[r for r in rows if r["ok"]],
                           blocked=[r for r in rows if not r["ok"]])
