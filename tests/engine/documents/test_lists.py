"""Publicity lists (names partly hidden, no ID numbers, no health data) and payment batch summaries."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import select

from engine.casework import documents
from engine.casework.documents.content import batch_context, partial_name
from engine.workflow.models import AuditEvent, ProcessInstance
from tests.engine.conftest import APPROVER, CASEWORKER, VILLAGE
from tests.engine.documents.conftest import HEAD_ID, SPOUSE_ID, decide, pdf_text


def test_names_on_a_public_board_keep_only_the_surname():
    assert partial_name("韩进") == "韩*"
    assert partial_name("李秀兰") == "李**"
    assert partial_name("") == "*"


def test_a_case_publicity_list_hides_names_ids_and_health(services, case):
    decide(services, case, "approved", monthly_amount="1480")
    with services.db.write() as s:
        row = documents.issue_for_case(s, case.id, "publicity_list", at=services.clock.now(),
                                       actor=APPROVER)
        pdf, digest = row.content, row.sha256
    text = pdf_text(pdf)
    assert "最低生活保障公示名单" in text and "韩*" in text and "西关村" in text and "1,480.00" in text
    assert "韩进" not in text and "李秀兰" not in text
    assert HEAD_ID[-4:] not in text and SPOUSE_ID[-4:] not in text and "370827*" not in text
    assert "残疾" not in text and "重病" not in text
    assert "公示期 7 天：2026年3月2日至2026年3月9日" in text
    assert hashlib.sha256(pdf).hexdigest() == digest


def test_the_publicity_step_publishes_the_proposal_before_any_decision(services, case):
    from engine.workflow.engine import StepContext

    with services.db.write() as s:
        ctx = StepContext(s, s.get(ProcessInstance, case.id), CASEWORKER, services.clock.now())
        answer = services.services.get("document.issue")(
            {"kind": "publicity_list", "programme": "dibao", "monthly_amount": "1480.00"}, {}, ctx)
        row = documents.visible(s, answer["document_id"], CASEWORKER)
        text = pdf_text(row.content)
    assert answer["kind"] == "publicity_list" and "韩*" in text and "韩进" not in text
    assert "共 1 户 2 人，每月救助金额合计 1,480.00 元" in text


def test_a_village_board_lists_every_household_on_the_programme(services, case):
    decide(services, case, "approved", monthly_amount="1480")
    with services.db.write() as s:
        row = documents.issue_publicity_list(s, region_code=VILLAGE, programme="dibao", at=services.clock.now(),
                                             actor="wang")
        event = s.execute(select(AuditEvent).where(AuditEvent.chain == f"publicity:{VILLAGE}")).scalar_one()
        assert row.instance_id is None and row.region_code == VILLAGE
        assert event.after["sha256"] == hashlib.sha256(row.content).hexdigest()
        assert "韩*" in pdf_text(row.content)


BATCH = {"id": 7, "region_code": "370827", "month": "2026-03", "status": "reconciled", "lines": [
    {"programme": "dibao", "amount": "1480.00", "status": "paid", "name": "韩进"},
    {"programme": "dibao", "amount": "700.50", "status": "failed", "name": "王小明", "reason": "账户已销户"},
    {"programme": "tekun", "amount": "1144.01", "status": "paid", "name": "赵四"},
    {"programme": "tekun", "amount": "0.99", "status": "failed", "name": "钱五", "reason": "户名不符"}]}


def test_a_batch_summary_adds_up_to_the_fen_per_programme():
    context = batch_context(None, BATCH, at=datetime(2026, 3, 2, tzinfo=timezone.utc))
    assert (context["count"], context["total"]) == (4, "3,325.50")
    assert (context["paid_count"], context["paid_total"]) == (2, "2,624.01")
    assert (context["failed_count"], context["failed_total"]) == (2, "701.49")
    assert context["programmes"] == [
        {"name": "最低生活保障", "count": 2, "amount": "2,180.50", "failed": 1},
        {"name": "特困人员救助供养", "count": 2, "amount": "1,145.00", "failed": 1}]


def test_a_batch_summary_pdf_lists_failed_lines_and_is_on_the_batch_trail(services):
    with services.db.write() as s:
        row = documents.issue_batch_summary(s, BATCH, at=services.clock.now(), actor="wang")
        event = s.execute(select(AuditEvent).where(AuditEvent.chain == "payment_batch:7")).scalar_one()
        assert event.after["sha256"] == row.sha256 == hashlib.sha256(row.content).hexdigest()
        assert (row.kind, row.reference, row.region_code, row.instance_id) == (
            "batch_summary", "batch:7", "370827", None)
        text = pdf_text(row.content)
    assert "救助资金发放批次汇总表" in text and "第 7 批" in text and "2026年3月" in text
    assert "3,325.50" in text and "2 笔，701.49 元" in text
    assert "王**" in text and "账户已销户" in text and "钱*" in text and "户名不符" in text
    assert "韩" not in text  # paid lines are counted, not listed
    assert Decimal("3325.50") == sum(Decimal(line["amount"]) for line in BATCH["lines"])


def test_a_batch_summary_reads_a_batch_of_the_benefits_tables(services):
    from engine.casework.benefits.models import PaymentBatchRow, PaymentLineRow

    now = services.clock.now()
    with services.db.write() as s:
        batch = PaymentBatchRow(region_code="370827", month="2026-03", status="reconciled", created_at=now,
                                created_by="wang", drafted_at=now)
        s.add(batch)
        s.flush()
        for i, (programme, fen, status, holder, reason) in enumerate((
                ("dibao", 148000, "paid", "韩进", None), ("dibao", 70050, "failed", "王小明", "账户已销户"),
                ("tekun", 114401, "paid", "赵四", None))):
            s.add(PaymentLineRow(batch_id=batch.id, entitlement_id=i + 1, household_id=i + 1, programme=programme,
                                 month="2026-03", attempt=1, kind="regular", amount_fen=fen, bank="农商银行",
                                 account_no="6228480000000000000", holder=holder, holder_id_number=None,
                                 status=status, failure_reason=reason))
        s.flush()
        row = documents.issue_batch_summary(s, batch.id, at=now, actor="wang")
        text = pdf_text(row.content)
        assert row.reference == f"batch:{batch.id}"
    assert "3,324.51" in text and "1 笔，700.50 元" in text and "2 笔，2,624.01 元" in text
    assert "王**" in text and "账户已销户" in text and "已对账" in text and "王小明" not in text
