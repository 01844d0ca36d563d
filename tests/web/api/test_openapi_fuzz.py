"""Schemathesis against /api/v1/openapi.json, in-process through the WSGI app (SQLite only).

Every operation, with generated valid and invalid input and an admin token: no 5xx, and every
answer (status, content type, body, headers) as the document says.
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (content_type_conformance,
                                               response_headers_conformance,
                                               response_schema_conformance,
                                               status_code_conformance)

from engine import accounts
from engine.actors import SYSTEM
from engine.casework import records
from engine.casework.types import Household, Standard
from tests.web.api.conftest import BPMN, STANDARD, VILLAGE, FakeAidPlugin, household
from web import create_app, services_of

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]


@pytest.fixture
def fuzz_app(sqlite_url):
    app = create_app({"DATABASE_URL": sqlite_url, "TESTING": True, "SECRET_KEY": "t"})
    services = services_of(app)
    services.pm.register(FakeAidPlugin(), name="testaid")
    now = services.clock.now()
    with services.db.write() as session:  # something for generated ids to find
        user = accounts.create_user(session, username="admin", password="secret-pass-1",
                                    role="admin", region="37", now=now)
        app.config["FUZZ_TOKEN"], _ = accounts.issue_token(session, user, now)
        records.add_standard(session, Standard.from_dict(STANDARD), actor=SYSTEM, now=now)
        household_id = records.create_household(session, Household.from_dict(household()),
                                                 actor=SYSTEM, now=now)
    services.engine.deploy((BPMN / "publicity.bpmn").read_bytes(), "publicity.bpmn")
    services.engine.start("publicity", actor=SYSTEM, region_code=VILLAGE, household_id=household_id)
    yield app
    services.close()


@pytest.fixture
def api_schema(fuzz_app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_app)


@pytest.fixture
def bearer(fuzz_app):
    return {"Authorization": f"Bearer {fuzz_app.config['FUZZ_TOKEN']}"}


# revoking the token would log the fuzzer out (the lazy schema's filters replace the fixture's)
schema = schemathesis.pytest.from_fixture("api_schema").exclude(method="DELETE",
                                                                path="/api/v1/auth/token")


@schema.parametrize()
@settings(max_examples=20, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_the_api_keeps_its_document(case, bearer):
    case.call_and_validate(headers=bearer, checks=CHECKS)
