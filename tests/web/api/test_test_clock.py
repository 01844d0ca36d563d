"""The test clock moves the engine's time and fires what is due: a 7-day publicity through the API."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.web.api.conftest import assert_error

DAY = 86400


def advance(client, auth, seconds):
    response = client.post("/api/v1/_test/clock", json={"advance_seconds": seconds},
                           headers=auth["admin"])
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def test_the_publicity_timer_fires_when_the_clock_passes_seven_days(client, auth, start_case):
    case = start_case()
    task_id = case["open_tasks"][0]["id"]
    done = client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {"income": "400"}},
                       headers=auth["caseworker"]).get_json()
    assert done["open_tasks"] == [] and done["status"] == "active"

    assert advance(client, auth, 6 * DAY)["fired"] == []
    assert client.get(f"/api/v1/cases/{case['id']}", headers=auth["approver"]).get_json()["open_tasks"] == []

    moved = advance(client, auth, DAY + 60)
    assert moved["fired"] == [{"kind": "timer", "case_id": case["id"], "element": "publicity_wait",
                               "level": None, "due_at": moved["fired"][0]["due_at"]}]
    assert moved["now"].endswith("+08:00")
    state = client.get(f"/api/v1/cases/{case['id']}", headers=auth["approver"]).get_json()
    [confirm] = state["open_tasks"]
    assert (confirm["name"], confirm["candidate_group"]) == ("审核确认", "approver")

    closed = client.post(f"/api/v1/tasks/{confirm['id']}/complete", json={"data": {"approved": True}},
                         headers=auth["approver"]).get_json()
    assert closed["status"] == "completed" and closed["open_tasks"] == []
    actions = [e["action"] for e in client.get(f"/api/v1/cases/{case['id']}/events",
                                               headers=auth["approver"]).get_json()]
    assert actions.count("timer.fired") == 1 and actions[-1] == "instance.completed"
    assert advance(client, auth, 30 * DAY)["fired"] == []  # a timer fires once


def test_a_task_past_its_due_time_shows_as_overdue(client, auth, start_case):
    case = start_case()
    assert client.get("/api/v1/tasks?overdue=1", headers=auth["caseworker"]).get_json() == []
    advance(client, auth, 4 * DAY)
    [task] = client.get("/api/v1/tasks?overdue=1", headers=auth["caseworker"]).get_json()
    assert task["id"] == case["open_tasks"][0]["id"] and task["overdue"] is True


def test_the_clock_can_be_set_to_a_time(client, auth):
    response = client.post("/api/v1/_test/clock", json={"set": "2030-03-06T10:00:00+08:00"},
                           headers=auth["admin"])
    assert response.status_code == 200
    now = datetime.fromisoformat(response.get_json()["now"])
    target = datetime.fromisoformat("2030-03-06T10:00:00+08:00")
    assert timedelta(0) <= now - target < timedelta(seconds=30)
    read = client.get("/api/v1/_test/clock", headers=auth["admin"]).get_json()
    assert datetime.fromisoformat(read["now"]) >= now


def test_only_an_admin_moves_the_clock_with_exactly_one_instruction(client, auth):
    assert_error(client.post("/api/v1/_test/clock", json={"advance_seconds": 5},
                             headers=auth["caseworker"]), 403)
    assert_error(client.post("/api/v1/_test/clock", json={}, headers=auth["admin"]), 422)
    assert_error(client.post("/api/v1/_test/clock", json={"advance_seconds": 5,
                                                          "set": "2030-03-06T10:00:00+08:00"},
                             headers=auth["admin"]), 422)
    error = assert_error(client.post("/api/v1/_test/clock", json={"set": "2030-03-06T10:00:00"},
                                     headers=auth["admin"]), 422)
    assert "set" in error["fields"]
    assert_error(client.post("/api/v1/_test/clock", json={"advance_seconds": 10**12},
                             headers=auth["admin"]), 422)
