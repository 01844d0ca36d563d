"""Approval and refusal notices: what the family reads, and the audit trail that proves it was issued."""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest
from sqlalchemy import select

from engine.actors import Actor
from engine.casework import documents
from engine.casework.documents.models import CaseDocument
from engine.errors import NotFound, ValidationError
from engine.workflow import audit
from engine.workflow.engine import StepContext
from engine.workflow.models import AuditEvent, ProcessInstance
from tests.engine.conftest import APPROVER, CASEWORKER, OTHER_TOWNSHIP
from tests.engine.documents.conftest import HEAD_ID, SPOUSE_ID, decide, pdf_text


def _issue(services, decision_id):
    with services.db.write() as s:
        row = documents.issue_for_decision(s, decision_id, at=services.clock.now(), actor="wang")
        return row.id if row is not None else None


def _row(services, document_id) -> CaseDocument:
    with services.db.read() as s:
        row = s.get(CaseDocument, document_id)
        s.expunge(row)
        return row


def _issued_events(services, case_id) -> list[AuditEvent]:
    with services.db.read() as s:
        return list(s.execute(select(AuditEvent).where(AuditEvent.chain == audit.case_chain(case_id),
                                                       AuditEvent.action == "document.issued")
                              .order_by(AuditEvent.seq)).scalars())


def test_an_approval_notice_names_the_family_in_full_masks_ids_and_states_the_amount(services, case):
    decision_id = decide(services, case, "approved", monthly_amount="1480")
    row = _row(services, _issue(services, decision_id))
    text = pdf_text(row.content)
    assert row.kind == "approval_notice" and row.title == "最低生活保障审核确认通知书"
    assert "最低生活保障审核确认通知书" in text
    assert "韩进" in text and "李秀兰" in text
    assert "370827********" + HEAD_ID[-4:] in text and "370827********" + SPOUSE_ID[-4:] in text
    assert HEAD_ID not in text and SPOUSE_ID not in text
    assert "1,480.00" in text and "2026年4月" in text  # decided in March: paid from the next month
    assert "金乡县民政局" in text and "西关村" in text
    assert "低于低保标准940.00元" in text  # the reason's message from the assessment, not its code
    assert "残疾" not in text and "重病" not in text  # no health data on the notice


def test_the_audit_event_carries_the_sha256_of_the_stored_bytes(services, case):
    decision_id = decide(services, case, "approved", monthly_amount="1480")
    row = _row(services, _issue(services, decision_id))
    [event] = _issued_events(services, case.id)
    assert event.after["sha256"] == hashlib.sha256(row.content).hexdigest() == row.sha256
    assert event.after["size"] == len(row.content) == row.size
    assert event.after["kind"] == "approval_notice" and event.object_id == str(row.id)
    assert event.after["template_version"] == row.template_version == "2026.1"
    with services.db.read() as s:
        assert audit.verify(s, chains=[audit.case_chain(case.id)]).ok


def test_a_refusal_notice_gives_the_reasons_the_three_day_rule_and_the_appeal_rights(services, case):
    decision_id = decide(services, case, "refused",
                         reasons=["dibao.income_below_standard", "家庭人均存款超过财产限额"])
    row = _row(services, _issue(services, decision_id))
    text = pdf_text(row.content).replace("\n", "")
    assert row.kind == "refusal_notice" and "不予批准决定书" in text
    assert "低于低保标准940.00元" in text and "家庭人均存款超过财产限额" in text
    assert "3 个工作日内书面告知" in text and "民发〔2021〕57号" in text
    assert "60 日内" in text and "行政复议" in text and "金乡县人民政府" in text
    assert "6 个月内" in text and "行政诉讼" in text
    assert "韩进" in text and HEAD_ID not in text and "370827********" + HEAD_ID[-4:] in text


def test_a_stop_gives_written_reasons_the_month_and_the_appeal_rights(services, case):
    decision_id = decide(services, case, "stop", from_month="2026-04", reasons=["家庭成员已稳定就业，收入超过标准"])
    row = _row(services, _issue(services, decision_id))
    text = pdf_text(row.content).replace("\n", "")
    assert row.kind == "change_notice" and row.title == "最低生活保障停止发放决定书"
    assert "自2026年4月起停止发放" in text and "家庭成员已稳定就业，收入超过标准" in text
    assert "书面说明理由" in text and "行政复议" in text and "行政诉讼" in text
    assert HEAD_ID not in text and "370827********" + HEAD_ID[-4:] in text


