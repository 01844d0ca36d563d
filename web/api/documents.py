"""Documents: a case's notices (list, (re)issue), batch summaries and region publicity lists, the PDFs.

A document outside the user's region is 404 like any other object; a (re)issue is a new document
with its own audit event, never an overwrite.
"""

from __future__ import annotations

from urllib.parse import quote

from flask import Response, url_for
from sqlalchemy import func, select
from sqlalchemy.orm import defer

from engine.casework import documents
from engine.casework.documents.models import CaseDocument
from engine.errors import NotFound
from web.api.common import (TOTAL_HEADER, api_blueprint, body_doc, current_actor, iso, load, read_json, services,
                            with_total)
from web.api.cases import visible_case
from web.api.policy import CASE_READERS, require
from web.api.schemas import documents as schemas

blp = api_blueprint("documents", "", "Documents (PDF notices, lists, summaries) / 文书")

DOCUMENT_ISSUERS = frozenset({"admin", "caseworker", "approver"})


def document_answer(d: documents.DocumentView) -> dict:
    return {"id": d.id, "case_id": d.instance_id, "household_id": d.household_id, "kind": d.kind,
            "title": d.title, "reference": d.reference, "template_version": d.template_version,
            "sha256": d.sha256, "size": d.size, "created_at": iso(d.created_at), "created_by": d.created_by,
            "download": url_for("api_documents.download", document_id=d.id)}


@blp.route("/cases/<api_id:case_id>/documents", methods=["GET"])
@blp.response(200, schemas.Document(many=True))
def list_documents(case_id: int):
    """The documents issued for a case, oldest first (each re-issue is its own entry)."""
    actor = current_actor()
    require(actor, CASE_READERS, "read cases")
    with services().db.read() as session:
        visible_case(session, case_id, actor)
        return [document_answer(d) for d in documents.for_case(session, case_id)]


@blp.route("/cases/<api_id:case_id>/documents", methods=["POST"])
@blp.doc(**body_doc(schemas.DocumentIssue))
@blp.response(201, schemas.Document)
def issue_document(case_id: int):
    """(Re)issue a document from the case's latest matching decision: ``approval_notice`` and
    ``publicity_list`` need an approval, ``refusal_notice`` a refusal, ``change_notice`` a reduction,
    taper, suspension or stop (else 422)."""
    actor = current_actor()
    require(actor, DOCUMENT_ISSUERS, "issue documents")
    body = load(schemas.DocumentIssue, read_json())
    svc = services()
    with svc.db.write() as session:
        visible_case(session, case_id, actor)
        row = documents.issue_for_case(session, case_id, body["kind"], at=svc.clock.now(), actor=actor,
                                       names=documents.programme_names(svc))
        view = documents.DocumentView.of(row)
    return document_answer(view), 201, {"Location": url_for("api_documents.download", document_id=view.id)}


@blp.route("/documents", methods=["POST"])
@blp.doc(**body_doc(schemas.DocumentCreate))
@blp.response(201, schemas.Document)
def create_document():
    """Issue a document of no single case: ``batch_summary`` of a payment batch (``batch_id``) or the
    ``publicity_list`` of a village or township (``region_code``, ``programme``)."""
    actor = current_actor()
    require(actor, DOCUMENT_ISSUERS, "issue documents")
    body = load(schemas.DocumentCreate, read_json())
    svc = services()
    names = documents.programme_names(svc)
    with svc.db.write() as session:
        if body["kind"] == "batch_summary":
            from engine.casework.benefits import cycles

            batch = cycles.get_batch(session, body["batch_id"], region=actor.region)  # 404 elsewhere
            if not actor.sees(batch.region_code):
                raise NotFound(f"payment batch {body['batch_id']} not found / 未找到该发放批次")
            row = documents.issue_batch_summary(session, batch.id, at=svc.clock.now(), actor=actor.username,
                                                names=names)
        else:
            if not actor.sees(body["region_code"]):
                raise NotFound(f"region {body['region_code']} not found / 未找到该地区")
            row = documents.issue_publicity_list(session, region_code=body["region_code"],
                                                 programme=body["programme"], at=svc.clock.now(),
                                                 actor=actor.username, names=names)
        view = documents.DocumentView.of(row)
    return document_answer(view), 201, {"Location": url_for("api_documents.download", document_id=view.id)}


@blp.route("/documents", methods=["GET"])
@blp.arguments(schemas.DocumentQuery, location="query")
@blp.response(200, schemas.Document(many=True), headers=TOTAL_HEADER)
def list_all(query):
    """Documents in your region, newest first, by ``kind`` and ``reference`` (``X-Total-Count``)."""
    actor = current_actor()
    require(actor, CASE_READERS, "read documents")
    conditions = [CaseDocument.region_code.startswith(actor.region, autoescape=True)]
    for name in ("kind", "reference"):
        if query.get(name):
            conditions.append(getattr(CaseDocument, name) == query[name])
    with services().db.read() as session:
        total = session.execute(select(func.count(CaseDocument.id)).where(*conditions)).scalar()
        rows = session.execute(select(CaseDocument).options(defer(CaseDocument.content)).where(*conditions)
                               .order_by(CaseDocument.id.desc())
                               .limit(query["limit"]).offset(query["offset"])).scalars()
        items = [document_answer(documents.DocumentView.of(r)) for r in rows]
    return with_total(items, int(total or 0))


@blp.route("/documents/<api_id:document_id>", methods=["GET"])
@blp.doc(responses={"200": {"description": "the PDF as issued (ETag: its sha256)",
                            "content": {"application/pdf": {"schema": {"type": "string", "format": "binary"}}}}})
def download(document_id: int):
    """The PDF, byte for byte as issued; 404 when absent or outside your region."""
    actor = current_actor()
    require(actor, CASE_READERS, "read documents")
    with services().db.read() as session:
        row = documents.visible(session, document_id, actor)
        content, sha256, title = row.content, row.sha256, row.title
    return pdf_response(document_id, content, sha256, title)


def pdf_response(document_id: int, content: bytes, sha256: str, title: str) -> Response:
    """A PDF download; the Chinese title travels as RFC 5987 ``filename*``."""
    disposition = (f'attachment; filename="document-{document_id}.pdf"; '
                   f"filename*=UTF-8''{quote(title + '.pdf')}")
    response = Response(content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = disposition
    response.headers["ETag"] = f'"{sha256}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
