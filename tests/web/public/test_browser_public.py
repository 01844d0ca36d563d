"""The citizen's journeys in headless Chromium on a phone-sized screen, screenshots kept:
scan a village's code and read its programmes, ask for help and follow the receipt, object to a
publicity entry, rate a closed request "dissatisfied"; and nothing personal on any public page.
"""

from __future__ import annotations

import io
import re

import pytest
import segno
from sqlalchemy import select

from engine.actors import Actor
from engine.casework.models import HouseholdRow
from engine.workflow.models import AuditEvent, HumanTask, ProcessInstance
from tests.web.pages.test_browser import PHONE, live, open_page, shot  # noqa: F401 - fixtures
from tests.web.public.conftest import PASSWORD, VILLAGE

pytestmark = pytest.mark.browser

CASEWORKER = Actor("caseworker", "caseworker", "370827101")
APPROVER = Actor("approver", "approver", "370827")
ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}[01]\d[0-3]\d\d{3}[\dXx](?![0-9A-Za-z])")
DIAGNOSIS = "尿毒症"  # written by the person asking for help: must never show on a public page


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def open_task(svc, case_id: int, bpmn_id: str) -> HumanTask:
    with svc.db.read() as s:
        return s.execute(select(HumanTask).where(HumanTask.instance_id == case_id, HumanTask.bpmn_id == bpmn_id,
                                                 HumanTask.status == "open")).scalar_one()


def ask_for_help(page, live_url: str, description: str = f"丈夫确诊{DIAGNOSIS}，每周透析，家里没有收入") -> str:
    page.goto(f"{live_url}/public/{VILLAGE}/help")
    page.fill("#name", "王小梅")
    page.fill("#phone", "13800000021")
    page.fill("#description", description)
    page.check("input[name=urgency][value=urgent]")
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/public/receipt/"))
    return page.locator("#receipt-code").inner_text().strip()


def case_of(svc, code: str) -> int:
    from engine.casework.public import help as helpdesk

    with svc.db.read() as s:
        return helpdesk.find(s, code).case_id


def test_scanning_a_village_code_opens_its_programmes_with_the_right_amounts(app, live, open_page):
    phone = open_page(PHONE)
    poster = open_page()
    poster.goto(f"{live}/public/{VILLAGE}/poster")
    shot(poster, "public-01-poster")
    svg = poster.request.get(f"{live}/public/{VILLAGE}/qr.svg").body()
    scanned = f"https://jsj.example.cn/public/{VILLAGE}"          # what a phone camera reads
    expected = io.BytesIO()
    segno.make(scanned, error="m", micro=False).save(expected, kind="svg", scale=8, border=2, xmldecl=False,
                                                     title="码上服务")
    assert svg == expected.getvalue()
    phone.goto(scanned.replace("https://jsj.example.cn", live))
    assert phone.locator("h1").inner_text().startswith("城西村")
    dibao = phone.locator("details[data-programme=dibao] ul.amounts")
    assert "农村低保标准：每人每月700.00元" in dibao.inner_text()
    phone.click("details[data-programme=tekun] summary")
    assert "农村：每人每月910.00元" in phone.locator("details[data-programme=tekun] ul.amounts").inner_text()
    assert phone.locator("details.programme").count() == 4
    assert phone.locator("details.department").count() >= 5
    assert phone.evaluate("document.scripts.length") == 0
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
    shot(phone, "public-02-guide-phone")


def test_a_help_request_reaches_the_township_inbox_and_the_receipt_follows_it(site, live, open_page):
    phone = open_page(PHONE)
    code = ask_for_help(phone, live)
    assert re.fullmatch(r"[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}", code)
    steps = phone.locator("ol.steps").inner_text()
    assert "已提交求助" in steps and "乡镇（街道）受理研判" in steps
    shot(phone, "public-03-receipt-new")

    desk = open_page()
    log_in(desk, live, "caseworker")                                   # 滨湖街道经办
    desk.goto(f"{live}/inbox?view=group")
    case_id = case_of(site.services, code)
    triage = open_task(site.services, case_id, "triage")
    assert desk.locator(f"li.task[data-task-id='{triage.id}']").count() == 1
    shot(desk, "public-04-township-inbox")
    other = open_page()
    log_in(other, live, "caseworker2")                                 # 李阁镇: not theirs
    other.goto(f"{live}/inbox?view=group")
    assert other.locator(f"li.task[data-task-id='{triage.id}']").count() == 0

    site.services.engine.complete(triage.id, CASEWORKER, {"visit_needed": True})
    phone.goto(f"{live}/public/receipt/{code.lower()}")
    steps = phone.locator("ol.steps").inner_text()
    assert "乡镇（街道）受理研判（已完成）" in steps and "工作人员入户核实" in steps
    page = phone.content()
    assert "王小梅" not in page and "13800000021" not in page and DIAGNOSIS not in page
    shot(phone, "public-05-receipt-progress")


