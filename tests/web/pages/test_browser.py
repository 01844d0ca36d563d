"""The main journeys in headless Chromium (Debian's, driven by Playwright), screenshots kept.

The app is served from a thread on 127.0.0.1; nothing leaves the machine.  Without Chromium these
tests are skipped on a developer's machine and fail in CI (``CI`` set), as BROWSER_TESTS.md asks.
"""

from __future__ import annotations

import re
import threading
from pathlib import Path

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from engine.workflow.models import AuditEvent, HumanTask
from tests.web.pages.conftest import BPMN, PASSWORD

pytestmark = pytest.mark.browser

ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts"
DESKTOP = {"width": 1280, "height": 860}
PHONE = {"width": 390, "height": 844}


@pytest.fixture
def live(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def open_page(browser):
    contexts = []

    def make(viewport=DESKTOP):
        context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai",
                                      device_scale_factor=1)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()
    yield make
    for context in contexts:
        context.close()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def test_caseworker_claims_fills_the_form_and_sees_the_new_position(world, live, open_page):
    page = open_page()
    page.goto(f"{live}/inbox")
    assert "/login" in page.url  # pages need a login
    shot(page, "01-login")
    log_in(page, live, "zhang")
    assert page.url.endswith("/inbox")

    page.click("a.tab-group")
    row = page.locator(f"li.task[data-task-id='{world.task_id}']")
    assert "入户调查" in row.inner_text()
    assert "剩余 3 个工作日" in row.inner_text()
    assert page.locator(f"li.task[data-task-id='{world.other_task_id}']").count() == 0
    shot(page, "02-inbox-group")

    row.get_by_role("button", name="领取").click()
    page.wait_for_url(re.compile(rf"/tasks/{world.task_id}$"))
    assert "已领取" in page.locator(".flashes").inner_text()

    page.fill("#f-income", "六百五")
    page.fill("#f-visited_on", "2026-03-02")
    page.select_option("#f-housing", "rented")
    page.fill("#f-notes", "与户主面谈，核实收入。")
    page.click("button:has-text('提交并完成')")
    error = page.locator("[data-field=income] .error")
    assert error.is_visible()
    assert "数字" in error.inner_text()
    assert page.locator("#f-notes").input_value() == "与户主面谈，核实收入。"  # kept for correction
    shot(page, "03-task-form-error")
    with world.services.db.read() as db:
        assert db.get(HumanTask, world.task_id).status == "open"  # nothing was saved

    page.fill("#f-income", "650")
    page.click("button:has-text('提交并完成')")
    page.wait_for_url(re.compile(rf"/cases/{world.case_id}$"))
    assert page.locator(".diagram svg [data-element-id='approve'].current").count() == 1
    assert page.locator(".diagram svg [data-element-id='investigate'].done").count() == 1
    assert page.locator(".diagram svg [data-element-id='assess'].done").count() == 1
    assert "完成任务" in page.locator(".timeline").inner_text()
    assert "370827********" in page.locator("table.members").inner_text()
    shot(page, "04-case-after-investigation")

    page.locator("tr[data-member='0'] button:has-text('显示')").click()
    assert page.locator("tr[data-member='0'] .id-number.revealed").count() == 1
    assert "查看完整身份证号" in page.locator(".timeline").inner_text()

    # the approver picks it up on a phone
    phone = open_page(PHONE)
    log_in(phone, live, "wang")
    phone.click("a.tab-group")
    assert "审核确认" in phone.locator("ul.tasklist").inner_text()
    shot(phone, "05-phone-inbox-approver")
    phone.goto(f"{live}/cases/{world.case_id}")
    shot(phone, "06-phone-case")
    with world.services.db.read() as db:
        actions = list(db.execute(select(AuditEvent.action).where(
            AuditEvent.chain == f"case:{world.case_id}").order_by(AuditEvent.seq)).scalars())
    assert actions[:3] == ["instance.started", "task.claimed", "task.completed"]
    assert "id_number.revealed" in actions

    phone.click("button[name=lang][value=en]")
    phone.wait_for_load_state()
    assert "Progress" in phone.locator("#diagram-title").inner_text()
    phone.goto(f"{live}/inbox?view=group")
    assert "working days left" in phone.locator("ul.tasklist").inner_text()
    shot(phone, "10-phone-inbox-english")


def test_designer_sees_the_errors_of_a_broken_file_then_deploys_a_good_one(world, live, open_page):
    page = open_page()
    log_in(page, live, "design")
    assert page.url.endswith("/designer/")
    page.click("text=上传 BPMN 文件")
    page.set_input_files("#file", str(BPMN / "broken.bpmn"))
    page.click("button:has-text('校验')")
    problems = page.locator("table.problems tbody tr")
    assert problems.count() >= 3
    text = page.locator("table.problems").inner_text()
    for element in ("f_big", "lane_county", "county_approve"):
        assert element in text
    assert page.locator("button:has-text('部署为新版本')").count() == 0
    shot(page, "07-designer-broken")

    page.goto(f"{live}/designer/upload")
    page.set_input_files("#file", str(BPMN / "relief.bpmn"))
    page.click("button:has-text('校验')")
    assert "校验通过" in page.locator(".card-head").first.inner_text()
    page.click("button:has-text('部署为新版本')")
    page.wait_for_url(re.compile(r"/designer/processes/relief_test/1$"))
    assert "已部署流程 relief_test 第 1 版" in page.locator(".flashes").inner_text()
    viewer = page.locator("#bpmn-viewer")
    if viewer.count():  # bpmn-js installed (scripts/web-assets.sh): it draws the diagram
        page.wait_for_selector("#bpmn-viewer[data-ready=true]")
        assert page.locator("#bpmn-viewer .djs-element").count() > 5
    else:
        assert page.locator("#svg-diagram svg [data-element-id='intake']").count() == 1
    shot(page, "08-designer-deployed")
    editor = page.locator("a:has-text('在浏览器中编辑')")
    if editor.count():  # the bpmn-js modeler: edit, then back to the same validation report
        editor.click()
        page.wait_for_selector("#bpmn-modeler[data-ready=true]")
        shot(page, "08b-designer-editor")
        page.click("#modeler-form button[type=submit]")
        page.wait_for_url(re.compile(r"/designer/validate$"))
        assert "校验通过" in page.locator(".card-head").first.inner_text()
    page.goto(f"{live}/designer/")
    assert "relief_test" in page.locator("table.processes").inner_text()


def test_a_township_caseworker_cannot_open_another_townships_case(world, live, open_page):
    page = open_page()
    log_in(page, live, "li")
    response = page.goto(f"{live}/cases/{world.case_id}")
    assert response.status == 404
    assert "未找到" in page.locator("h1").inner_text()
    assert "入户调查" not in page.content()
    shot(page, "09-other-township-404")
    response = page.goto(f"{live}/cases/{world.other_case_id}")
    assert response.status == 200
