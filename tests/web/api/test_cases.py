"""Cases: start a deployed process for a household, read its state, events and diagram."""

from __future__ import annotations

from tests.web.api.conftest import OTHER_VILLAGE, VILLAGE, assert_error

CASE_KEYS = {"process", "process_version", "status", "overdue", "escalations", "open_tasks",
             "decisions", "payments"}
TASK_KEYS = {"id", "name", "form_key", "candidate_group", "assignee", "due_at"}


def test_a_case_starts_for_a_household_and_answers_the_contract_fields(client, auth, deployed,
                                                                        make_household):
    deployed()
    household_id = make_household()
    response = client.post("/api/v1/cases", json={"process": "publicity",
                                                  "household_id": household_id,
                                                  "data": {"note": "报告"}},
                           headers=auth["caseworker"])
    assert response.status_code == 201, response.get_json()
    case = response.get_json()
    assert CASE_KEYS <= set(case)
    assert (case["process"], case["process_version"], case["status"]) == ("publicity", 1, "active")
    assert case["overdue"] is False and case["escalations"] == []
    assert case["decisions"] == [] and case["payments"] == []
    assert case["household_id"] == household_id and case["region_code"] == VILLAGE
    assert case["data"]["note"] == "报告"
    [task] = case["open_tasks"]
    assert set(task) == TASK_KEYS
    assert (task["name"], task["form_key"], task["candidate_group"], task["assignee"]) == (
        "入户调查", "test.investigation", "caseworker", None)
    assert task["due_at"].endswith("+08:00")
    assert response.headers["Location"].endswith(f"/api/v1/cases/{case['id']}")
    again = client.get(f"/api/v1/cases/{case['id']}", headers=auth["supervisor"]).get_json()
    assert again["open_tasks"] == case["open_tasks"]


def test_starting_needs_a_deployed_process_and_a_visible_household(client, auth, deployed,
                                                                    make_household):
    deployed()
    mine, other = make_household(), make_household(OTHER_VILLAGE)
    headers = auth["caseworker"]
    error = assert_error(client.post("/api/v1/cases", json={"process": "nothing",
                                                            "household_id": mine},
                                     headers=headers), 422)
    assert list(error["fields"]) == ["process"]
    assert_error(client.post("/api/v1/cases", json={"process": "publicity", "household_id": other},
                             headers=headers), 404)
    error = assert_error(client.post("/api/v1/cases", json={"household_id": "x", "extra": 1},
                                     headers=headers), 422)
    assert {"process", "household_id", "extra"} <= set(error["fields"])


def test_the_case_list_holds_only_the_callers_region(client, auth, start_case):
    mine = start_case()
    start_case(OTHER_VILLAGE)
    response = client.get("/api/v1/cases", headers=auth["caseworker"])
    assert response.headers["X-Total-Count"] == "1"
    assert [c["id"] for c in response.get_json()] == [mine["id"]]
    assert client.get("/api/v1/cases?status=completed",
                      headers=auth["caseworker"]).headers["X-Total-Count"] == "0"
    assert client.get("/api/v1/cases", headers=auth["admin"]).headers["X-Total-Count"] == "2"


def test_the_events_are_the_case_audit_chain(client, auth, start_case):
    case = start_case()
    response = client.get(f"/api/v1/cases/{case['id']}/events", headers=auth["caseworker"])
    assert response.status_code == 200
    events = response.get_json()
    assert [e["action"] for e in events][:1] == ["instance.started"]
    assert [e["seq"] for e in events] == list(range(1, len(events) + 1))
    assert events[0]["prev_hash"] == "0" * 64 and events[0]["at"].endswith("+08:00")
    assert all(later["prev_hash"] == earlier["hash"] for earlier, later in zip(events, events[1:]))


def test_id_numbers_in_case_data_and_events_are_masked(client, auth, start_case):
    number = "370827198001011232"
    case = start_case(data={"reported": f"身份证 {number}"})
    assert number not in str(case["data"])
    events = client.get(f"/api/v1/cases/{case['id']}/events", headers=auth["caseworker"])
    assert number not in events.get_data(as_text=True)
    assert "370827********1232" in events.get_data(as_text=True)


def test_the_diagram_is_svg_with_the_current_task(client, auth, start_case):
    case = start_case()
    response = client.get(f"/api/v1/cases/{case['id']}/diagram", headers=auth["caseworker"])
    assert response.status_code == 200
    assert response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    assert svg.startswith("<svg") and "入户调查" in svg


def test_the_diagram_falls_back_to_a_list_of_current_tasks(client, auth, start_case, monkeypatch):
    import web.diagram

    def broken(xml, *, current, done):
        raise ValueError("cannot draw")

    monkeypatch.setattr(web.diagram, "render_svg", broken)
    case = start_case()
    response = client.get(f"/api/v1/cases/{case['id']}/diagram", headers=auth["caseworker"])
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    svg = response.get_data(as_text=True)
    assert svg.startswith("<svg") and "当前环节" in svg and "入户调查" in svg


def test_cases_outside_the_region_do_not_exist_for_the_caller(client, auth, start_case):
    case = start_case(OTHER_VILLAGE)
    for suffix in ("", "/events", "/diagram"):
        assert_error(client.get(f"/api/v1/cases/{case['id']}{suffix}", headers=auth["caseworker"]),
                     404, "not_found")
    assert_error(client.get("/api/v1/cases/987654", headers=auth["caseworker"]), 404)


def test_decisions_and_payments_of_a_case_are_in_its_answer(client, auth, services, start_case):
    from datetime import date

    from engine.casework import payments

    case = start_case()
    at = services.clock.now()
    with services.db.write() as session:
        payments.record_decision(session, instance_id=case["id"], household_id=case["household_id"],
                                 programme="dibao", decision="approved", at=at, actor="wang",
                                 decided_on=date(2023, 3, 6), monthly_amount="600")
        payments.schedule(session, key=f"{case['id']}:confirm:2023-04", instance_id=case["id"],
                          household_id=case["household_id"], programme="dibao", amount="600",
                          month="2023-04", at=at, actor="wang")
    answer = client.get(f"/api/v1/cases/{case['id']}", headers=auth["caseworker"]).get_json()
    [decision] = answer["decisions"]
    assert (decision["programme"], decision["decision"], decision["monthly_amount"]) == (
        "dibao", "approved", "600.00")
    assert decision["from_month"] == "2023-04" and decision["decided_at"].endswith("+08:00")
    [payment] = answer["payments"]
    assert {"amount", "fund", "paid_at", "idempotency_key"} <= set(payment)
    assert (payment["amount"], payment["status"], payment["paid_at"]) == ("600.00", "scheduled", None)
    assert payment["idempotency_key"] == f"{case['id']}:confirm:2023-04"
