"""Schemathesis on the signal, referral, fund, clock, retry and migration operations (SQLite).

The whole-document run (test_openapi_fuzz.py) covers these paths too; this one seeds the objects
their generated ids can find — a fund with money and a charity fund, a signal, an open slip, a case
with a running statutory clock — and gives them more examples.  No 5xx, and every answer as the
document says.
"""

from __future__ import annotations

from decimal import Decimal

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
from engine.casework import funds, records, referrals, signals
from engine.casework.types import Household, Standard
from tests.web.api.conftest import BPMN, STANDARD, VILLAGE, household
from web import create_app, services_of

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]
PATHS = r"^/api/v1/(signals|referrals|funds|processes/\{key\}/migrate|cases/\{case_id\}/(clock|retry))"


@pytest.fixture
def casework_app(sqlite_url, tmp_path):
    empty = tmp_path / "no-processes"
    empty.mkdir()
    app = create_app({"DATABASE_URL": sqlite_url, "TESTING": True, "SECRET_KEY": "t",
                      "PROCESSES_DIR": str(empty)})
    services = services_of(app)
    now = services.clock.now()
    with services.db.write() as session:
        user = accounts.create_user(session, username="admin", password="secret-pass-1",
                                    role="admin", region="37", now=now)
        app.config["FUZZ_TOKEN"], _ = accounts.issue_token(session, user, now)
        records.add_standard(session, Standard.from_dict(STANDARD), actor=SYSTEM, now=now)
        household_id = records.create_household(session, Household.from_dict(household()),
                                                actor=SYSTEM, now=now)
    for name in ("deadline.bpmn", "discovery.bpmn", "referral.bpmn", "publicity.bpmn"):
        services.engine.deploy((BPMN / name).read_bytes(), name, actor=SYSTEM)
    case = services.engine.start("deadline", actor=SYSTEM, region_code=VILLAGE,
                                 household_id=household_id)
    signals.receive(services.db, services.engine, signals.SignalIn(
        source="12345", source_id="1", kind="hotline_12345", region_code=VILLAGE),
        actor=SYSTEM, now=now)
    with services.db.write() as session:
        reserve = funds.create_fund(session, code="reserve", kind="township_reserve",
                                    region_code=VILLAGE[:9], name="备用金")
        funds.post(session, reserve, "allocation", Decimal("1000"), at=now, actor="system")
        funds.create_fund(session, code="charity", kind="charity_village", region_code=VILLAGE,
                          name="村级慈善基金")
        referrals.create_referral(session, instance_id=case.id, household_id=household_id,
                                  region_code=VILLAGE, target="housing", reason="危房", due_at=now,
                                  at=now, actor="system")
    yield app
    services.close()


@pytest.fixture
def casework_schema(casework_app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", casework_app)


@pytest.fixture
def admin_bearer(casework_app):
    return {"Authorization": f"Bearer {casework_app.config['FUZZ_TOKEN']}"}


schema = schemathesis.pytest.from_fixture("casework_schema").include(path_regex=PATHS)


@schema.parametrize()
@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_the_casework_operations_keep_the_document(case, admin_bearer):
    case.call_and_validate(headers=admin_bearer, checks=CHECKS)
