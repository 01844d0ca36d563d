"""Issuing documents: render, store the bytes, and prove it on the audit trail.

Every issue runs inside the caller's transaction (a step's, or a request's write session): the
``case_document`` row and the ``document.issued`` audit event carrying its sha256 are written
together or not at all.  Case documents go on the case's chain; a batch summary goes on
``payment_batch:<id>`` (the benefits module's chain) and a region's publicity list on
``publicity:<region>``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session, defer

from engine.actors import Actor
from engine.casework.documents import content
from engine.casework.documents.models import CaseDocument
from engine.casework.documents.render import to_pdf
from engine.casework.documents.templates import KINDS, fill, fill_blocks, load
from engine.casework.payments import Decision
from engine.errors import NotFound, ValidationError
from engine.workflow import audit
from engine.workflow.models import ProcessInstance

#: Which document a decision calls for; other decisions (continue, taper …) get none here.
#: the written notice each decision calls for; reductions, tapers, suspensions and stops need written
#: reasons too (DOMAIN §3.1 "Ongoing management"), ``continue`` and ``resume`` none
DECISION_KINDS = {"approved": "approval_notice", "granted": "approval_notice", "refused": "refusal_notice",
                  "adjust": "change_notice", "taper": "change_notice", "suspend": "change_notice",
                  "stop": "change_notice"}
CASE_KINDS = ("approval_notice", "refusal_notice", "change_notice", "publicity_list")


@dataclass(frozen=True)
class DocumentView:
    id: int
    instance_id: int | None
    household_id: int | None
    region_code: str
    kind: str
    reference: str | None
    title: str
    template_version: str
    sha256: str
    size: int
    created_at: datetime
    created_by: str

    @classmethod
    def of(cls, row: CaseDocument) -> "DocumentView":
        return cls(row.id, row.instance_id, row.household_id, row.region_code, row.kind, row.reference,
                   row.title, row.template_version, row.sha256, row.size, row.created_at, row.created_by)


def render(kind: str, context: Mapping[str, Any]) -> tuple[str, str, bytes]:
    """(title, template version, PDF bytes) of ``kind`` filled with ``context``."""
    template = load(kind)
    title = fill(template.title, context)
    return title, template.version, to_pdf(title, fill_blocks(template, context))


def store(session: Session, *, kind: str, context: Mapping[str, Any], region_code: str, at: datetime,
          actor: str, instance_id: int | None = None, household_id: int | None = None,
          reference: str | None = None, chain: str | None = None) -> CaseDocument:
    """Render, keep the bytes, and append ``document.issued`` with their sha256 to the chain."""
    title, version, pdf = render(kind, context)
    digest = hashlib.sha256(pdf).hexdigest()
    row = CaseDocument(instance_id=instance_id, household_id=household_id, region_code=region_code,
                       kind=kind, reference=reference, title=title, template_version=version,
                       sha256=digest, size=len(pdf), content=pdf, created_at=at, created_by=actor)
    session.add(row)
    session.flush()
    chain = chain or (audit.case_chain(instance_id) if instance_id is not None else f"document:{reference}")
    audit.append(session, chain=chain, actor=actor, action="document.issued", object_type="document",
                 object_id=row.id, at=at,
                 after={"kind": kind, "title": title, "sha256": digest, "size": len(pdf),
                        "template_version": version, "reference": reference})
    return row


def issue_for_decision(session: Session, decision: Decision | int, *, at: datetime, actor: str,
                       names: Mapping[str, str] | None = None) -> CaseDocument | None:
    """The approval or refusal notice a recorded decision calls for (None for other decisions).

    Call it right after :func:`engine.casework.payments.record_decision`, in the same transaction.
    """
    if isinstance(decision, int):
        decision = session.get(Decision, decision)
        if decision is None:
            raise NotFound("decision not found / 未找到该决定")
    kind = DECISION_KINDS.get(decision.decision)
    if kind is None:
        return None
    case = session.get(ProcessInstance, decision.instance_id)
    context = content.decision_context(session, decision, region_code=case.region_code, at=at, names=names)
    return store(session, kind=kind, context=context, region_code=case.region_code, at=at, actor=actor,
                 instance_id=case.id, household_id=decision.household_id, reference=f"decision:{decision.id}")


def _latest_decision(session: Session, instance_id: int, decisions: tuple[str, ...]) -> Decision | None:
    return session.execute(select(Decision).where(Decision.instance_id == instance_id,
                                                  Decision.decision.in_(decisions))
                           .order_by(Decision.id.desc()).limit(1)).scalar()


def issue_for_case(session: Session, instance_id: int, kind: str, *, at: datetime, actor: Actor,
                   names: Mapping[str, str] | None = None) -> CaseDocument:
    """(Re)issue ``kind`` for a case on demand: from its latest matching decision."""
    case = session.get(ProcessInstance, instance_id)
    if case is None or not actor.sees(case.region_code):
        raise NotFound(f"case {instance_id} not found / 未找到该案件")
    if kind not in CASE_KINDS:
        raise ValidationError(f"unknown document kind {kind!r}",
                              {"kind": [f"one of {', '.join(CASE_KINDS)}"]})
    if kind == "publicity_list":
        return issue_case_publicity(session, case, at=at, actor=actor.username, names=names)
    wanted = tuple(d for d, k in DECISION_KINDS.items() if k == kind)
    decision = _latest_decision(session, instance_id, wanted)
    if decision is None:
        raise ValidationError("the case has no decision for this document / 本案没有相应的决定",
                              {"kind": [f"no {'/'.join(wanted)} decision on this case"]})
    return issue_for_decision(session, decision, at=at, actor=actor.username, names=names)


def issue_case_publicity(session: Session, case: ProcessInstance, *, at: datetime, actor: str,
                         programme: str | None = None, monthly_amount: Any = None,
                         names: Mapping[str, str] | None = None) -> CaseDocument:
    """The 7-day publicity of one family (公示): its proposal, or else its latest approval.

    During the application the publicity comes before the decision, so the service task passes
    the proposed programme and amount; on demand the latest approved decision is published.
    """
    reference = None
    if programme is None:
        decision = _latest_decision(session, case.id, ("approved", "granted"))
        if decision is None:
            raise ValidationError("the case has no proposal or approval to publish / 本案没有可公示的内容",
                                  {"kind": ["no approved decision on this case"]})
        programme, monthly_amount, reference = decision.programme, decision.monthly_amount, f"decision:{decision.id}"
    entry = content.case_entry(session, case, programme=programme, monthly_amount=monthly_amount)
    context = content.publicity_context(session, region_code=case.region_code, programme=programme,
                                        entries=[entry], at=at, names=names)
    return store(session, kind="publicity_list", context=context, region_code=case.region_code, at=at,
                 actor=actor, instance_id=case.id, household_id=case.household_id,
                 reference=reference or f"case:{case.id}:{programme}")


def issue_publicity_list(session: Session, *, region_code: str, programme: str, at: datetime, actor: str,
                         names: Mapping[str, str] | None = None) -> CaseDocument:
    """The board list of a village or township: every household on ``programme`` there now."""
    entries = content.publicity_entries(session, region_code=region_code, programme=programme)
    context = content.publicity_context(session, region_code=region_code, programme=programme,
                                        entries=entries, at=at, names=names)
    reference = f"region:{region_code}:{programme}"
    return store(session, kind="publicity_list", context=context, region_code=region_code, at=at,
                 actor=actor, reference=reference, chain=f"publicity:{region_code}")


def issue_batch_summary(session: Session, batch: Mapping[str, Any] | int, *, at: datetime, actor: str,
                        names: Mapping[str, str] | None = None) -> CaseDocument:
    """The summary of one payment batch: its id in the benefits tables, or a plain dict
    (see :func:`content.batch_context`)."""
    if isinstance(batch, int):
        batch = content.batch_from_tables(session, batch)
    context = content.batch_context(session, batch, at=at, names=names)
    from engine.casework.benefits.cycles import chain as batch_chain  # the batch's own audit chain

    return store(session, kind="batch_summary", context=context, region_code=str(batch.get("region_code") or ""),
                 at=at, actor=actor, reference=f"batch:{batch.get('id')}", chain=batch_chain(batch.get("id")))


def for_case(session: Session, instance_id: int) -> list[DocumentView]:
    rows = session.execute(select(CaseDocument).options(defer(CaseDocument.content))  # the list needs no bytes
                           .where(CaseDocument.instance_id == instance_id).order_by(CaseDocument.id)).scalars()
    return [DocumentView.of(r) for r in rows]


def visible(session: Session, document_id: int, actor: Actor) -> CaseDocument:
    """The document row, or NotFound when it is absent or outside the actor's region."""
    row = session.get(CaseDocument, document_id)
    if row is None or not actor.sees(row.region_code):
        raise NotFound(f"document {document_id} not found / 未找到该文书")
    return row


__all__ = ["KINDS", "CASE_KINDS", "DocumentView", "render", "store", "issue_for_decision", "issue_for_case",
           "issue_case_publicity", "issue_publicity_list", "issue_batch_summary", "for_case", "visible"]
