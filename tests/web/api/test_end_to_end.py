"""A whole case through the REST API, on the real `application` process (issue: REST API, done-when).

household → start the unified application → complete each task → assess → the 7-day publicity
timer passes via the test clock → confirmed → the decision and the payment from next month are
visible on the case.  Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

from tests.processes.conftest import han_jin
from tests.web.api.conftest import VILLAGE

STANDARD_2022 = {"region_code": "3708", "valid_from": "2022-01-01", "dibao_urban": "880", "dibao_rural": "700",
                 "tekun_urban": "1144", "tekun_rural": "910", "care_self": "170", "care_partial": "290",
                 "care_total": "580", "marginal_multiplier": "2.0", "township_relief_limit": "3000",
                 "county_relief_limit": "10000"}
INVESTIGATORS = {"investigators": ["张三", "李四"], "findings": "入户调查属实"}


def _ok(response, status=200):
    assert response.status_code == status, response.get_json()
    return response.get_json()


def test_a_dibao_case_runs_from_household_to_payment_through_the_api(client, auth):
    _ok(client.post("/api/v1/_test/clock", json={"set": "2026-03-02T10:00:00+08:00"}, headers=auth["admin"]))
    _ok(client.post("/api/v1/standards", json=STANDARD_2022, headers=auth["admin"]), 201)
    household_id = _ok(client.post("/api/v1/households", json=han_jin(VILLAGE), headers=auth["caseworker"]),
                       201)["id"]

    answer = _ok(client.post("/api/v1/programmes/dibao/assess",
                             json={"household_id": household_id, "as_of": "2026-03-02"},
                             headers=auth["caseworker"]))
    assert (answer["eligible"], answer["monthly_amount"], answer["covered_members"]) == (True, "2800.00",
                                                                                        [0, 1, 2, 3])

    case = _ok(client.post("/api/v1/cases", json={"process": "application", "household_id": household_id,
                                                  "data": {"source": "village_report", "proxy": True}},
                           headers=auth["caseworker"]), 201)
    case_id = case["id"]
    steps = [("accept", "caseworker", {"accepted": True}), ("info_check", "approver", {"checked": True}),
             ("investigate", "caseworker", INVESTIGATORS), ("opinion", "caseworker", {"opinion": "拟同意"})]
    for element, role, data in steps:
        case = _ok(client.get(f"/api/v1/cases/{case_id}", headers=auth["caseworker"]))
        task = next(t for t in case["open_tasks"] if _bpmn_id(client, auth, t["id"]) == element)
        _ok(client.post(f"/api/v1/tasks/{task['id']}/complete", json={"data": data}, headers=auth[role]))

    case = _ok(client.get(f"/api/v1/cases/{case_id}", headers=auth["caseworker"]))
    assert [t["candidate_group"] for t in case["open_tasks"]] == ["assistant"]  # the 7-day publicity
    moved = _ok(client.post("/api/v1/_test/clock", json={"advance_seconds": 7 * 24 * 3600},
                            headers=auth["admin"]))
    assert any(f["kind"] == "timer" and f["case_id"] == case_id for f in moved["fired"])

    case = _ok(client.get(f"/api/v1/cases/{case_id}", headers=auth["approver"]))
    [confirm] = case["open_tasks"]
    assert confirm["candidate_group"] == "approver"
    _ok(client.post(f"/api/v1/tasks/{confirm['id']}/complete", json={"data": {"confirmed": True}},
                    headers=auth["approver"]))

    case = _ok(client.get(f"/api/v1/cases/{case_id}", headers=auth["caseworker"]))
    assert case["status"] == "completed" and case["overdue"] is False
    [decision] = case["decisions"]
    assert (decision["programme"], decision["decision"], decision["monthly_amount"],
            decision["from_month"]) == ("dibao", "approved", "2800.00", "2026-04")
    [payment] = case["payments"]
    assert payment["amount"] == "2800.00" and payment["idempotency_key"]
    assert {"amount", "fund", "paid_at", "idempotency_key"} <= set(payment)
    events = [e["action"] for e in _ok(client.get(f"/api/v1/cases/{case_id}/events", headers=auth["caseworker"]))]
    assert events[0] == "instance.started" and "timer.fired" in events and "decision.recorded" in events


def _bpmn_id(client, auth, task_id: int) -> str:
    return _ok(client.get(f"/api/v1/tasks/{task_id}", headers=auth["admin"]))["bpmn_id"]
