"""Documents the bureau prints and archives (the "51 standard forms" idea, DOMAIN §6).

Approval notice, refusal notice (reasons and appeal rights), publicity list and payment batch
summary: rendered from the TOML templates in ``templates/`` to PDF, stored byte for byte in
``case_document`` and proven on the audit trail by their sha256.  See ``docs/documents.md``.

Wiring: ``register(services)`` adds the service operation ``document.issue`` that a BPMN service task
names; code that records a decision calls :func:`issue_for_decision` in the same transaction.
"""

from __future__ import annotations

from typing import Any, Mapping

from engine.casework.documents.service import (CASE_KINDS, DECISION_KINDS, KINDS, DocumentView, for_case,
                                               issue_batch_summary, issue_case_publicity, issue_for_case,
                                               issue_for_decision, issue_publicity_list, render, store,
                                               visible)
from engine.errors import ValidationError

__all__ = ["CASE_KINDS", "DECISION_KINDS", "KINDS", "DocumentView", "for_case", "issue_batch_summary",
           "issue_case_publicity", "issue_for_case", "issue_for_decision", "issue_publicity_list", "render",
           "store", "visible", "register", "programme_names"]


def programme_names(services) -> dict[str, str]:
    """Programme code → Chinese name from the loaded plugins (the templates' list fills gaps)."""
    if getattr(services, "pm", None) is None:
        return {}
    from engine import plugins as plugin_loader

    try:
        return {code: info.name_zh for code, info in plugin_loader.programmes(services.pm).items()}
    except Exception:  # noqa: BLE001 - a plugin conflict must not stop a notice; common.toml names it
        return {}


def register(services) -> None:
    """Register ``document.issue`` for service tasks.

    Parameters (all optional): ``kind`` — ``approval_notice`` | ``refusal_notice`` | ``change_notice`` | ``publicity_list``;
    ``decision_id`` — the decision to write up (default: the case's latest approval or refusal);
    for ``publicity_list`` during the application, ``programme`` and ``monthly_amount`` of the proposal.
    Answers ``{"document_id", "kind", "sha256"}`` (``document_id`` None when the decision needs none).
    """

    def issue(params: Mapping[str, Any], data: Mapping[str, Any], ctx) -> Mapping[str, Any]:
        from sqlalchemy import select

        from engine.casework.funds import money
        from engine.casework.payments import Decision

        names = programme_names(services)
        kind = params.get("kind")
        if kind not in (None, "", *CASE_KINDS):
            raise ValidationError(f"unknown document kind {kind!r}", {"kind": [f"one of {', '.join(CASE_KINDS)}"]})
        actor = ctx.actor.username
        if kind == "publicity_list":
            row = issue_case_publicity(ctx.session, ctx.instance, at=ctx.now, actor=actor,
                                       programme=params.get("programme") or None,
                                       monthly_amount=money(params.get("monthly_amount") or 0), names=names)
        else:
            decision_id = params.get("decision_id")
            if decision_id in (None, ""):
                wanted = [d for d, k in DECISION_KINDS.items() if kind in (None, "", k)]
                decision_id = ctx.session.execute(
                    select(Decision.id).where(Decision.instance_id == ctx.instance.id, Decision.decision.in_(wanted))
                    .order_by(Decision.id.desc()).limit(1)).scalar()
            if decision_id is None:
                raise ValidationError("no decision to write a notice for / 本案没有可出具文书的决定",
                                      {"decision_id": ["the case has no approval or refusal"]})
            if not str(decision_id).isdigit():
                raise ValidationError("decision_id must be a number", {"decision_id": ["not a decision id"]})
            decision = ctx.session.get(Decision, int(decision_id))
            if decision is None or decision.instance_id != ctx.instance.id:
                raise ValidationError("the decision is not this case's", {"decision_id": ["not on this case"]})
            row = issue_for_decision(ctx.session, decision, at=ctx.now, actor=actor, names=names)
        if row is None:
            return {"document_id": None, "kind": None, "sha256": None}
        return {"document_id": row.id, "kind": row.kind, "sha256": row.sha256}

    services.services.register("document.issue", issue)
