"""Programmes from the plugins, and ``POST /programmes/{code}/assess`` answering the contract shape."""

from __future__ import annotations

from tests.web.api.conftest import OTHER_VILLAGE, STANDARD, assert_error, household, member

ANSWER_KEYS = {"programme", "eligible", "monthly_amount", "one_off_amount", "covered_members",
               "marginal", "reasons", "rule_version"}


def add_standard(client, auth):
    assert client.post("/api/v1/standards", json=STANDARD, headers=auth["admin"]).status_code == 201


def test_programmes_are_listed_from_the_plugin_manager(client, auth):
    response = client.get("/api/v1/programmes", headers=auth["assistant"])
    assert response.status_code == 200
    codes = {p["code"] for p in response.get_json()}
    assert "testaid" in codes
    one = client.get("/api/v1/programmes/testaid", headers=auth["assistant"]).get_json()
    assert one["name_zh"] == "测试救助" and one["options"] == ["bonus"]
    assert_error(client.get("/api/v1/programmes/nope", headers=auth["assistant"]), 404)


def test_an_inline_household_is_assessed_in_exactly_the_contract_shape(client, auth):
    add_standard(client, auth)
    body = {"household": household(members=[member(wages="200"), member("韩梅", seq=124, wages="0")]),
            "as_of": "2023-03-06", "options": {}}
    response = client.post("/api/v1/programmes/testaid/assess", json=body, headers=auth["caseworker"])
    assert response.status_code == 200, response.get_json()
    answer = response.get_json()
    assert set(answer) == ANSWER_KEYS
    assert answer == {"programme": "testaid", "eligible": True, "monthly_amount": "1200.00",
                      "one_off_amount": "0.00", "covered_members": [0, 1], "marginal": None,
                      "reasons": [{"code": "testaid.eligible", "message": "符合条件"}],
                      "rule_version": "testaid-1"}


def test_a_stored_household_is_assessed_and_the_answer_recorded(client, auth, make_household):
    add_standard(client, auth)
    household_id = make_household(members=[member(wages="900")])
    response = client.post("/api/v1/programmes/testaid/assess",
                           json={"household_id": household_id, "as_of": "2023-03-06"},
                           headers=auth["caseworker"])
    assert response.status_code == 200
    assert response.get_json()["eligible"] is False
    assert response.get_json()["monthly_amount"] == "0.00"
    recorded = client.get(f"/api/v1/households/{household_id}/assessments",
                          headers=auth["caseworker"]).get_json()
    assert recorded == [response.get_json()]


def test_assessing_needs_a_household_a_standard_and_a_known_programme(client, auth, make_household):
    headers = auth["caseworker"]
    household_id = make_household()
    error = assert_error(client.post("/api/v1/programmes/testaid/assess",
                                     json={"household_id": household_id}, headers=headers), 422)
    assert list(error["fields"]) == ["as_of"]  # no standard applies yet
    add_standard(client, auth)
    assert_error(client.post("/api/v1/programmes/testaid/assess", json={}, headers=headers), 422)
    both = {"household_id": household_id, "household": household()}
    assert_error(client.post("/api/v1/programmes/testaid/assess", json=both, headers=headers), 422)
    assert_error(client.post("/api/v1/programmes/nope/assess", json={"household_id": household_id},
                             headers=headers), 404)
    error = assert_error(client.post("/api/v1/programmes/testaid/assess",
                                     json={"household": {"region_code": "1"}}, headers=headers), 422)
    assert "household.region_code" in error["fields"]


def test_assessing_respects_region_and_role(client, auth, make_household):
    add_standard(client, auth)
    other = make_household(OTHER_VILLAGE)
    assert_error(client.post("/api/v1/programmes/testaid/assess", json={"household_id": other},
                             headers=auth["caseworker"]), 404)
    assert_error(client.post("/api/v1/programmes/testaid/assess",
                             json={"household": household(OTHER_VILLAGE)},
                             headers=auth["caseworker"]), 403)
    assert_error(client.post("/api/v1/programmes/testaid/assess", json={"household_id": other},
                             headers=auth["designer"]), 403)
