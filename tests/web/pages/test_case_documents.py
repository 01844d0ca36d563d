"""The documents section of the case page: list, issue from the latest decision, download the PDF."""

from __future__ import annotations

import hashlib
import io
import re

from engine.casework import payments
from tests.web.pages.conftest import HEAD_ID, csrf_of


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "".join(page.extract_text().replace("\n", "") for page in PdfReader(io.BytesIO(data)).pages)


def _decide(world, decision: str, **kwargs) -> None:
    svc = world.services
    now = svc.clock.now()
    with svc.db.write() as db:
        payments.record_decision(db, instance_id=world.case_id, household_id=world.household_id, programme="dibao",
                                 decision=decision, at=now, actor="wang", decided_on=now.date(), **kwargs)


def _issue(client, case_id: int, kind: str):
    token = csrf_of(client, f"/cases/{case_id}")
    return client.post(f"/cases/{case_id}/documents", data={"csrf_token": token, "kind": kind})


def test_an_approver_issues_a_notice_and_it_is_listed_with_its_checksum(world, as_user):
    _decide(world, "approved", monthly_amount="1400")
    client = as_user("wang")
    response = _issue(client, world.case_id, "approval_notice")
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/cases/{world.case_id}#documents")
    page = client.get(f"/cases/{world.case_id}").get_data(as_text=True)
    assert "已出具：最低生活保障审核确认通知书。" in page
    [row] = re.findall(r'<tr data-document="(\d+)" data-kind="([a-z_]+)" data-sha256="([0-9a-f]{64})">', page)
    link = f"/cases/{world.case_id}/documents/{row[0]}"
    assert f'href="{link}"' in page and "已出具文书" in page  # in the list and on the timeline
    pdf = client.get(link)
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert hashlib.sha256(pdf.data).hexdigest() == row[2]
    text = pdf_text(pdf.data)
    assert "韩进" in text and "李梅" in text and "1,400.00" in text
    assert HEAD_ID not in text and HEAD_ID[:6] + "********" + HEAD_ID[-4:] in text


def test_without_a_refusal_no_refusal_notice_is_issued(world, as_user):
    client = as_user("zhang")
    response = _issue(client, world.case_id, "refusal_notice")
    assert response.status_code == 303
    page = client.get(f"/cases/{world.case_id}").get_data(as_text=True)
    assert "本案没有可出具不予批准决定书的决定。" in page and "本案还没有出具文书。" in page


def test_only_issuing_roles_see_the_form_and_may_post_it(world, as_user):
    _decide(world, "refused", reasons=["收入超过标准"])
    client = as_user("sun")  # a supervisor reads, does not issue
    page = client.get(f"/cases/{world.case_id}").get_data(as_text=True)
    assert 'name="kind"' not in page
    assert _issue(client, world.case_id, "refusal_notice").status_code == 403
    assert _issue(as_user("zhang"), world.case_id, "no_such_kind").status_code == 400


def test_documents_of_another_region_are_not_found(world, as_user):
    _decide(world, "refused", reasons=["收入超过标准"])
    assert _issue(as_user("zhang"), world.case_id, "refusal_notice").status_code == 303
    page = as_user("zhang").get(f"/cases/{world.case_id}").get_data(as_text=True)
    document_id = re.search(r'data-document="(\d+)"', page).group(1)
    other = as_user("li")  # caseworker of the other township
    assert other.get(f"/cases/{world.case_id}/documents/{document_id}").status_code == 404
    # the document does not belong to the other township's case either
    assert other.get(f"/cases/{world.other_case_id}/documents/{document_id}").status_code == 404
    assert as_user("zhang").get(f"/cases/{world.case_id}/documents/999999").status_code == 404