def test_a_reduction_states_the_new_amount(services, case):
    decision_id = decide(services, case, "adjust", from_month="2026-05", monthly_amount="600",
                         reasons=["家庭收入增加"])
    text = pdf_text(_row(services, _issue(services, decision_id)).content).replace("\n", "")
    assert "调整救助金额决定书" in text and "自2026年5月起，你户每月救助金额调整为 600.00 元" in text


def test_the_same_decision_renders_to_the_same_bytes(services, case):
    decision_id = decide(services, case, "refused", reasons=["收入超过标准"])
    first, second = _row(services, _issue(services, decision_id)), _row(services, _issue(services, decision_id))
    assert first.id != second.id and first.sha256 == second.sha256
    assert len(_issued_events(services, case.id)) == 2  # each issue is on the trail


def test_decisions_without_a_notice_issue_nothing(services, case):
    assert _issue(services, decide(services, case, "continue")) is None
    assert _issued_events(services, case.id) == []


def test_the_service_operation_writes_the_latest_decision_up(services, case):
    decide(services, case, "approved", monthly_amount="1480")
    with services.db.write() as s:
        ctx = StepContext(s, s.get(ProcessInstance, case.id), CASEWORKER, services.clock.now())
        answer = services.services.get("document.issue")({}, {}, ctx)
    assert answer["kind"] == "approval_notice"
    assert _row(services, answer["document_id"]).sha256 == answer["sha256"]


def test_the_service_operation_needs_a_decision(services, case):
    with services.db.write() as s:
        ctx = StepContext(s, s.get(ProcessInstance, case.id), CASEWORKER, services.clock.now())
        with pytest.raises(ValidationError):
            services.services.get("document.issue")({"kind": "refusal_notice"}, {}, ctx)


def test_on_demand_issue_is_region_scoped(services, case):
    decide(services, case, "approved", monthly_amount="1480")
    with services.db.write() as s:
        with pytest.raises(NotFound):
            documents.issue_for_case(s, case.id, "approval_notice", at=services.clock.now(), actor=OTHER_TOWNSHIP)
        row = documents.issue_for_case(s, case.id, "approval_notice", at=services.clock.now(), actor=APPROVER)
        assert [d.id for d in documents.for_case(s, case.id)] == [row.id]
        with pytest.raises(NotFound):
            documents.visible(s, row.id, Actor("x", "caseworker", "370827102"))
        assert documents.visible(s, row.id, CASEWORKER).id == row.id


def test_on_demand_refusal_without_a_refusal_is_a_field_error(services, case):
    decide(services, case, "approved", monthly_amount="1480")
    with services.db.write() as s, pytest.raises(ValidationError) as caught:
        documents.issue_for_case(s, case.id, "refusal_notice", at=services.clock.now(), actor=APPROVER)
    assert "kind" in caught.value.fields


def test_amounts_are_printed_to_the_fen(services, case):
    decision_id = decide(services, case, "approved", monthly_amount=Decimal("12345.6"), one_off_amount="0.05")
    text = pdf_text(_row(services, _issue(services, decision_id)).content)
    assert "12,345.60" in text and "0.05" in text


@pytest.mark.parametrize("params", [{"kind": "birthday_card"}, {"decision_id": "abc"}, {"decision_id": 99999}])
def test_the_service_operation_refuses_bad_parameters_with_field_errors(services, case, params):
    decide(services, case, "approved", monthly_amount="1480")
    with services.db.write() as s:
        ctx = StepContext(s, s.get(ProcessInstance, case.id), CASEWORKER, services.clock.now())
        with pytest.raises(ValidationError) as caught:
            services.services.get("document.issue")(params, {}, ctx)
    assert set(caught.value.fields) & {"kind", "decision_id"}


def test_markup_in_a_reason_is_printed_as_text(services, case):
    decision_id = decide(services, case, "refused", reasons=["收入<b>超过</b>标准 & 其他"])
    assert "收入<b>超过</b>标准 & 其他" in pdf_text(_row(services, _issue(services, decision_id)).content)
