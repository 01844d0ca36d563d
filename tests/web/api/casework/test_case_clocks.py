"""Cases: statutory clocks paused and resumed (停表), escalations, overdue lists, retrying failures."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import update

from engine.workflow.models import ProcessInstance
from tests.web.api.casework.conftest import FAR, start
from tests.web.api.conftest import assert_error


def advance(client, auth, seconds: int) -> None:
    response = client.post("/api/v1/_test/clock", json={"advance_seconds": seconds},
                           headers=auth["admin"])
    assert response.status_code == 200, response.get_json()


def test_a_paused_clock_moves_its_deadline_by_the_paused_span(client, auth, svc):
    case = start(svc, "deadline")
    url = f"/api/v1/cases/{case.id}"
    [clock] = client.get(f"{url}/clocks", headers=auth["committee"]).get_json()["clocks"]
    assert (clock["status"], clock["spec"], clock["paused_at"]) == ("running", "PT24H", None)
    paused = client.post(f"{url}/clock/pause", json={"reason": "等待补充材料"}, headers=auth["caseworker"])
    assert paused.status_code == 200, paused.get_json()
    [clock] = paused.get_json()["clocks"]
    assert clock["status"] == "paused" and clock["paused_at"].endswith("+08:00")
    assert_error(client.post(f"{url}/clock/pause", json={"reason": "again"},
                             headers=auth["supervisor"]), 409)
    advance(client, auth, 30 * 3600)  # would have breached, but the clock stands still
    case_now = client.get(url, headers=auth["caseworker"]).get_json()
    assert case_now["overdue"] is False and case_now["escalations"] == []
    resumed = client.post(f"{url}/clock/resume", headers=auth["approver"])
    assert resumed.status_code == 200, resumed.get_json()
    [after] = resumed.get_json()["clocks"]
    assert after["status"] == "running" and after["paused_seconds"] >= 30 * 3600
    moved = datetime.fromisoformat(after["due_at"]) - datetime.fromisoformat(clock["due_at"])
    assert moved >= timedelta(hours=30)
    assert_error(client.post(f"{url}/clock/resume", json={}, headers=auth["caseworker"]), 409)
    actions = [e["action"] for e in client.get(f"{url}/events", headers=auth["admin"]).get_json()]
    assert "sla.paused" in actions and "sla.resumed" in actions


def test_a_breach_shows_as_overdue_with_its_escalation(client, auth, svc):
    late = start(svc, "deadline")
    on_time = start(svc, "deadline")
    client.post(f"/api/v1/cases/{on_time.id}/clock/pause", json={"reason": "家属要求改期"},
                headers=auth["caseworker"])
    advance(client, auth, 25 * 3600)
    case = client.get(f"/api/v1/cases/{late.id}", headers=auth["supervisor"]).get_json()
    assert case["overdue"] is True
    [escalation] = case["escalations"]
    assert (escalation["level"], escalation["to_role"]) == (1, "supervisor")
    assert escalation["at"].endswith("+08:00")
    overdue = client.get("/api/v1/cases?overdue=1", headers=auth["caseworker"])
    assert [c["id"] for c in overdue.get_json()] == [late.id]
    assert overdue.headers["X-Total-Count"] == "1"
    assert [c["id"] for c in client.get("/api/v1/cases?overdue=0&process=deadline&status=active",
                                        headers=auth["caseworker"]).get_json()] == [on_time.id]


def test_pausing_needs_a_reason_a_role_and_the_region(client, auth, svc):
    case = start(svc, "deadline")
    far = start(svc, "deadline", region=FAR)
    url = f"/api/v1/cases/{case.id}/clock"
    error = assert_error(client.post(f"{url}/pause", json={}, headers=auth["caseworker"]), 422)
    assert list(error["fields"]) == ["reason"]
    error = assert_error(client.post(f"{url}/pause", json={"reason": "", "when": "now"},
                                     headers=auth["caseworker"]), 422)
    assert set(error["fields"]) == {"reason", "when"}
    assert_error(client.post(f"{url}/pause", json={"reason": "x"}), 401)
    for role in ("assistant", "committee", "designer"):
        assert_error(client.post(f"{url}/pause", json={"reason": "x"}, headers=auth[role]), 403)
        assert_error(client.post(f"{url}/resume", headers=auth[role]), 403)
    assert_error(client.post(f"/api/v1/cases/{far.id}/clock/pause", json={"reason": "x"},
                             headers=auth["admin"]), 404)
    assert_error(client.get(f"/api/v1/cases/{far.id}/clocks", headers=auth["admin"]), 404)
    assert_error(client.post(f"{url}/pause", json={"reason": "x", "name": "no such clock"},
                             headers=auth["caseworker"]), 409)
    publicity = start(svc, "publicity")  # no statutory clock at all
    assert_error(client.post(f"/api/v1/cases/{publicity.id}/clock/pause", json={"reason": "x"},
                             headers=auth["caseworker"]), 409)


def test_a_failed_case_is_retried_by_an_admin_or_a_supervisor(client, auth, svc):
    case = start(svc, "publicity")
    far = start(svc, "publicity", region=FAR)
    url = f"/api/v1/cases/{case.id}/retry"
    assert_error(client.post(url, headers=auth["supervisor"]), 409)  # not failed
    with svc.db.write() as session:
        session.execute(update(ProcessInstance).where(ProcessInstance.id.in_([case.id, far.id]))
                        .values(status="error", error="the bank did not answer"))
    assert [c["id"] for c in client.get("/api/v1/cases?status=error", headers=auth["caseworker"])
            .get_json()] == [case.id]
    for role in ("caseworker", "approver", "assistant", "committee", "designer"):
        assert_error(client.post(url, headers=auth[role]), 403)
    assert_error(client.post(url), 401)
    assert_error(client.post(f"/api/v1/cases/{far.id}/retry", headers=auth["admin"]), 404)
    retried = client.post(url, headers=auth["supervisor"])
    assert retried.status_code == 200, retried.get_json()
    assert retried.get_json()["status"] == "active"
    assert [t["form_key"] for t in retried.get_json()["open_tasks"]] == ["test.investigation"]
    actions = [e["action"] for e in client.get(f"/api/v1/cases/{case.id}/events",
                                               headers=auth["admin"]).get_json()]
    assert actions[-1] == "instance.retried"


def test_a_case_answer_carries_decisions_payments_and_escalations(client, auth, svc):
    case = client.get(f"/api/v1/cases/{start(svc, 'publicity').id}", headers=auth["admin"]).get_json()
    assert {"process", "process_version", "status", "overdue", "escalations", "open_tasks",
            "decisions", "payments"} <= set(case)
    assert set(case["open_tasks"][0]) >= {"id", "name", "form_key", "candidate_group", "assignee",
                                          "due_at"}
    assert_error(client.get("/api/v1/cases?overdue=maybe", headers=auth["admin"]), 422)
