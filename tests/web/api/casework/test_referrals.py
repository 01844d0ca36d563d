"""Referral slips through the API: made like the referral.create step, answered once, delivered."""

from __future__ import annotations

import threading
from datetime import datetime

from tests.web.api.casework.conftest import FAR, deploy, start
from tests.web.api.conftest import assert_error

URL = "/api/v1/referrals"


def slip(case_id: int, **changes) -> dict:
    return {"case_id": case_id, "target": "medical_insurance", "reason": "大病医疗救助", **changes}


def events(client, auth, case_id: int) -> list[str]:
    return [e["action"] for e in client.get(f"/api/v1/cases/{case_id}/events",
                                            headers=auth["admin"]).get_json()]


def test_a_slip_is_made_for_a_case_and_audited_on_it(client, auth, svc):
    case = start(svc, "publicity")
    response = client.post(URL, json=slip(case.id), headers=auth["caseworker"])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert response.headers["Location"].endswith(f"{URL}/{body['id']}")
    assert {k: body[k] for k in ("case_id", "referral_case_id", "target", "reason", "status",
                                 "overdue", "outcome", "created_by")} == {
        "case_id": case.id, "referral_case_id": None, "target": "medical_insurance",
        "reason": "大病医疗救助", "status": "open", "overdue": False, "outcome": None,
        "created_by": "zhang"}
    due = datetime.fromisoformat(body["due_at"])
    assert due.utcoffset().total_seconds() == 8 * 3600 and (due.hour, due.minute) == (23, 59)
    assert "referral.created" in events(client, auth, case.id)
    assert client.get(f"{URL}/{body['id']}", headers=auth["supervisor"]).get_json() == body


def test_with_the_referral_process_deployed_a_case_tracks_the_slip(client, auth, svc):
    deploy(svc, "referral.bpmn")
    case = start(svc, "publicity")
    body = client.post(URL, json=slip(case.id, due="3WD"), headers=auth["approver"]).get_json()
    tracking = client.get(f"/api/v1/cases/{body['referral_case_id']}", headers=auth["admin"]).get_json()
    assert tracking["process"] == "referral" and tracking["status"] == "active"
    assert tracking["data"]["referral_id"] == body["id"] and tracking["data"]["due"] == "3WD"
    assert [t["form_key"] for t in tracking["open_tasks"]] == ["test.feedback"]


def test_feedback_is_recorded_once_and_delivered_to_the_waiting_referral_case(client, auth, svc):
    deploy(svc, "referral.bpmn")
    case = start(svc, "publicity")
    made = client.post(URL, json=slip(case.id), headers=auth["caseworker"]).get_json()
    answer = {"outcome": "partly", "feedback": "已纳入医疗救助，二次报销待办"}
    response = client.post(f"{URL}/{made['id']}/feedback", json=answer, headers=auth["caseworker"])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["delivered"] is True and body["status"] == "answered"
    assert (body["outcome"], body["feedback"], body["answered_by"]) == ("partly", answer["feedback"],
                                                                        "zhang")
    tracking = client.get(f"/api/v1/cases/{made['referral_case_id']}", headers=auth["admin"]).get_json()
    assert tracking["status"] == "completed"
    assert (tracking["data"]["outcome"], tracking["data"]["feedback"]) == ("partly", answer["feedback"])
    assert "message.received" in events(client, auth, made["referral_case_id"])
    assert "referral.answered" in events(client, auth, case.id)
    again = client.post(f"{URL}/{made['id']}/feedback", json={"outcome": "done", "feedback": "x"},
                        headers=auth["admin"])
    assert_error(again, 409, "conflict")
    assert client.get(f"{URL}/{made['id']}", headers=auth["admin"]).get_json()["outcome"] == "partly"


def test_feedback_for_a_case_that_no_longer_waits_is_recorded_but_not_delivered(client, auth, svc):
    deploy(svc, "referral.bpmn")
    case = start(svc, "publicity")
    made = client.post(URL, json=slip(case.id), headers=auth["caseworker"]).get_json()
    tracking = client.get(f"/api/v1/cases/{made['referral_case_id']}", headers=auth["admin"]).get_json()
    done = client.post(f"/api/v1/tasks/{tracking['open_tasks'][0]['id']}/complete", json={"data": {}},
                       headers=auth["caseworker"])
    assert done.get_json()["status"] == "completed"
    body = client.post(f"{URL}/{made['id']}/feedback", json={"outcome": "done", "feedback": "已办结"},
                       headers=auth["caseworker"]).get_json()
    assert body["status"] == "answered" and body["delivered"] is False


