"""Designer pages: validation report (file, element, line), deploy, versions, diagrams."""

from __future__ import annotations

import base64
import io

from tests.web.pages.conftest import BPMN, csrf_of


def upload(client, name: str, data: bytes | None = None):
    token = csrf_of(client, "/designer/upload")
    payload = data if data is not None else (BPMN / name).read_bytes()
    return client.post("/designer/validate", data={"csrf_token": token, "file": (io.BytesIO(payload), name)},
                       content_type="multipart/form-data")


def test_a_broken_file_lists_every_problem_with_element_and_line(world, as_user):
    response = upload(as_user("design"), "broken.bpmn")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "发现 4 个问题" in page
    for element, line in (("f_big", 55), ("lane_county", 21), ("county_approve", 44)):
        assert f"<code>{element}</code>" in page
        assert f">{line}</td>" in page
    assert "部署为新版本" not in page


def test_unsafe_xml_is_refused_with_its_line(world, as_user):
    evil = b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>\n<x>&e;</x>'
    response = upload(as_user("design"), "evil.bpmn", evil)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "DOCTYPE" in page and "root:" not in page


def test_a_good_file_is_validated_then_deployed_as_a_new_version(world, as_user):
    client = as_user("design")
    response = upload(client, "relief.bpmn")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "校验通过" in page and 'data-element-id="intake"' in page  # preview
    token = csrf_of(client, "/designer/upload")
    content = base64.b64encode((BPMN / "relief.bpmn").read_bytes()).decode()
    deployed = client.post("/designer/deploy", data={"csrf_token": token, "filename": "relief.bpmn",
                                                     "content": content})
    assert deployed.status_code == 303
    assert deployed.headers["Location"] == "/designer/processes/relief_test/1"
    again = client.post("/designer/deploy", data={"csrf_token": token, "filename": "relief.bpmn",
                                                  "content": content})
    assert again.headers["Location"] == "/designer/processes/relief_test/1"  # same content: no new version
    listing = client.get("/designer/").get_data(as_text=True)
    assert "relief_test" in listing and "casework" in listing
    versions = client.get("/designer/processes/relief_test").get_data(as_text=True)
    assert "relief.bpmn" in versions
    version = client.get("/designer/processes/relief_test/1").get_data(as_text=True)
    assert 'id="svg-diagram"' in version
    xml = client.get("/designer/processes/relief_test/1/bpmn")
    assert xml.mimetype == "application/xml" and xml.data == (BPMN / "relief.bpmn").read_bytes()


def test_a_tampered_deploy_is_validated_again(world, as_user):
    client = as_user("design")
    token = csrf_of(client, "/designer/upload")
    content = base64.b64encode((BPMN / "broken.bpmn").read_bytes()).decode()
    response = client.post("/designer/deploy", data={"csrf_token": token, "filename": "broken.bpmn",
                                                     "content": content})
    assert response.status_code == 422
    assert "lane_county" in response.get_data(as_text=True)
    assert client.get("/designer/processes/relief_test").status_code == 404


def test_caseworkers_cannot_deploy(world, as_user):
    client = as_user("zhang")
    token = csrf_of(client, "/inbox")
    content = base64.b64encode((BPMN / "relief.bpmn").read_bytes()).decode()
    response = client.post("/designer/deploy", data={"csrf_token": token, "filename": "relief.bpmn",
                                                     "content": content})
    assert response.status_code == 403


def test_a_file_without_layout_is_drawn_by_the_server(world, as_user):
    page = as_user("design").get("/designer/processes/casework/1").get_data(as_text=True)
    assert 'data-laid-out="true"' in page
    assert 'id="bpmn-viewer"' not in page  # bpmn-js cannot draw a file without BPMNDI


def test_a_large_file_can_be_deployed(world, as_user):
    client = as_user("design")
    xml = (BPMN / "relief.bpmn").read_bytes().replace(
        b'<bpmn:laneSet', b"<bpmn:documentation>" + "说明".encode() * 150_000 + b"</bpmn:documentation><bpmn:laneSet", 1)
    assert len(xml) > 800_000
    assert upload(client, "big.bpmn", xml).status_code == 200
    token = csrf_of(client, "/designer/upload")
    deployed = client.post("/designer/deploy", data={"csrf_token": token, "filename": "big.bpmn",
                                                     "content": base64.b64encode(xml).decode()})
    assert deployed.status_code == 303


def test_the_browser_editor_opens_when_bpmn_js_is_installed(world, as_user):
    from web.pages.designer import vendor_files

    client = as_user("design")
    with world.app.test_request_context():
        installed = vendor_files()["modeler"]
    response = client.get("/designer/processes/casework/1/edit")
    if installed:
        assert response.status_code == 200
        assert "bpmn-modeler.production.min.js" in response.get_data(as_text=True)
    else:
        assert response.status_code == 303


def test_without_bpmn_js_the_pages_show_the_server_drawn_diagram(world, as_user, monkeypatch):
    from web.pages import designer

    monkeypatch.setattr(designer, "vendor_files", lambda: {"viewer": False, "modeler": False})
    client = as_user("design")
    page = client.get("/designer/processes/casework/1").get_data(as_text=True)
    assert "bpmn-viewer.production.min.js" not in page and "在浏览器中编辑" not in page
    assert 'id="svg-diagram"' in page and "<svg" in page
    assert client.get("/designer/processes/casework/1/edit").status_code == 303
