"""Escalations for supervisors, and the statutory clocks on the case page (停表 and 恢复计时)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from engine.workflow.models import AuditEvent
from engine.workflow.sla import SlaClock
from tests.web.pages.conftest import VILLAGE, actor_of, csrf_of
from tests.web.pages.seed_dashboard import EMERGENCY_BPMN, OTHER_SUPERVISOR, TOWNSHIP_SUPERVISOR, add_user, seed

ESCALATION = re.compile(r'<tr data-escalation="\d+" data-case="(\d+)" data-level="(\d)" data-to-region="(\d+)"')


def listed(client, query: str = "") -> set[tuple[int, int, str]]:
    page = client.get(f"/escalations{query}").get_data(as_text=True)
    return {(int(c), int(level), region) for c, level, region in ESCALATION.findall(page)}


@pytest.fixture
def data(world, clock):
    return seed(world, clock)


@pytest.mark.parametrize("username, status", [("sun", 200), ("root", 200), ("wang", 403), ("zhang", 403),
                                              ("cun", 403), ("design", 403)])
def test_only_supervisors_and_admins_open_the_escalations(world, as_user, username, status):
    assert as_user(username).get("/escalations").status_code == status


def test_the_county_sees_both_levels_of_its_townships_cases(data, as_user):
    client = as_user("sun")
    assert listed(client) == {(data.e2, 1, "370827102"), (data.e2, 2, "370827")}
    # finished cases too when asked: e3 was escalated once, then done late
    assert listed(client, "?show=all") == {(data.e2, 1, "370827102"), (data.e2, 2, "370827"),
                                           (data.e3, 1, "370827101")}
    assert listed(client, "?show=all&level=2") == {(data.e2, 2, "370827")}


def test_a_township_supervisor_sees_only_its_townships_escalations(data, as_user):
    assert listed(as_user(TOWNSHIP_SUPERVISOR[0])) == set()
    assert listed(as_user(TOWNSHIP_SUPERVISOR[0]), "?show=all") == {(data.e3, 1, "370827101")}
    # the other township also sees its case sent on to the county (level 2)
    assert listed(as_user(OTHER_SUPERVISOR[0])) == {(data.e2, 1, "370827102"), (data.e2, 2, "370827")}


def test_an_escalation_says_how_late_and_links_to_the_cases_clocks(data, as_user):
    page = as_user("sun").get("/escalations").get_data(as_text=True)
    assert f'href="/cases/{data.e2}#clocks"' in page
    assert "先行发放救助金" in page
    assert "超期 5 个工作日" in page  # due Tue 03-03 10:00, now Tue 03-10 10:00


def _running_case(world):
    """An emergency case in township 370827101 with its 24-hour clock running."""
    svc = world.services
    svc.engine.deploy(EMERGENCY_BPMN, "emergency.bpmn", actor=actor_of("design"))
    return svc.engine.start("emergency", actor=actor_of("zhang"), region_code=VILLAGE, data={"urgency": "urgent"})


def _clock(world, case_id: int) -> SlaClock:
    with world.services.db.read() as db:
        return db.execute(select(SlaClock).where(SlaClock.instance_id == case_id)).scalar_one()


def test_the_case_page_shows_the_clocks_and_a_caseworker_pauses_and_resumes_one(world, as_user, clock):
    case = _running_case(world)
    client = as_user("zhang")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'id="clocks"' in page and 'data-status="running"' in page and "先行发放救助金" in page
    before = _clock(world, case.id).due_at

    token = csrf_of(client, f"/cases/{case.id}")
    response = client.post(f"/cases/{case.id}/clocks/pause",
                           data={"csrf_token": token, "name": "先行发放救助金", "reason": "等待银行卡号"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/cases/{case.id}#clocks")
    assert _clock(world, case.id).status == "paused"
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'data-status="paused"' in page and "已停表" in page and "恢复计时" in page

    clock.advance(timedelta(hours=5))
    client.post(f"/cases/{case.id}/clocks/resume", data={"csrf_token": token, "name": "先行发放救助金"})
    resumed = _clock(world, case.id)
    assert resumed.status == "running" and resumed.due_at == before + timedelta(hours=5)
    with world.services.db.read() as db:
        events = db.execute(select(AuditEvent.action, AuditEvent.actor, AuditEvent.after).where(
            AuditEvent.chain == f"case:{case.id}", AuditEvent.action.in_(("sla.paused", "sla.resumed")))
            .order_by(AuditEvent.seq)).all()
    assert [(a, who) for a, who, _after in events] == [("sla.paused", "zhang"), ("sla.resumed", "zhang")]
    assert events[0][2]["reason"] == "等待银行卡号"


def test_a_pause_needs_a_reason_and_a_csrf_token(world, as_user):
    case = _running_case(world)
    client = as_user("zhang")
    token = csrf_of(client, f"/cases/{case.id}")
    response = client.post(f"/cases/{case.id}/clocks/pause", data={"csrf_token": token, "reason": "  "})
    assert response.status_code == 303
    assert "请填写停表原因" in client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert client.post(f"/cases/{case.id}/clocks/pause", data={"reason": "x"}).status_code == 400
    assert client.post(f"/cases/{case.id}/clocks/pause",
                       data={"csrf_token": token, "reason": "x" * 201}).status_code == 303
    assert _clock(world, case.id).status == "running"


def test_resuming_a_running_clock_is_refused_politely(world, as_user):
    case = _running_case(world)
    client = as_user("zhang")
    token = csrf_of(client, f"/cases/{case.id}")
    client.post(f"/cases/{case.id}/clocks/resume", data={"csrf_token": token})
    assert "未处于停表状态" in client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert _clock(world, case.id).status == "running"


@pytest.mark.parametrize("username, status", [("li", 404), ("design", 403), ("wang", 303), ("sun", 303)])
def test_who_may_pause_a_clock(world, as_user, username, status):
    case = _running_case(world)
    client = as_user(username)
    token = csrf_of(client, "/inbox")  # (a 403 page carries a token too, in its language switch)
    response = client.post(f"/cases/{case.id}/clocks/pause", data={"csrf_token": token, "reason": "补材料"})
    assert response.status_code == status
    assert _clock(world, case.id).status == ("paused" if status == 303 else "running")


def test_an_assistant_sees_the_clocks_without_the_buttons(world, as_user):
    svc = world.services
    add_user(svc, "cun1", "assistant", VILLAGE, "本村协理员")
    case = _running_case(world)
    client = as_user("cun1")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert 'data-status="running"' in page and "/clocks/pause" not in page
    token = csrf_of(client, "/inbox")
    assert client.post(f"/cases/{case.id}/clocks/pause",
                       data={"csrf_token": token, "reason": "x"}).status_code == 403
