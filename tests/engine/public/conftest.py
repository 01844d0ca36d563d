"""The engine with the real processes (tests/processes/conftest.py) plus the regions the public
pages accept."""

from __future__ import annotations

import pytest

from engine.casework import regions
from tests.processes.conftest import LIGE_VILLAGE, YUTAI_VILLAGE, engine, services  # noqa: F401

REGIONS = {"370827": "鱼台县", "370827101": "滨湖街道", YUTAI_VILLAGE: "城西村",
           "370827102": "李阁镇", LIGE_VILLAGE: "李阁村"}


@pytest.fixture
def world(services):  # noqa: F811 - the imported fixture
    with services.db.write() as s:
        for code, name in REGIONS.items():
            regions.upsert(s, code, name)
    return services
