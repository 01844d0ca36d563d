from __future__ import annotations

from pathlib import Path

import pytest

from engine import bootstrap
from engine.actors import Actor

BPMN = Path(__file__).parent / "bpmn"

CASEWORKER = Actor("zhang", "caseworker", "370827101")
OTHER_TOWNSHIP = Actor("li", "caseworker", "370827102")
APPROVER = Actor("wang", "approver", "370827")
DESIGNER = Actor("design", "designer", "37")
VILLAGE = "370827101201"


def _gap(params, data, ctx):
    """A stand-in service operation: the gap between 700 and the income, times the members."""
    from decimal import Decimal

    income = Decimal(str(params["income"]))
    return {"monthly_amount": str((Decimal("700") - income) * int(params["members"]))}


@pytest.fixture(params=["cached", "roundtrip"])
def services(request, database_url, clock):
    """The engine on each database, with its instance cache on and off.

    With the cache off every operation restores the workflow from its saved JSON: each workflow
    test therefore also runs through a save/restore round trip.
    """
    svc = bootstrap.build({"DATABASE_URL": database_url, "TESTING": True, "CLOCK": clock,
                           "INSTANCE_CACHE_SIZE": 0 if request.param == "roundtrip" else 64})
    svc.services.register("test.gap", _gap)
    yield svc
    svc.close()


@pytest.fixture
def engine(services):
    return services.engine


def deploy(engine, name: str):
    return engine.deploy((BPMN / name).read_bytes(), name, actor=DESIGNER)
