"""Discovery signals through the API: idempotent intake, the discovery case, batches, scope."""

from __future__ import annotations

import threading

from engine.actors import SYSTEM
from engine.casework import idnumber
from tests.web.api.casework.conftest import FAR, deploy, new_household
from tests.web.api.conftest import BPMN, VILLAGE, assert_error

URL = "/api/v1/signals"


def signal(source_id: str = "GD-1", **changes) -> dict:
    body = {"source": "12345", "source_id": source_id, "kind": "hotline_12345",
            "region_code": VILLAGE, "details": {"summary": "老人独居，无人照料"},
            "occurred_at": "2026-03-02T09:30:00+08:00"}
    return {**body, **changes}


def test_a_signal_waits_as_received_while_no_discovery_process_is_deployed(client, auth):
    response = client.post(URL, json=signal(), headers=auth["assistant"])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["duplicate"] is False and body["case_id"] is None and body["status"] == "received"
    assert body["received_by"] == "cun" and body["occurred_at"] == "2026-03-02T09:30:00+08:00"
    assert response.headers["Location"].endswith(f"/api/v1/signals/{body['id']}")
    assert client.get(f"{URL}/{body['id']}", headers=auth["caseworker"]).get_json() == \
        {k: v for k, v in body.items() if k != "duplicate"}


def test_a_signal_starts_the_discovery_process_with_what_it_knows(client, auth, svc):
    deploy(svc, "discovery.bpmn")
    household_id = new_household(svc)
    body = client.post(URL, json=signal(household_id=household_id), headers=auth["caseworker"])
    assert body.status_code == 201, body.get_json()
    answer = body.get_json()
    assert answer["status"] == "started" and answer["case_id"]
    case = client.get(f"/api/v1/cases/{answer['case_id']}", headers=auth["caseworker"]).get_json()
    assert case["process"] == "discovery" and case["household_id"] == household_id
    assert {k: case["data"][k] for k in ("signal_kind", "source", "source_id", "details",
                                         "signal_id", "noted_kind")} == {
        "signal_kind": "hotline_12345", "source": "12345", "source_id": "GD-1",
        "details": {"summary": "老人独居，无人照料"}, "signal_id": answer["id"],
        "noted_kind": "hotline_12345"}
    assert [t["form_key"] for t in case["open_tasks"]] == ["test.check"]


def test_the_same_source_and_source_id_again_answers_the_original(client, auth, svc):
    deploy(svc, "discovery.bpmn")
    first = client.post(URL, json=signal(), headers=auth["caseworker"]).get_json()
    again = client.post(URL, json=signal(details={"summary": "changed"}), headers=auth["admin"])
    assert again.status_code == 200
    assert again.get_json()["duplicate"] is True
    assert {k: again.get_json()[k] for k in ("id", "case_id")} == \
        {k: first[k] for k in ("id", "case_id")}
    assert again.get_json()["details"] == {"summary": "老人独居，无人照料"}  # the original
    listed = client.get("/api/v1/cases?process=discovery", headers=auth["admin"])
    assert listed.headers["X-Total-Count"] == "1"
    other_source = client.post(URL, json=signal(source="village"), headers=auth["caseworker"])
    assert other_source.status_code == 201


