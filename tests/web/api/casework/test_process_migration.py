"""Moving running cases to another version through the API: preview by default, then the move."""

from __future__ import annotations

import re

from engine.actors import SYSTEM
from tests.web.api.casework.conftest import FAR, start
from tests.web.api.conftest import BPMN, assert_error

URL = "/api/v1/processes/publicity/migrate"
V1 = (BPMN / "publicity.bpmn").read_bytes()
V2 = V1.replace(b'value="test.confirmation"', b'value="test.confirmation.v2"')
# version 3 goes from the start straight to the publicity: the investigation is gone
WITHOUT_INVESTIGATION = re.sub(rb'<bpmn:userTask id="investigate".*?</bpmn:userTask>', b"", V1,
                               flags=re.S) \
    .replace(b"<bpmn:flowNodeRef>investigate</bpmn:flowNodeRef>", b"") \
    .replace(b'targetRef="investigate"', b'targetRef="publicity_wait"') \
    .replace(b'<bpmn:sequenceFlow id="f2" sourceRef="investigate" targetRef="publicity_wait"/>', b"") \
    .replace(b"<bpmn:incoming>f2</bpmn:incoming>", b"<bpmn:incoming>f1</bpmn:incoming>")


def version_of(client, auth, case_id: int) -> int:
    return client.get(f"/api/v1/cases/{case_id}", headers=auth["admin"]).get_json()["process_version"]


def test_a_preview_changes_nothing_and_the_move_changes_the_version(client, auth, svc):
    case = start(svc, "publicity")
    svc.engine.deploy(V2, "publicity.bpmn", actor=SYSTEM)
    response = client.post(URL, json={"case_ids": [case.id], "to_version": 2},
                           headers=auth["designer"])
    assert response.status_code == 200, response.get_json()
    [preview] = response.get_json()
    assert (preview["case_id"], preview["from_version"], preview["to_version"]) == (case.id, 1, 2)
    assert preview["ok"] is True and preview["migrated"] is False and preview["blocking"] == []
    assert "investigate" in preview["current"] and "confirm" in preview["changed"]
    assert version_of(client, auth, case.id) == 1
    [moved] = client.post(URL, json={"case_ids": [case.id], "to_version": 2, "dry_run": False},
                          headers=auth["admin"]).get_json()
    assert moved["migrated"] is True and version_of(client, auth, case.id) == 2
    actions = [e["action"] for e in client.get(f"/api/v1/cases/{case.id}/events",
                                               headers=auth["admin"]).get_json()]
    assert "instance.migrated" in actions


def test_all_active_takes_the_running_cases_of_your_region_on_other_versions(client, auth, svc):
    first, second = start(svc, "publicity"), start(svc, "publicity")
    far = start(svc, "publicity", region=FAR)
    svc.engine.deploy(V2, "publicity.bpmn", actor=SYSTEM)
    newer = start(svc, "publicity")  # already on version 2
    previews = client.post(URL, json={"all_active": True, "to_version": 2, "dry_run": False},
                           headers=auth["designer"]).get_json()
    assert [p["case_id"] for p in previews] == [first.id, second.id]
    assert all(p["migrated"] for p in previews)
    assert version_of(client, auth, newer.id) == 2
    with svc.db.read() as session:
        from engine.workflow.models import ProcessInstance

        assert session.get(ProcessInstance, far.id).definition_id != \
            session.get(ProcessInstance, first.id).definition_id


def test_a_case_waiting_at_a_removed_step_is_blocked(client, auth, svc):
    case = start(svc, "publicity")
    svc.engine.deploy(WITHOUT_INVESTIGATION, "publicity.bpmn", actor=SYSTEM)
    [preview] = client.post(URL, json={"case_ids": [case.id], "to_version": 2, "dry_run": False},
                            headers=auth["admin"]).get_json()
    assert preview["ok"] is False and preview["migrated"] is False
    assert any("investigate" in reason for reason in preview["blocking"])
    assert version_of(client, auth, case.id) == 1


def test_migration_requests_are_checked_before_anything_moves(client, auth, svc):
    case = start(svc, "publicity")
    far = start(svc, "publicity", region=FAR)
    other = start(svc, "deadline")
    svc.engine.deploy(V2, "publicity.bpmn", actor=SYSTEM)
    headers = auth["designer"]
    for body in ({"to_version": 2}, {"case_ids": [case.id], "all_active": True, "to_version": 2},
                 {"case_ids": [], "to_version": 2}):
        error = assert_error(client.post(URL, json=body, headers=headers), 422)
        assert "case_ids" in error["fields"]
    error = assert_error(client.post(URL, json={"case_ids": [case.id], "to_version": 9},
                                     headers=headers), 422)
    assert list(error["fields"]) == ["to_version"]
    error = assert_error(client.post(URL, json={"case_ids": [case.id, other.id], "to_version": 2,
                                                "dry_run": False}, headers=headers), 422)
    assert list(error["fields"]) == ["case_ids"]
    error = assert_error(client.post(URL, json={"case_ids": [case.id], "to_version": "2",
                                                "force": True}, headers=headers), 422)
    assert set(error["fields"]) == {"to_version", "force"}
    assert_error(client.post(URL, json={"case_ids": [case.id, far.id], "to_version": 2,
                                        "dry_run": False}, headers=headers), 404)
    assert_error(client.post("/api/v1/processes/nothing/migrate",
                             json={"case_ids": [case.id], "to_version": 1}, headers=headers), 404)
    assert version_of(client, auth, case.id) == 1  # nothing moved by a refused request
    for role in ("caseworker", "approver", "supervisor", "assistant", "committee"):
        assert_error(client.post(URL, json={"case_ids": [case.id], "to_version": 2},
                                 headers=auth[role]), 403)
    assert_error(client.post(URL, json={"case_ids": [case.id], "to_version": 2}), 401)
