"""Documents over the API: list, (re)issue, download the PDF — region-scoped, roles checked."""

from __future__ import annotations

import hashlib
import io

from sqlalchemy import select

from engine.casework import payments
from engine.workflow import audit
from engine.workflow.models import AuditEvent
from tests.web.api.conftest import assert_error


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "".join(page.extract_text().replace("\n", "") for page in PdfReader(io.BytesIO(data)).pages)


def _decide(services, case: dict, decision: str, **kwargs) -> int:
    now = services.clock.now()
    with services.db.write() as session:
        return payments.record_decision(session, instance_id=case["id"], household_id=case["household_id"],
                                        programme="testaid", decision=decision, at=now, actor="wang",
                                        decided_on=now.date(), **kwargs).id


def test_a_refusal_is_issued_listed_and_downloaded_byte_for_byte(client, auth, services, start_case):
    case = start_case()
    _decide(services, case, "refused", reasons=["收入超过标准"])
    response = client.post(f"/api/v1/cases/{case['id']}/documents", json={"kind": "refusal_notice"},
                           headers=auth["caseworker"])
    assert response.status_code == 201, response.get_json()
    document = response.get_json()
    assert (document["kind"], document["title"], document["case_id"]) == (
        "refusal_notice", "测试救助不予批准决定书", case["id"])
    assert document["created_at"].endswith("+08:00")
    listed = client.get(f"/api/v1/cases/{case['id']}/documents", headers=auth["supervisor"]).get_json()
    assert listed == [document]

    pdf = client.get(document["download"], headers=auth["approver"])
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert hashlib.sha256(pdf.data).hexdigest() == document["sha256"] == pdf.headers["ETag"].strip('"')
    assert "filename*=UTF-8''" in pdf.headers["Content-Disposition"]
    text = pdf_text(pdf.data)
    assert "收入超过标准" in text and "行政复议" in text and "韩进" in text
    assert "370827********" in text  # the applicant's ID number, masked

    with services.db.read() as session:
        [event] = session.execute(select(AuditEvent).where(AuditEvent.chain == audit.case_chain(case["id"]),
                                                           AuditEvent.action == "document.issued")).scalars()
        assert event.after["sha256"] == document["sha256"]
    events = client.get(f"/api/v1/cases/{case['id']}/events", headers=auth["caseworker"]).get_json()
    assert any(e["action"] == "document.issued" and e["after"]["sha256"] == document["sha256"] for e in events)


def test_documents_outside_the_region_are_not_found(client, auth, services, start_case):
    case = start_case()
    _decide(services, case, "approved", monthly_amount="700")
    document = client.post(f"/api/v1/cases/{case['id']}/documents", json={"kind": "approval_notice"},
                           headers=auth["approver"]).get_json()
    other = auth.user("li")  # a caseworker of the neighbouring township
    assert_error(client.get(document["download"], headers=other), 404)
    assert_error(client.get(f"/api/v1/cases/{case['id']}/documents", headers=other), 404)
    assert_error(client.post(f"/api/v1/cases/{case['id']}/documents", json={"kind": "approval_notice"},
                             headers=other), 404)
    assert_error(client.get("/api/v1/documents/999999", headers=auth["caseworker"]), 404)


def test_issuing_needs_a_matching_decision_a_known_kind_and_an_issuing_role(client, auth, services, start_case):
    case = start_case()
    url = f"/api/v1/cases/{case['id']}/documents"
    error = assert_error(client.post(url, json={"kind": "approval_notice"}, headers=auth["caseworker"]), 422)
    assert list(error["fields"]) == ["kind"]
    assert_error(client.post(url, json={"kind": "batch_summary"}, headers=auth["caseworker"]), 422)
    assert_error(client.post(url, json={"kind": "refusal_notice", "x": 1}, headers=auth["caseworker"]), 422)
    assert_error(client.post(url, data="{", headers=auth["caseworker"], content_type="application/json"), 400)
    assert_error(client.post(url, json={"kind": "refusal_notice"}, headers=auth["supervisor"]), 403)
    assert_error(client.get(url), 401)


