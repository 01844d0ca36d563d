"""The task inbox and the task actions: claim, unclaim, delegate, complete."""

from __future__ import annotations

from tests.web.api.conftest import OTHER_VILLAGE, assert_error


def first_task(case):
    return case["open_tasks"][0]["id"]


def test_the_inbox_filters_mine_group_and_overdue(client, auth, start_case):
    case_a, case_b = start_case(), start_case()
    start_case(OTHER_VILLAGE)
    headers = auth["caseworker"]
    everything = client.get("/api/v1/tasks", headers=headers)
    assert everything.headers["X-Total-Count"] == "2"
    assert {t["case_id"] for t in everything.get_json()} == {case_a["id"], case_b["id"]}
    client.post(f"/api/v1/tasks/{first_task(case_a)}/claim", headers=headers)
    mine = client.get("/api/v1/tasks?mine=1", headers=headers).get_json()
    assert [t["id"] for t in mine] == [first_task(case_a)]
    group = client.get("/api/v1/tasks?group=1", headers=headers).get_json()
    assert [t["id"] for t in group] == [first_task(case_b)]
    assert client.get("/api/v1/tasks?group=1", headers=auth["approver"]).get_json() == []
    assert client.get("/api/v1/tasks?overdue=1", headers=headers).get_json() == []
    page = client.get("/api/v1/tasks?limit=1&offset=1", headers=headers)
    assert page.headers["X-Total-Count"] == "2" and len(page.get_json()) == 1


def test_a_task_reads_with_its_form_data(client, auth, start_case):
    case = start_case(data={"note": "门前有狗"})
    response = client.get(f"/api/v1/tasks/{first_task(case)}", headers=auth["caseworker"])
    assert response.status_code == 200
    task = response.get_json()
    assert task["case_id"] == case["id"] and task["status"] == "open"
    assert task["data"]["note"] == "门前有狗" and task["overdue"] is False


def test_a_claimed_task_is_a_conflict_for_the_next_claimer(client, auth, start_case):
    task_id = first_task(start_case())
    claimed = client.post(f"/api/v1/tasks/{task_id}/claim", headers=auth["caseworker"])
    assert claimed.status_code == 200 and claimed.get_json()["assignee"] == "zhang"
    assert_error(client.post(f"/api/v1/tasks/{task_id}/claim", headers=auth["admin"]),
                 409, "conflict")
    assert_error(client.post(f"/api/v1/tasks/{task_id}/complete", json={"data": {}},
                             headers=auth["admin"]), 409)


def test_a_task_of_another_group_is_refused(client, auth, start_case):
    task_id = first_task(start_case())
    assert_error(client.post(f"/api/v1/tasks/{task_id}/claim", headers=auth["approver"]),
                 403, "not_allowed")
    assert_error(client.post(f"/api/v1/tasks/{task_id}/claim", headers=auth["designer"]), 403)


def test_unclaim_and_delegate(client, auth, start_case):
    task_id = first_task(start_case())
    client.post(f"/api/v1/tasks/{task_id}/claim", headers=auth["caseworker"])
    back = client.post(f"/api/v1/tasks/{task_id}/unclaim", headers=auth["caseworker"])
    assert back.status_code == 200 and back.get_json()["assignee"] is None
    client.post(f"/api/v1/tasks/{task_id}/claim", headers=auth["caseworker"])
    auth.make_user("li")  # a caseworker of the neighbouring township
    error = assert_error(client.post(f"/api/v1/tasks/{task_id}/delegate", json={"to": "li"},
                                     headers=auth["caseworker"]), 422)
    assert list(error["fields"]) == ["to"]
    assert_error(client.post(f"/api/v1/tasks/{task_id}/delegate", json={},
                             headers=auth["caseworker"]), 422)
    handed = client.post(f"/api/v1/tasks/{task_id}/delegate", json={"to": "admin"},
                         headers=auth["supervisor"])
    assert handed.status_code == 200 and handed.get_json()["assignee"] == "admin"


def test_completing_moves_the_case_on(client, auth, start_case):
    case = start_case()
    response = client.post(f"/api/v1/tasks/{first_task(case)}/complete",
                           json={"data": {"visited": True}}, headers=auth["caseworker"])
    assert response.status_code == 200, response.get_json()
    after = response.get_json()
    assert after["id"] == case["id"] and after["open_tasks"] == []  # waiting for the publicity
    assert after["data"]["visited"] is True
    assert_error(client.post(f"/api/v1/tasks/{first_task(case)}/complete", json={"data": {}},
                             headers=auth["caseworker"]), 409)
    error = assert_error(client.post(f"/api/v1/tasks/{first_task(case)}/complete",
                                     json={"data": "x"}, headers=auth["caseworker"]), 422)
    assert "data" in error["fields"]


def test_tasks_outside_the_region_do_not_exist_for_the_caller(client, auth, start_case):
    task_id = first_task(start_case(OTHER_VILLAGE))
    headers = auth["caseworker"]
    assert_error(client.get(f"/api/v1/tasks/{task_id}", headers=headers), 404)
    for action in ("claim", "unclaim", "complete"):
        assert_error(client.post(f"/api/v1/tasks/{task_id}/{action}", json={}, headers=headers), 404)
    assert_error(client.post(f"/api/v1/tasks/{task_id}/delegate", json={"to": "zhang"},
                             headers=headers), 404)


def test_the_inbox_is_my_tasks_plus_my_groups_unclaimed_ones(client, auth, start_case):
    """?mine=1&group=1 is the union the contract describes, not the (always empty) intersection."""
    first = start_case()
    second = start_case()
    mine_id = first["open_tasks"][0]["id"]
    assert client.post(f"/api/v1/tasks/{mine_id}/claim", headers=auth["caseworker"]).status_code == 200
    both = client.get("/api/v1/tasks?mine=1&group=1", headers=auth["caseworker"])
    ids = {t["id"] for t in both.get_json()}
    assert {mine_id, second["open_tasks"][0]["id"]} <= ids
    assert int(both.headers["X-Total-Count"]) == len(ids)
    only_mine = {t["id"] for t in client.get("/api/v1/tasks?mine=1", headers=auth["caseworker"]).get_json()}
    assert only_mine == {mine_id}
