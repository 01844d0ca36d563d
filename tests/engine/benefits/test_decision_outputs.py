"""What one confirmed decision leaves behind, in the same transaction: the entitlement that pays it
and the written notice the family receives (approval, or refusal with reasons)."""

from __future__ import annotations

from sqlalchemy import select

from engine.casework import documents
from engine.workflow.models import AuditEvent


def test_an_approval_through_the_engine_operation_creates_the_entitlement_and_the_approval_notice(county):
    county.set_date("2026-03-20")
    hid = county.add_household(1)
    case = county.case(hid)
    out = county.decide(case, {"programme": "dibao", "decision": "approved", "monthly_amount": "1400"})
    assert out["from_month"] == "2026-04" and out["entitlement_id"] and out["document_id"]
    with county.services.db.read() as s:
        [doc] = documents.for_case(s, case)
        issued = s.execute(select(AuditEvent).where(AuditEvent.action == "document.issued")).scalars().all()
    assert (doc.id, doc.kind, doc.household_id) == (out["document_id"], "approval_notice", hid)
    assert [e.after["sha256"] for e in issued] == [doc.sha256]


def test_a_refusal_gets_a_refusal_notice_and_no_entitlement(county):
    hid = county.add_household(2)
    case = county.case(hid)
    out = county.decide(case, {"programme": "dibao", "decision": "refused",
                               "reasons": [{"code": "income_above_standard", "message": "家庭人均收入高于低保标准"}]})
    assert "entitlement_id" not in out
    with county.services.db.read() as s:
        [doc] = documents.for_case(s, case)
    assert doc.kind == "refusal_notice" and doc.id == out["document_id"]


def test_a_one_off_programme_gets_no_entitlement(county):
    hid = county.add_household(3)
    case = county.case(hid)
    out = county.decide(case, {"programme": "linshi", "decision": "approved", "one_off_amount": "2000"})
    assert "entitlement_id" not in out
