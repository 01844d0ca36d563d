"""Process definitions: deploy by multipart upload (designers), list, versions, problems as 422."""

from __future__ import annotations

import io

from tests.web.api.conftest import BPMN, assert_error


def upload(client, headers, data: bytes, name: str = "publicity.bpmn"):
    return client.post("/api/v1/processes", data={"file": (io.BytesIO(data), name)},
                       content_type="multipart/form-data", headers=headers)


def test_a_designer_deploys_a_new_version_and_an_unchanged_file_deploys_nothing(client, auth):
    xml = (BPMN / "publicity.bpmn").read_bytes()
    first = upload(client, auth["designer"], xml)
    assert first.status_code == 201
    body = first.get_json()
    assert (body["key"], body["version"], body["created"]) == ("publicity", 1, True)
    assert body["deployed_by"] == "design" and len(body["sha256"]) == 64
    again = upload(client, auth["designer"], xml)
    assert again.status_code == 200 and again.get_json()["created"] is False
    changed = upload(client, auth["admin"], xml.replace("入户调查".encode(), "入户核查".encode()))
    assert changed.status_code == 201 and changed.get_json()["version"] == 2
    versions = client.get("/api/v1/processes/publicity/versions", headers=auth["caseworker"])
    assert [v["version"] for v in versions.get_json()] == [1, 2]
    listed = {p["key"]: p for p in client.get("/api/v1/processes", headers=auth["caseworker"]).get_json()}
    latest = listed["publicity"]  # beside the closed-loop processes deployed at start-up
    assert latest["version"] == 2 and latest["deployed_at"].endswith("+08:00")


def test_only_designers_and_admins_deploy(client, auth):
    xml = (BPMN / "publicity.bpmn").read_bytes()
    for role in ("caseworker", "approver", "supervisor", "assistant"):
        assert_error(upload(client, auth[role], xml), 403, "not_allowed")


def test_a_broken_file_is_422_listing_file_element_and_line(client, auth):
    xml = (BPMN / "publicity.bpmn").read_bytes().replace(b'value="caseworker"', b'value="boss"')
    error = assert_error(upload(client, auth["designer"], xml, "broken.bpmn"), 422,
                         "invalid_definition")
    assert error["problems"] and error["problems"][0]["file"] == "broken.bpmn"
    assert {"file", "element", "line", "message"} <= set(error["problems"][0])
    assert "file" in error["fields"]


def test_a_doctype_is_refused_naming_the_file(client, auth):
    evil = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>'
    error = assert_error(upload(client, auth["designer"], evil, "evil.bpmn"), 422)
    assert "evil.bpmn" in error["message"]
    assert "root:" not in error["message"]


def test_the_upload_needs_a_file(client, auth):
    error = assert_error(client.post("/api/v1/processes", data={}, headers=auth["designer"],
                                     content_type="multipart/form-data"), 422)
    assert "file" in error["fields"]
    assert_error(upload(client, auth["designer"], b""), 422)


def test_versions_of_an_unknown_process_are_404(client, auth):
    assert_error(client.get("/api/v1/processes/nothing/versions", headers=auth["designer"]), 404)
