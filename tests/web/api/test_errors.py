"""One error shape everywhere, one status table, never a 500 for bad input."""

from __future__ import annotations

import pytest

from engine.errors import (Conflict, DefinitionError, ExpressionError, NotAllowed, NotFound,
                           Problem, TaskNotFound, ValidationError, WorkflowError)
from web import create_app, services_of
from web.api import errors
from tests.web.api.conftest import assert_error, household


@pytest.mark.parametrize(("exc", "status", "code"), [
    (ValidationError("bad", {"a": ["x"]}), 422, "validation_error"),
    (DefinitionError(Problem("f.bpmn", "broken", "task_1", 7)), 422, "invalid_definition"),
    (ExpressionError("refused", element_id="gw"), 422, "invalid_expression"),
    (WorkflowError("script failed", element_id="s"), 422, "workflow_error"),
    (NotFound("gone"), 404, "not_found"),
    (TaskNotFound("gone"), 404, "task_not_found"),
    (NotAllowed("no"), 403, "not_allowed"),
    (Conflict("taken"), 409, "conflict"),
])
def test_each_engine_error_has_one_status(app, exc, status, code):
    with app.test_request_context("/api/v1/x"):
        response = errors.handle_engine_error(exc)
    assert response.status_code == status
    assert response.get_json()["error"]["code"] == code


def test_a_definition_error_lists_file_element_and_line(app):
    with app.test_request_context("/api/v1/x"):
        body = errors.handle_engine_error(
            DefinitionError(Problem("f.bpmn", "broken", "task_1", 7))).get_json()
    assert body["error"]["problems"] == [{"file": "f.bpmn", "element": "task_1", "line": 7,
                                          "message": "broken"}]
    assert body["error"]["fields"] == {"file": ["f.bpmn:7 [task_1]: broken"]}


def test_an_unknown_api_path_is_a_json_404(client):
    assert_error(client.get("/api/v1/no-such-thing"), 404, "not_found")
    assert_error(client.get("/api/v1"), 404, "not_found")
    assert_error(client.post("/api/v1/households/1/nothing", json={}), 404)


def test_a_wrong_method_is_a_json_405_with_allow(client, auth):
    response = client.patch("/api/v1/households", headers=auth["caseworker"])
    assert_error(response, 405, "method_not_allowed")
    assert "POST" in response.headers["Allow"]


def test_an_id_too_large_for_the_database_is_simply_not_found(client, auth):
    assert_error(client.get("/api/v1/households/99999999999999999999999",
                            headers=auth["caseworker"]), 404)
    assert_error(client.get("/api/v1/households/999999999999999999",
                            headers=auth["caseworker"]), 404)


def test_malformed_json_is_400(client, auth):
    response = client.post("/api/v1/households", data='{"region_code": ',
                           content_type="application/json", headers=auth["caseworker"])
    assert_error(response, 400, "malformed_json")
    response = client.post("/api/v1/households", data="NaN", content_type="application/json",
                           headers=auth["caseworker"])
    assert_error(response, 400, "malformed_json")
    response = client.post("/api/v1/households", data="", headers=auth["caseworker"])
    assert_error(response, 400, "malformed_json")


def test_json_that_is_not_an_object_is_422(client, auth):
    error = assert_error(client.post("/api/v1/households", json=[1, 2],
                                     headers=auth["caseworker"]), 422)
    assert error["fields"] == {"_schema": ["must be a JSON object"]}


def test_deeply_nested_json_is_refused_not_crashed(client, auth):
    deep = "[" * 100_000 + "]" * 100_000
    assert_error(client.post("/api/v1/cases", data=deep, content_type="application/json",
                             headers=auth["caseworker"]), 400)
    nested = '{"process": "x", "household_id": 1, "data": ' + '{"a": ' * 40 + "1" + "}" * 41
    assert_error(client.post("/api/v1/cases", data=nested, content_type="application/json",
                             headers=auth["caseworker"]), 422)


def test_a_too_large_body_is_413(client, auth):
    big = {**household(), "padding": "x" * (1024 * 1024)}
    assert_error(client.post("/api/v1/households", json=big, headers=auth["caseworker"]),
                 413, "too_large")
    upload = b"<x/>" * (3 * 1024 * 1024)  # over the app's 8 MiB request limit
    import io
    response = client.post("/api/v1/processes", data={"file": (io.BytesIO(upload), "big.bpmn")},
                           content_type="multipart/form-data", headers=auth["designer"])
    assert_error(response, 413, "too_large")


def test_bad_query_parameters_are_422_with_fields(client, auth):
    error = assert_error(client.get("/api/v1/tasks?limit=0", headers=auth["caseworker"]), 422)
    assert "limit" in error["fields"]
    error = assert_error(client.get("/api/v1/households?offset=-1",
                                    headers=auth["caseworker"]), 422)
    assert "offset" in error["fields"]


def test_html_pages_outside_the_api_keep_their_own_errors(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert not (response.is_json and "error" in (response.get_json() or {}))


def test_the_openapi_document_and_a_self_contained_docs_page(client):
    spec = client.get("/api/v1/openapi.json")
    assert spec.status_code == 200
    document = spec.get_json()
    assert document["openapi"].startswith("3.")
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "/api/v1/cases/{case_id}/events" in document["paths"]
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    text = page.get_data(as_text=True)
    assert "openapi.json" in text
    assert "http://" not in text and "https://" not in text  # nothing from a CDN


def test_the_test_clock_exists_only_under_testing(sqlite_url):
    app = create_app({"DATABASE_URL": sqlite_url, "TESTING": False, "SCHEDULER_ENABLED": False,
                      "SECRET_KEY": "t"})
    try:
        client = app.test_client()
        assert not any(rule.rule.startswith("/api/v1/_test") for rule in app.url_map.iter_rules())
        assert_error(client.post("/api/v1/_test/clock", json={"advance_seconds": 60}), 404)
        assert "/api/v1/_test/clock" not in client.get("/api/v1/openapi.json").get_json()["paths"]
    finally:
        services_of(app).close()
