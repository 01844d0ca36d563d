"""Process definitions: list, deploy a new version (multipart field ``file``), versions of a key."""

from __future__ import annotations

from flask import request

from engine.errors import NotFound, ValidationError
from web.api import schemas
from web.api.common import api_blueprint, current_actor, iso, services
from web.api.policy import PROCESS_READERS, require

blp = api_blueprint("processes", "/processes", "BPMN process definitions / 流程定义")

DEPLOYERS = frozenset({"designer", "admin"})
UPLOAD_DOC = {"requestBody": {"required": True, "content": {"multipart/form-data": {"schema": {
    "type": "object", "required": ["file"],
    "properties": {"file": {"type": "string", "format": "binary",
                            "description": "a BPMN 2.0 file (Camunda or SpiffWorkflow dialect)"}}}}}}}


def definition_answer(info) -> dict:
    return {"id": info.id, "key": info.key, "version": info.version, "name": info.name,
            "filename": info.filename, "sha256": info.sha256,
            "deployed_at": iso(info.deployed_at), "deployed_by": info.deployed_by}


@blp.route("", methods=["GET"])
@blp.response(200, schemas.Definition(many=True))
def list_processes():
    """The latest version of every deployed process."""
    require(current_actor(), PROCESS_READERS, "read process definitions")
    engine = services().engine
    with services().db.read() as session:
        return [definition_answer(info) for info in engine.definitions.list_latest(session)]


@blp.route("", methods=["POST"])
@blp.doc(**UPLOAD_DOC)
@blp.response(201, schemas.Deployed)
@blp.alt_response(200, schema=schemas.Deployed, description="the file equals the latest version",
                  success=True)
def deploy_process():
    """Deploy a BPMN file as the next version of its process (designer, admin).

    422 lists every problem with file, element and line; a file equal to the latest version
    deploys nothing and answers 200.
    """
    actor = current_actor()
    require(actor, DEPLOYERS, "deploy processes")
    upload = request.files.get("file")
    if upload is None:
        raise ValidationError("no file", {"file": ["upload the BPMN file as multipart field 'file' "
                                                   "/ 请上传 BPMN 文件"]})
    data = upload.read()
    if not data:
        raise ValidationError("empty file", {"file": ["the file is empty / 文件为空"]})
    outcome = services().engine.deploy(data, upload.filename or "upload.bpmn", actor=actor)
    answer = {**definition_answer(outcome.definition), "created": outcome.created}
    return answer, 201 if outcome.created else 200


@blp.route("/<key>/versions", methods=["GET"])
@blp.response(200, schemas.Definition(many=True))
def process_versions(key: str):
    """Every deployed version of one process, oldest first."""
    require(current_actor(), PROCESS_READERS, "read process definitions")
    engine = services().engine
    with services().db.read() as session:
        found = engine.definitions.versions(session, key)
    if not found:
        raise NotFound(f"no process '{key}' is deployed / 该流程尚未部署")
    return [definition_answer(info) for info in found]
