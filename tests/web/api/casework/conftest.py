"""Fixtures for the signal, referral, fund, clock and migration tests.

The app here deploys nothing at start-up (an empty ``PROCESSES_DIR``): each test deploys the small
test processes of ``tests/web/api/bpmn`` it needs, so the closed-loop diagrams in ``processes/``
can change without moving these tests.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from engine.actors import SYSTEM
from engine.casework import funds, records
from engine.casework.types import Household
from engine.errors import NotFound
from tests.web.api.conftest import BPMN, VILLAGE, FakeAidPlugin, household
from web import create_app, services_of

FAR = "110101001001"  # a village of another province, outside every test user's region
TOWNSHIP = VILLAGE[:9]


@pytest.fixture
def app(database_url, tmp_path):
    empty = tmp_path / "no-processes"
    empty.mkdir()
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "SECRET_KEY": "t",
                      "PROCESSES_DIR": str(empty)})
    services_of(app).pm.register(FakeAidPlugin(), name="testaid")
    yield app
    services_of(app).close()


def deploy(services, name: str):
    """Deploy tests/web/api/bpmn/<name> as the system (designer rights)."""
    return services.engine.deploy((BPMN / name).read_bytes(), name, actor=SYSTEM)


def new_household(services, region: str = VILLAGE) -> int:
    with services.db.write() as session:
        return records.create_household(session, Household.from_dict(household(region)),
                                        actor=SYSTEM, now=services.clock.now())


def start(services, process: str, region: str = VILLAGE, data: dict | None = None):
    """Deploy ``<process>.bpmn`` if needed and start it for a new household of ``region``."""
    try:
        with services.db.read() as session:
            services.engine.definitions.latest(session, process)
    except NotFound:
        deploy(services, f"{process}.bpmn")
    return services.engine.start(process, actor=SYSTEM, region_code=region,
                                 household_id=new_household(services, region), data=data or {})


def new_fund(services, *, code: str, kind: str = "township_reserve", region: str = TOWNSHIP,
             balance: str | None = None) -> int:
    now = services.clock.now()
    with services.db.write() as session:
        fund = funds.create_fund(session, code=code, kind=kind, region_code=region, name=code)
        if balance is not None:
            funds.post(session, fund, "allocation", Decimal(balance), at=now, actor="system")
        return fund.id


@pytest.fixture
def svc(app):
    return services_of(app)