def _under_publicity(svc) -> tuple[int, int]:
    with svc.db.read() as s:
        household_id = s.execute(select(HouseholdRow.id).where(HouseholdRow.region_code == VILLAGE)
                                 .order_by(HouseholdRow.id)).scalars().first()
    engine = svc.engine
    view = engine.start("application", actor=CASEWORKER, region_code=VILLAGE, household_id=household_id)
    for bpmn_id, actor, data in (("accept", CASEWORKER, {"accepted": True}),
                                 ("info_check", APPROVER, {"checked": True}),
                                 ("investigate", CASEWORKER, {"investigators": ["张三", "李四"], "findings": "属实"}),
                                 ("opinion", CASEWORKER, {"opinion": "拟同意"})):
        engine.complete(open_task(svc, view.id, bpmn_id).id, actor, data)
    return view.id, open_task(svc, view.id, "publicity").id


def test_an_objection_on_the_publicity_board_opens_the_objection_path(site, live, open_page):
    case_id, task_id = _under_publicity(site.services)
    phone = open_page(PHONE)
    phone.goto(f"{live}/public/{VILLAGE}/publicity")
    row = phone.locator(f"tr[data-entry='{task_id}']")
    assert re.sub(r"\s+", " ", row.inner_text()).startswith("韩* 4人 最低生活保障 2800.00")
    shot(phone, "public-06-publicity")
    row.get_by_role("link", name="提异议").click()
    phone.fill("#objection", "该户有经营性收入未申报")
    phone.click("button[type=submit]")
    phone.wait_for_url(re.compile(r"/publicity\?objected=1$"))
    assert "异议已登记" in phone.locator("main").inner_text()
    assert phone.locator(f"tr[data-entry='{task_id}']").count() == 0
    shot(phone, "public-07-objection-registered")
    review = open_task(site.services, case_id, "objection_review")      # 异议处理 for the township
    assert review.candidate_group == "caseworker"
    with site.services.db.read() as s:
        completed = s.execute(select(AuditEvent).where(
            AuditEvent.chain == f"case:{case_id}", AuditEvent.action == "task.completed",
            AuditEvent.object_id == task_id)).scalar_one()
    assert completed.actor == "public"
    assert completed.after["data"] == {"objection": "该户有经营性收入未申报", "objection_source": "public"}


def test_a_dissatisfied_rating_creates_the_follow_up_task(site, live, open_page):
    phone = open_page(PHONE)
    code = ask_for_help(phone, live, "房屋漏雨需要维修帮助")
    case_id = case_of(site.services, code)
    assert phone.locator("form#rating").count() == 0                   # not before the case closes
    site.services.engine.complete(open_task(site.services, case_id, "triage").id, CASEWORKER, {
        "visit_needed": False, "need_confirmed": False, "not_confirmed_reason": "已由村里协调维修"})
    phone.goto(f"{live}/public/receipt/{code}")
    assert "已办结" in phone.locator("ol.steps").inner_text()
    phone.check("input[name=rating][value=dissatisfied]")
    phone.fill("#comment", "一直没人来看")
    shot(phone, "public-08-rating")
    phone.click("form#rating button[type=submit]")
    phone.wait_for_url(re.compile(r"rated=1$"))
    assert "乡镇（街道）会在5个工作日内回访" in phone.locator("#rating").inner_text()
    with site.services.db.read() as s:
        followup = s.execute(select(ProcessInstance).where(ProcessInstance.process_key == "followup",
                                                           ProcessInstance.parent_id == case_id)).scalar_one()
    task = open_task(site.services, followup.id, "follow_up")
    assert (task.candidate_group, task.region_code) == ("caseworker", VILLAGE)
    desk = open_page()
    log_in(desk, live, "caseworker")
    desk.goto(f"{live}/inbox?view=group")
    assert "不满意回访跟进" in desk.locator(f"li.task[data-task-id='{task.id}']").inner_text()
    shot(desk, "public-09-followup-in-inbox")


def test_no_public_page_shows_an_id_number_or_a_diagnosis(site, live, open_page):
    case_id, task_id = _under_publicity(site.services)
    phone = open_page(PHONE)
    code = ask_for_help(phone, live)
    with site.services.db.read() as s:
        members = [m for h in s.execute(select(HouseholdRow)).scalars() for m in h.data["members"]]
    full_names = {m["name"] for m in members if len(m["name"]) > 1}
    pages = ["/public/", f"/public/{VILLAGE}", f"/public/370827101", f"/public/{VILLAGE}/help",
             f"/public/{VILLAGE}/publicity", f"/public/{VILLAGE}/publicity/{task_id}/objection",
             f"/public/{VILLAGE}/poster", "/public/receipt", f"/public/receipt/{code}"]
    found = []
    for path in pages:
        phone.goto(f"{live}{path}")
        html = phone.content()
        found += [(path, m) for m in ID_NUMBER.findall(html)]
        found += [(path, word) for word in (DIAGNOSIS, "critical_illness", "13800000021", "王小梅", *full_names)
                  if word in html]
    assert found == []