def test_a_publicity_list_over_the_api_hides_the_name_and_the_id(client, auth, services, start_case):
    case = start_case()
    _decide(services, case, "approved", monthly_amount="700")
    document = client.post(f"/api/v1/cases/{case['id']}/documents", json={"kind": "publicity_list"},
                           headers=auth["caseworker"]).get_json()
    text = pdf_text(client.get(document["download"], headers=auth["caseworker"]).data)
    assert "韩*" in text and "700.00" in text
    assert "韩进" not in text and "370827" not in text.replace("370827101201", "")


def test_the_openapi_document_lists_the_document_routes(client):
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    assert {"/api/v1/cases/{case_id}/documents", "/api/v1/documents", "/api/v1/documents/{document_id}"} <= set(paths)


def _batch(services, region="370827") -> int:
    from engine.casework.benefits.models import PaymentBatchRow, PaymentLineRow

    now = services.clock.now()
    with services.db.write() as session:
        batch = PaymentBatchRow(region_code=region, month="2026-03", status="reconciled", created_at=now,
                                created_by="wang", drafted_at=now)
        session.add(batch)
        session.flush()
        for i, (fen, status, reason) in enumerate(((70000, "paid", None), (35050, "failed", "账户冻结"))):
            session.add(PaymentLineRow(batch_id=batch.id, entitlement_id=i + 1, household_id=i + 1,
                                       programme="dibao", month="2026-03", attempt=1, kind="regular",
                                       amount_fen=fen, bank="农商银行", account_no="6228480000000000000",
                                       holder="韩进", holder_id_number=None, status=status, failure_reason=reason))
        return batch.id


def test_a_county_issues_a_batch_summary_and_finds_it_by_reference(client, auth, services):
    batch_id = _batch(services)
    response = client.post("/api/v1/documents", json={"kind": "batch_summary", "batch_id": batch_id},
                           headers=auth["approver"])
    assert response.status_code == 201, response.get_json()
    document = response.get_json()
    assert (document["kind"], document["case_id"], document["reference"]) == (
        "batch_summary", None, f"batch:{batch_id}")
    text = pdf_text(client.get(document["download"], headers=auth["approver"]).data)
    assert "1,050.50" in text and "1 笔，350.50 元" in text and "账户冻结" in text and "韩*" in text
    found = client.get(f"/api/v1/documents?reference=batch:{batch_id}", headers=auth["approver"])
    assert found.get_json() == [document] and found.headers["X-Total-Count"] == "1"
    # a township does not see the county's summary; another county cannot issue one
    assert client.get("/api/v1/documents?kind=batch_summary", headers=auth["caseworker"]).get_json() == []
    assert_error(client.get(document["download"], headers=auth["caseworker"]), 404)
    assert_error(client.post("/api/v1/documents", json={"kind": "batch_summary", "batch_id": batch_id},
                             headers=auth.user("zhao")), 404)


def test_a_township_issues_its_village_publicity_list(client, auth, services, start_case):
    case = start_case()
    _decide(services, case, "approved", monthly_amount="700")
    response = client.post("/api/v1/documents", json={"kind": "publicity_list", "region_code": case["region_code"],
                                                      "programme": "testaid"}, headers=auth["caseworker"])
    assert response.status_code == 201, response.get_json()
    text = pdf_text(client.get(response.get_json()["download"], headers=auth["caseworker"]).data)
    assert "测试救助公示名单" in text and "韩*" in text and "共 1 户" in text and "韩进" not in text
    assert_error(client.post("/api/v1/documents", json={"kind": "publicity_list", "region_code": "370827102201",
                                                        "programme": "testaid"}, headers=auth["caseworker"]), 404)


def test_a_document_body_must_name_what_it_is_for(client, auth):
    error = assert_error(client.post("/api/v1/documents", json={"kind": "batch_summary"},
                                     headers=auth["approver"]), 422)
    assert list(error["fields"]) == ["batch_id"]
    error = assert_error(client.post("/api/v1/documents", json={"kind": "publicity_list", "region_code": "12345"},
                                     headers=auth["approver"]), 422)
    assert set(error["fields"]) == {"region_code"}  # the body is checked field by field first
    assert_error(client.post("/api/v1/documents", json={"kind": "refusal_notice"}, headers=auth["approver"]), 422)
    assert_error(client.post("/api/v1/documents", json={"kind": "batch_summary", "batch_id": 1},
                             headers=auth["supervisor"]), 403)
