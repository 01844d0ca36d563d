"""Designer pages: upload a BPMN file, read the validation report, deploy, browse versions."""

from __future__ import annotations

import base64
import binascii
import hashlib
from pathlib import Path

from flask import (Response, abort, current_app, flash, redirect, render_template, request, url_for)
from sqlalchemy import func, select

from engine.errors import DefinitionError, Problem
from engine.workflow.models import ProcessDefinition, ProcessInstance
from web import diagram
from web.i18n import gettext as _
from web.pages.common import (DESIGN_ROLES, actor, local_time, page_blueprint, roles_required,
                              services)

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
    return render_template("designer/version.html", info=info, svg=svg,
                           use_viewer=vendor["viewer"] and diagram.has_layout(xml),
                           can_edit=vendor["modeler"], deployed=local_time(info.deployed_at))


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
