"""Bearer tokens: issue, use, revoke; every endpoint but the token one needs a valid token."""

from __future__ import annotations

import re

from sqlalchemy import select

from engine.workflow.models import AuditEvent
from tests.web.api.conftest import assert_error, login


def test_a_user_gets_a_bearer_token_for_the_right_password(client, auth):
    auth.make_user("zhang")
    response = login(client, "zhang")
    assert response.status_code == 200
    body = response.get_json()
    assert set(body) == {"access_token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer"
    assert isinstance(body["expires_in"], int) and body["expires_in"] > 0
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.get_json() == {"username": "zhang", "role": "caseworker", "region": "370827101"}


def test_a_wrong_password_or_unknown_user_is_401(client, auth):
    auth.make_user("zhang")
    assert_error(login(client, "zhang", "wrong-password"), 401, "unauthorized")
    assert_error(login(client, "nobody", "wrong-password"), 401, "unauthorized")


def test_the_token_request_needs_both_fields(client):
    error = assert_error(client.post("/api/v1/auth/token", json={"username": "zhang"}), 422)
    assert error["fields"] == {"password": ["Missing data for required field."]}


def test_a_malformed_token_request_is_400(client):
    response = client.post("/api/v1/auth/token", data="{not json",
                           content_type="application/json")
    assert_error(response, 400, "malformed_json")


def test_no_token_is_401_with_a_bearer_challenge(client):
    response = client.get("/api/v1/households")
    assert_error(response, 401, "unauthorized")
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_an_unknown_token_or_scheme_is_401(client):
    assert_error(client.get("/api/v1/tasks", headers={"Authorization": "Bearer nope"}), 401)
    assert_error(client.get("/api/v1/tasks", headers={"Authorization": "Basic eDp5"}), 401)


def test_a_revoked_token_no_longer_works(client, auth, services):
    headers = auth["caseworker"]
    response = client.delete("/api/v1/auth/token", headers=headers)
    assert response.status_code == 200 and response.get_json() == {"revoked": True}
    assert_error(client.get("/api/v1/auth/me", headers=headers), 401)
    with services.db.read() as session:
        actions = list(session.execute(select(AuditEvent.action).where(
            AuditEvent.chain == "user:zhang").order_by(AuditEvent.seq)).scalars())
    assert actions == ["user.token_issued", "user.token_revoked"]


def test_every_api_operation_but_the_token_one_refuses_no_token(app, client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if method == "parameters":
                continue
            url = re.sub(r"\{[^}]+\}", "1", path)  # every path parameter, whatever new routes call it
            response = client.open(url, method=method.upper(), json={})
            if operation.get("security") == []:
                assert response.status_code != 401, path
            else:
                assert_error(response, 401)
