"""The supervisor's and the designer's journeys of the second increment in headless Chromium.

Screenshots: 20-dashboard, 20b-dashboard-phone, 22-escalations, 23-case-clocks, 21-migrate-preview,
21b-migrate-result, 21c-migrate-phone (tests/artifacts/).  The recipe (Debian's Chromium, its
arguments, the live server, screenshots) is ``test_browser``'s.

Playwright's sync API allows one instance per thread, and ``test_browser``'s session-wide browser
holds the main thread's; so this module's Chromium lives in a thread of its own and each journey
runs there (:class:`Chromium`), whatever order the modules run in.
"""

from __future__ import annotations

import queue
import re
import threading
from typing import Any, Callable

import pytest

from tests.browser import ARGS, CHROMIUM, _cannot, require_chromium
from tests.web.pages.seed_dashboard import TOWNSHIP_SUPERVISOR, seed
from tests.web.pages.test_browser import DESKTOP, PHONE, live, log_in, shot  # noqa: F401
from tests.web.pages.test_migrate import V2, deploy, version_of

pytestmark = pytest.mark.browser


class Chromium:
    """Headless Chromium driven from one worker thread; :meth:`run` calls a journey there."""

    def __init__(self) -> None:
        self._calls: queue.Queue = queue.Queue()
        self._started = threading.Event()
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._serve, name="chromium", daemon=True)
        self._thread.start()
        if not self._started.wait(60):
            _cannot("chromium did not start within 60 seconds")
        if self._failure is not None:
            _cannot(f"chromium does not start: {self._failure}")

    def _serve(self) -> None:
        from playwright.sync_api import sync_playwright

        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
                self._started.set()
                while (call := self._calls.get()) is not None:
                    journey, answer = call
                    try:
                        answer.put((True, journey(browser)))
                    except BaseException as exc:  # noqa: BLE001 - handed back to the test's thread
                        answer.put((False, exc))
                browser.close()
        except BaseException as exc:  # noqa: BLE001 - reported by __init__
            self._failure = exc
            self._started.set()

    def run(self, journey: Callable[[Any], Any]) -> Any:
        answer: queue.Queue = queue.Queue()
        self._calls.put((journey, answer))
        ok, value = answer.get(timeout=300)
        if not ok:
            raise value
        return value

    def close(self) -> None:
        self._calls.put(None)
        self._thread.join(timeout=30)


@pytest.fixture(scope="module")
def chromium():
    require_chromium()
    browser = Chromium()
    yield browser
    browser.close()


def pages(browser):
    """``open_page(viewport)`` as in ``test_browser``, and a function closing what it opened."""
    contexts = []

    def open_page(viewport=DESKTOP):
        context = browser.new_context(viewport=viewport, locale="zh-CN", timezone_id="Asia/Shanghai",
                                      device_scale_factor=1)
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    def close():
        for context in contexts:
            context.close()
    return open_page, close


def test_a_supervisor_reads_the_dashboard_and_pauses_an_escalated_cases_clock(world, clock, live, chromium):
    data = seed(world, clock)
    chromium.run(lambda browser: _in_pages(browser, _supervisor, live, data))


def test_a_designer_previews_then_migrates_two_cases(world, live, chromium):
    deploy(world, V2)
    chromium.run(lambda browser: _in_pages(browser, _designer, live, world))


def _in_pages(browser, journey, *args):
    open_page, close = pages(browser)
    try:
        journey(open_page, *args)
    finally:
        close()


def _supervisor(open_page, live, data):
    page = open_page()
    log_in(page, live, "sun")
    page.click("nav.mainnav >> text=统计看板")
    page.wait_for_url(re.compile(r"/dashboard$"))
    assert page.locator("h1").inner_text() == "统计看板"
    tiles = page.locator("ul.tiles").inner_text()
    assert "保障人数" in tiles and "2 户" in tiles
    heat = page.locator("svg.chart-heat")
    assert heat.is_visible()
    assert heat.locator(".heat-value").all_text_contents() == ["3", "3", "5"]
    page.locator("#heatmap details summary").click()
    assert page.locator("#table-heat tr[data-region='370827102']").get_attribute("data-workdays") == "8"
    shot(page, "20-dashboard")

    # one level down: the township, from the heatmap's row link
    heat.locator("a", has_text="370827101").click()
    page.wait_for_url(re.compile(r"region=370827101"))
    assert page.locator("[data-scope]").inner_text() == "370827101"
    assert page.locator("svg.chart-heat .heat-value").all_text_contents() == ["3"]

    phone = open_page(PHONE)
    log_in(phone, live, TOWNSHIP_SUPERVISOR[0])
    phone.goto(f"{live}/dashboard")
    assert "370827102" not in phone.content()
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], "the page itself must not scroll sideways on a phone"
    shot(phone, "20b-dashboard-phone")

    page.click("nav.mainnav >> text=超时督办")
    page.wait_for_url(re.compile(r"/escalations$"))
    rows = page.locator("table.escalations tbody tr")
    assert rows.count() == 2
    assert "超期 5 个工作日" in rows.first.inner_text()
    shot(page, "22-escalations")

    rows.first.locator("a", has_text=f"#{data.e2}").click()
    page.wait_for_url(re.compile(rf"/cases/{data.e2}#clocks$"))
    clock_row = page.locator("#clocks li.clockrow").first
    assert clock_row.get_attribute("data-status") == "running"
    clock_row.locator("input[name=reason]").fill("等待申请人补交银行账户")
    clock_row.get_by_role("button", name="停表").click()
    page.wait_for_url(re.compile(rf"/cases/{data.e2}#clocks$"))
    assert "已停表" in page.locator(".flashes").inner_text()
    assert page.locator("#clocks li.clockrow").first.get_attribute("data-status") == "paused"
    page.locator("#clocks").scroll_into_view_if_needed()
    shot(page, "23-case-clocks")


def _designer(open_page, live, world):
    page = open_page()
    log_in(page, live, "design")
    page.goto(f"{live}/designer/processes/casework/2")
    running = page.locator("table.running-versions tr[data-version='1']")
    assert running.get_attribute("data-active") == "2"
    running.locator("a", has_text="选择案件迁移到本版").click()
    page.wait_for_url(re.compile(r"/designer/processes/casework/migrate\?"))
    page.check(f"#case-{world.case_id}")
    page.check(f"#case-{world.other_case_id}")
    assert page.locator("#to").input_value() == "2"
    page.click("button:has-text('预览迁移')")
    page.wait_for_url(re.compile(r"/migrate/preview$"))
    previews = page.locator("li.preview")
    assert previews.count() == 2
    assert page.locator("li.preview[data-ok='true']").count() == 2
    assert "20天超时" in previews.first.locator(".restarts").inner_text()
    assert "审核确认" in page.locator(".diff-changed").inner_text()
    assert version_of(world, world.case_id) == 1  # a preview moves nothing
    shot(page, "21-migrate-preview")

    page.click("button:has-text('确认迁移选中的案件')")
    page.wait_for_load_state()
    assert "已将 2 个案件迁移到第 2 版" in page.locator(".flashes").inner_text()
    assert page.locator("table.migrate-results tr[data-migrated='true']").count() == 2
    shot(page, "21b-migrate-result")
    assert version_of(world, world.case_id) == 2 and version_of(world, world.other_case_id) == 2

    phone = open_page(PHONE)
    log_in(phone, live, "design")
    phone.goto(f"{live}/designer/processes/casework/migrate?from=2&to=1")
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    shot(phone, "21c-migrate-phone")
