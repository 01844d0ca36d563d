"""The public pages without a browser: the guide from the plugins, QR codes, forms and limits."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from engine import plugins
from engine.actors import Actor
from engine.casework.public import guide as guides
from engine.casework.public import help as helpdesk
from engine.casework.public import ratings
from engine.casework.types import ProgrammeInfo
from engine.hookspecs import hookimpl
from engine.workflow.models import HumanTask
from tests.web.public.conftest import LIGE_VILLAGE, PASSWORD, TOWNSHIP, VILLAGE, csrf_of


def test_the_guide_shows_each_enabled_programme_with_the_amounts_of_the_village(app):
    page = app.test_client().get(f"/public/{VILLAGE}").get_data(as_text=True)
    for name in ("最低生活保障", "特困人员救助供养", "临时救助", "慈善救急难"):
        assert name in page
    assert "农村低保标准：每人每月700.00元" in page          # the city's 2022 standard [S0]
    assert "农村：每人每月910.00元" in page and "完全丧失580.00元" in page
    assert "445.00" not in page                               # not the county's 2020 row
    assert "滨湖街道便民服务中心民政窗口" in page and "医疗救助" in page
    lige = app.test_client().get(f"/public/{LIGE_VILLAGE}").get_data(as_text=True)
    assert "农村低保标准：每人每月760.00元" in lige           # the township's own 2025 row
    assert "农村：每人每月988.00元" in lige                  # tekun filled as 1.3 × 760


def test_a_new_plugin_appears_in_the_guide_without_touching_the_page(site, app):
    class Housing:
        @hookimpl
        def jishijiu_programme(self):
            return ProgrammeInfo(code="zhufang", name_zh="住房应急救助", name_en="Housing", description="测试",
                                 conditions=("房屋倒塌",), documents=("申请书",), rule_version="t",
                                 amounts=("每户不超过{township_relief_limit}元。", "缺{no_such_field}的行不显示。"))
    site.services.pm.register(Housing())
    page = app.test_client().get(f"/public/{VILLAGE}").get_data(as_text=True)
    assert "住房应急救助" in page and "每户不超过3000.00元。" in page and "no_such_field" not in page


def test_a_disabled_programme_is_left_out(site):
    svc = site.services
    settings = {**svc.settings, "charity.enabled": False}
    with svc.db.read() as s:
        guide = guides.policy_guide(s, region_code=VILLAGE, on_date=date(2026, 3, 2),
                                    programmes=plugins.programmes(svc.pm), settings=settings)
    assert [p.code for p in guide.programmes] == ["dibao", "tekun", "linshi"]


def test_unknown_regions_are_404_and_qr_codes_carry_the_public_address(app):
    client = app.test_client()
    assert client.get("/public/370827999999").status_code == 404
    assert client.get("/public/3708").status_code == 404
    svg = client.get(f"/public/{VILLAGE}/qr.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml" and b"<svg" in svg.data
    png = client.get(f"/public/{TOWNSHIP}/qr.png")
    assert png.mimetype == "image/png" and png.data[:8] == b"\x89PNG\r\n\x1a\n"
    poster = client.get(f"/public/{VILLAGE}/poster").get_data(as_text=True)
    assert f"https://jsj.example.cn/public/{VILLAGE}" in poster and "@media print" in poster


def test_public_pages_have_no_scripts_and_a_strict_policy(app):
    client = app.test_client()
    for path in ("/public/", f"/public/{VILLAGE}", f"/public/{VILLAGE}/help", f"/public/{VILLAGE}/publicity",
                 f"/public/{VILLAGE}/poster", "/public/receipt"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert "<script" not in response.get_data(as_text=True), path
        assert "default-src 'none'" in response.headers["Content-Security-Policy"], path


def test_the_help_form_needs_its_csrf_token_and_explains_mistakes(app):
    client = app.test_client()
    refused = client.post(f"/public/{VILLAGE}/help", data={"name": "甲"})
    assert refused.status_code == 400 and "页面已过期" in refused.get_data(as_text=True)
    token = csrf_of(client, f"/public/{VILLAGE}/help")
    bad = client.post(f"/public/{VILLAGE}/help", data={"csrf_token": token, "name": "甲", "phone": "123",
                                                       "description": "x", "urgency": "normal"})
    text = bad.get_data(as_text=True)
    assert bad.status_code == 400 and "请填写11位手机号" in text and "请简要说明" in text


def test_a_phone_is_limited_per_day_across_requests(site, app):
    site.app.config["PUBLIC_HELP_PER_PHONE_PER_DAY"] = 1
    client = app.test_client()
    token = csrf_of(client, f"/public/{TOWNSHIP}/help")
    form = {"csrf_token": token, "name": "王某", "phone": "13800000011", "village": VILLAGE,
            "description": "家中老人突发疾病需要帮助", "urgency": "urgent"}
    first = client.post(f"/public/{TOWNSHIP}/help", data=form)
    assert first.status_code == 303 and "/public/receipt/" in first.headers["Location"]
    second = client.post(f"/public/{TOWNSHIP}/help", data=form)
    assert second.status_code == 429 and second.headers["Retry-After"] == str(24 * 3600)


def test_ratings_feed_the_dashboard_panel(site, app):
    svc = site.services
    form = helpdesk.HelpForm(name="甲", phone="13800000031", village=VILLAGE, description="需要帮助办理低保")
    code, _ = helpdesk.submit(svc.db, svc.engine, form, ip="t", now=svc.clock.now())
    with svc.db.read() as s:
        case_id = helpdesk.find(s, code).case_id
        triage = s.execute(select(HumanTask.id).where(HumanTask.instance_id == case_id)).scalar_one()
    svc.engine.complete(triage, Actor("caseworker", "caseworker", TOWNSHIP),
                        {"visit_needed": False, "need_confirmed": False, "not_confirmed_reason": "重复"})
    ratings.rate(svc.db, svc.engine, code, rating="dissatisfied", comment="", ip="t", now=svc.clock.now())
    client = app.test_client()
    token = csrf_of(client, "/login")
    client.post("/login", data={"username": "supervisor", "password": PASSWORD, "csrf_token": token})
    page = client.get("/dashboard").get_data(as_text=True)
    assert 'id="satisfaction"' in page
    assert '<td class="num" data-rating="dissatisfied">1</td>' in page and "0.0%" in page