def test_concurrent_copies_of_one_signal_make_one_row_and_one_case(app, auth, svc):
    deploy(svc, "discovery.bpmn")
    headers = auth["caseworker"]
    barrier = threading.Barrier(6)
    answers: list = []

    def report():
        client = app.test_client()
        barrier.wait()
        response = client.post(URL, json=signal("WM-7", kind="water_meter", source="meter"),
                               headers=headers)
        answers.append((response.status_code, response.get_json()))

    threads = [threading.Thread(target=report) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(status for status, _ in answers) == [200] * 5 + [201], answers
    assert len({(a["id"], a["case_id"]) for _, a in answers}) == 1
    client = app.test_client()
    assert client.get(URL, headers=headers).headers["X-Total-Count"] == "1"
    assert client.get("/api/v1/cases?process=discovery", headers=headers) \
        .headers["X-Total-Count"] == "1"


def test_water_meter_readings_pass_their_details_to_discovery(client, auth, svc):
    deploy(svc, "discovery.bpmn")
    reading = signal("WM-2026-03-02-0001", source="water_meter", kind="water_meter",
                     details={"m3": "0.06", "hours": 12, "meter": "SX-001"})
    answer = client.post(URL, json=reading, headers=auth["admin"]).get_json()
    case = client.get(f"/api/v1/cases/{answer['case_id']}", headers=auth["admin"]).get_json()
    assert case["data"]["details"] == {"m3": "0.06", "hours": 12, "meter": "SX-001"}
    assert case["data"]["signal_kind"] == "water_meter"


def test_a_discovery_process_that_fails_keeps_the_signal_as_failed(client, auth, svc):
    broken = (BPMN / "discovery.bpmn").read_bytes().replace(b"noted_kind = signal_kind",
                                                           b"noted_kind = no_such_name")
    svc.engine.deploy(broken, "discovery.bpmn", actor=SYSTEM)
    response = client.post(URL, json=signal(), headers=auth["caseworker"])
    assert response.status_code == 201
    body = response.get_json()
    assert body["status"] == "failed" and body["case_id"] is None and "no_such_name" in body["error"]
    assert client.get("/api/v1/cases", headers=auth["admin"]).headers["X-Total-Count"] == "0"
    failed = client.get(f"{URL}?status=failed", headers=auth["caseworker"]).get_json()
    assert [s["id"] for s in failed] == [body["id"]]


def test_a_batch_stores_each_item_on_its_own(client, auth, svc):
    deploy(svc, "discovery.bpmn")
    batch = [signal("B-1"), signal("B-2", kind="hospital_bill", source="hospital"),
             signal("B-3", kind="meteor"), signal("B-1"), "not an object",
             signal("B-4", region_code=FAR), signal("B-5", amount=1)]
    response = client.post(f"{URL}/batch", json=batch, headers=auth["caseworker"])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [r["status"] for r in body["results"]] == [201, 201, 422, 200, 422, 403, 422]
    assert [r["index"] for r in body["results"]] == list(range(7))
    assert (body["created"], body["duplicates"], body["failed"]) == (2, 1, 4)
    first, _, bad_kind, duplicate, not_object, outside, unknown = body["results"]
    assert duplicate["id"] == first["id"] and duplicate["duplicate"] is True
    assert first["case_id"] and first["signal_status"] == "started"
    assert list(bad_kind["error"]["fields"]) == ["kind"]
    assert not_object["error"]["fields"] == {"_schema": ["must be a JSON object"]}
    assert outside["error"]["code"] == "not_allowed"
    assert list(unknown["error"]["fields"]) == ["amount"]
    assert client.get(URL, headers=auth["caseworker"]).headers["X-Total-Count"] == "2"


def test_a_batch_is_a_json_array_of_at_most_1000(client, auth):
    headers = auth["caseworker"]
    too_many = [signal(f"X-{i}") for i in range(1001)]
    error = assert_error(client.post(f"{URL}/batch", json=too_many, headers=headers), 422)
    assert "1000" in error["fields"]["_schema"][0]
    assert_error(client.post(f"{URL}/batch", json=[], headers=headers), 422)
    assert_error(client.post(f"{URL}/batch", json=signal(), headers=headers), 422)
    assert_error(client.post(f"{URL}/batch", data="[{", headers=headers,
                             content_type="application/json"), 400, "malformed_json")
    assert_error(client.post(f"{URL}/batch", json=[signal()]), 401)
    assert_error(client.post(f"{URL}/batch", json=[signal()], headers=auth["approver"]), 403)
    assert client.get(URL, headers=headers).headers["X-Total-Count"] == "0"


def test_invalid_signals_name_their_fields(client, auth):
    headers = auth["caseworker"]
    error = assert_error(client.post(URL, json=signal(region_code="370827", kind="rumour",
                                                      occurred_at="2026-03-02T09:30:00",
                                                      details=["x"], source="", extra=1),
                                     headers=headers), 422, "validation_error")
    assert set(error["fields"]) == {"region_code", "kind", "occurred_at", "details", "source",
                                    "extra"}
    error = assert_error(client.post(URL, json=signal(details={"a": "x" * 70_000}), headers=headers),
                         422)
    assert list(error["fields"]) == ["details"]
    error = assert_error(client.post(URL, json=signal(source_id="a\x00b"), headers=headers), 422)
    assert list(error["fields"]) == ["source_id"]
    for missing in ("source", "source_id", "kind", "region_code"):
        body = signal()
        del body[missing]
        assert missing in assert_error(client.post(URL, json=body, headers=headers), 422)["fields"]


def test_the_household_must_be_in_your_region_and_the_signals_village(client, auth, svc):
    headers = auth["caseworker"]
    far = new_household(svc, FAR)
    assert_error(client.post(URL, json=signal(household_id=far), headers=headers), 404)
    elsewhere = new_household(svc, "370827101202")
    error = assert_error(client.post(URL, json=signal(household_id=elsewhere), headers=headers), 422)
    assert list(error["fields"]) == ["region_code"]
    assert client.get(URL, headers=headers).headers["X-Total-Count"] == "0"


def test_signals_are_seen_in_their_region_only(client, auth):
    own = client.post(URL, json=signal("R-1"), headers=auth["admin"]).get_json()
    far = client.post(URL, json=signal("R-2", region_code=FAR), headers=auth["admin"])
    assert_error(far, 403)  # admin of province 37 may not report in province 11
    other = client.post(URL, json=signal("R-3", region_code="370827102201"),
                        headers=auth.user("li")).get_json()
    assert_error(client.get(f"{URL}/{other['id']}", headers=auth["caseworker"]), 404)
    assert [s["id"] for s in client.get(URL, headers=auth["caseworker"]).get_json()] == [own["id"]]
    assert [s["id"] for s in client.get(URL, headers=auth.user("li")).get_json()] == [other["id"]]
    # the same source_id in a region the reporter cannot see is a conflict, not a reveal
    clash = client.post(URL, json=signal("R-3", region_code=VILLAGE), headers=auth["caseworker"])
    assert_error(clash, 409)
    assert "370827102201" not in clash.get_data(as_text=True)


def test_the_list_filters_by_status_and_kind(client, auth, svc):
    headers = auth["caseworker"]
    waiting = client.post(URL, json=signal("F-1"), headers=headers).get_json()
    deploy(svc, "discovery.bpmn")
    started = client.post(URL, json=signal("F-2", kind="village_report"), headers=headers).get_json()
    assert [s["id"] for s in client.get(f"{URL}?status=received", headers=headers).get_json()] == \
        [waiting["id"]]
    assert [s["id"] for s in client.get(f"{URL}?status=started", headers=headers).get_json()] == \
        [started["id"]]
    assert [s["id"] for s in client.get(f"{URL}?kind=village_report", headers=headers).get_json()] \
        == [started["id"]]
    assert [s["id"] for s in client.get(f"{URL}?limit=1&offset=1", headers=headers).get_json()] == \
        [waiting["id"]]
    assert_error(client.get(f"{URL}?status=lost", headers=headers), 422)


def test_id_numbers_in_details_are_masked(client, auth):
    number = idnumber.make("370827", __import__("datetime").date(1950, 5, 1), 321)
    body = client.post(URL, json=signal(details={"patient": number}), headers=auth["admin"]).get_json()
    assert number not in str(body) and body["details"]["patient"] == idnumber.mask(number)


def test_reading_and_reporting_need_a_token_and_a_role(client, auth):
    assert_error(client.post(URL, json=signal()), 401)
    assert_error(client.get(URL), 401)
    for role in ("committee", "designer", "approver", "supervisor"):
        assert_error(client.post(URL, json=signal(), headers=auth[role]), 403)
    assert_error(client.get(URL, headers=auth["committee"]), 403)
    assert_error(client.get(f"{URL}/1", headers=auth["designer"]), 403)
    assert_error(client.get(f"{URL}/999", headers=auth["caseworker"]), 404)


def test_an_implausible_time_is_refused_not_stored(client, auth):
    for when in ("0001-01-01T00:00:00+08:00", "9999-12-31T23:59:59-12:00"):
        error = assert_error(client.post(URL, json=signal(occurred_at=when), headers=auth["admin"]),
                             422)
        assert list(error["fields"]) == ["occurred_at"]
