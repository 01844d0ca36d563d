"""Moving running cases of a process to another deployed version: preview first, then move."""

from __future__ import annotations

from sqlalchemy import select

from engine.errors import NotFound, ValidationError
from engine.workflow.models import ProcessInstance
from web.api import schemas
from web.api.common import api_blueprint, body_doc, current_actor, load, read_json, services
from web.api.policy import MIGRATORS, require

blp = api_blueprint("migrations", "/processes", "Migration of running cases / 流程版本迁移")

LISTS = ("blocking", "current", "removed", "changed", "added", "restarts")


@blp.route("/<key>/migrate", methods=["POST"])
@blp.doc(**body_doc(schemas.MigrateIn))
@blp.response(200, schemas.MigrationPreview(many=True))
def migrate(key: str):
    """Preview (``dry_run``, the default) or move cases to ``to_version`` (designer, admin).

    ``case_ids`` names the cases, or ``all_active: true`` takes every active case of the process in
    your region that runs another version.  Each case moves in its own transaction; a case waiting
    at a step the new version lacks is never moved, and its preview says why (``blocking``).
    """
    actor = current_actor()
    require(actor, MIGRATORS, "migrate running cases")
    body = load(schemas.MigrateIn, read_json())
    engine = services().engine
    with services().db.read() as session:
        versions = {v.version: v for v in engine.definitions.versions(session, key)}
        if not versions:
            raise NotFound(f"no process '{key}' is deployed / 该流程尚未部署")
        target = versions.get(body["to_version"])
        if target is None:
            raise ValidationError("unknown version", {"to_version": [
                f"process '{key}' has versions {', '.join(map(str, sorted(versions)))}"]})
        if body.get("all_active"):
            ids = list(session.execute(select(ProcessInstance.id).where(
                ProcessInstance.process_key == key, ProcessInstance.status == "active",
                ProcessInstance.definition_id != target.id,
                ProcessInstance.region_code.startswith(actor.region, autoescape=True))
                .order_by(ProcessInstance.id)).scalars())
        else:
            ids = list(dict.fromkeys(body["case_ids"]))
            rows = {r.id: r for r in session.execute(select(ProcessInstance).where(
                ProcessInstance.id.in_(ids))).scalars()}
            for case_id in ids:  # all or nothing: never move half a list, then fail
                row = rows.get(case_id)
                if row is None or not actor.sees(row.region_code):
                    raise NotFound(f"case {case_id} not found / 未找到该案件")
            others = [i for i in ids if rows[i].process_key != key]
            if others:
                raise ValidationError("cases of another process", {"case_ids": [
                    f"case {i} runs '{rows[i].process_key}', not '{key}'" for i in others]})
    previews = engine.migrate(ids, to_version=target.version, actor=actor, dry_run=body["dry_run"])
    return [{**{name: [] for name in LISTS}, **p} for p in previews]