def test_open_and_overdue_slips_are_listed(client, auth, svc):
    case = start(svc, "publicity")
    late = client.post(URL, json=slip(case.id, due="PT1H"), headers=auth["caseworker"]).get_json()
    later = client.post(URL, json=slip(case.id, target="housing"), headers=auth["caseworker"]).get_json()
    answered = client.post(URL, json=slip(case.id, target="education"),
                           headers=auth["caseworker"]).get_json()
    client.post(f"{URL}/{answered['id']}/feedback", json={"outcome": "not_applicable",
                                                          "feedback": "无在校学生"},
                headers=auth["caseworker"])
    headers = auth["caseworker"]
    assert client.get(f"{URL}?overdue=1", headers=headers).get_json() == []
    moved = client.post("/api/v1/_test/clock", json={"advance_seconds": 7200}, headers=auth["admin"])
    assert moved.status_code == 200
    overdue = client.get(f"{URL}?status=open&overdue=1", headers=headers)
    assert [r["id"] for r in overdue.get_json()] == [late["id"]]
    assert overdue.get_json()[0]["overdue"] is True and overdue.headers["X-Total-Count"] == "1"
    assert [r["id"] for r in client.get(f"{URL}?status=open", headers=headers).get_json()] == \
        [late["id"], later["id"]]
    assert [r["id"] for r in client.get(f"{URL}?status=answered", headers=headers).get_json()] == \
        [answered["id"]]
    assert [r["id"] for r in client.get(f"{URL}?target=housing&case_id={case.id}",
                                        headers=headers).get_json()] == [later["id"]]


def test_invalid_slips_and_feedback_name_their_fields(client, auth, svc):
    case = start(svc, "publicity")
    headers = auth["caseworker"]
    error = assert_error(client.post(URL, json={"case_id": "1", "reason": "", "extra": 1},
                                     headers=headers), 422)
    assert set(error["fields"]) == {"case_id", "target", "reason", "extra"}
    error = assert_error(client.post(URL, json=slip(case.id, due="soon"), headers=headers), 422)
    assert list(error["fields"]) == ["due"]
    error = assert_error(client.post(URL, json=slip(case.id, due="2020-01-01"), headers=headers), 422)
    assert list(error["fields"]) == ["due"]
    made = client.post(URL, json=slip(case.id), headers=headers).get_json()
    error = assert_error(client.post(f"{URL}/{made['id']}/feedback",
                                     json={"outcome": "maybe", "feedback": "  "}, headers=headers), 422)
    assert set(error["fields"]) == {"outcome", "feedback"}
    assert_error(client.post(f"{URL}/{made['id']}/feedback", data="{", headers=headers,
                             content_type="application/json"), 400)
    assert_error(client.get(f"{URL}?status=lost", headers=headers), 422)


def test_slips_stay_inside_the_region_and_the_roles(client, auth, svc):
    own = start(svc, "publicity")
    other = start(svc, "publicity", region="370827102201")
    far = start(svc, "publicity", region=FAR)
    assert_error(client.post(URL, json=slip(own.id)), 401)
    assert_error(client.get(URL), 401)
    for role in ("assistant", "committee", "supervisor", "designer"):
        assert_error(client.post(URL, json=slip(own.id), headers=auth[role]), 403)
    assert_error(client.get(URL, headers=auth["committee"]), 403)
    assert_error(client.post(URL, json=slip(other.id), headers=auth["caseworker"]), 404)
    assert_error(client.post(URL, json=slip(far.id), headers=auth["admin"]), 404)
    theirs = client.post(URL, json=slip(other.id), headers=auth.user("li")).get_json()
    assert_error(client.get(f"{URL}/{theirs['id']}", headers=auth["caseworker"]), 404)
    assert_error(client.post(f"{URL}/{theirs['id']}/feedback", json={"outcome": "done",
                                                                     "feedback": "x"},
                             headers=auth["caseworker"]), 404)
    assert_error(client.post(f"{URL}/{theirs['id']}/feedback", json={"outcome": "done",
                                                                     "feedback": "x"},
                             headers=auth["supervisor"]), 403)
    assert client.get(URL, headers=auth["caseworker"]).get_json() == []
    assert [r["id"] for r in client.get(URL, headers=auth["approver"]).get_json()] == [theirs["id"]]


def test_a_due_time_lies_within_the_coming_year(client, auth, svc):
    case = start(svc, "publicity")
    for due in ("9999-12-31", "0001-01-01", "P2Y", "400WD"):
        error = assert_error(client.post(URL, json=slip(case.id, due=due), headers=auth["admin"]), 422)
        assert list(error["fields"]) == ["due"], due
    assert client.post(URL, json=slip(case.id, due="P30D"), headers=auth["admin"]).status_code == 201


def test_concurrent_feedback_is_recorded_once(app, client, auth, svc):
    deploy(svc, "referral.bpmn")
    case = start(svc, "publicity")
    made = client.post(URL, json=slip(case.id), headers=auth["caseworker"]).get_json()
    headers = auth["caseworker"]
    barrier = threading.Barrier(4)
    statuses: list[int] = []

    def answer(n: int):
        other = app.test_client()
        barrier.wait()
        response = other.post(f"{URL}/{made['id']}/feedback",
                              json={"outcome": "done", "feedback": f"第{n}次反馈"}, headers=headers)
        statuses.append(response.status_code)

    threads = [threading.Thread(target=answer, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(statuses) == [200, 409, 409, 409]
    answered = [e for e in client.get(f"/api/v1/cases/{case.id}/events", headers=auth["admin"])
                .get_json() if e["action"] == "referral.answered"]
    assert len(answered) == 1
    tracking = client.get(f"/api/v1/cases/{made['referral_case_id']}", headers=auth["admin"]).get_json()
    assert tracking["status"] == "completed"
