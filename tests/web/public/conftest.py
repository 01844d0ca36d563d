"""The public pages on the real app: the plugins from entry points, the processes in
``processes/``, the Jining demo data (regions, standards, users, households, contacts, policies),
and a fake clock (Monday 2026-03-02 10:00 Shanghai).  The world is built once and copied per test.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest

from engine.actors import Actor
from engine.casework import records
from engine.casework.types import Standard
from web import create_app, services_of
from web.demo import DEMO_PASSWORD, load_demo

VILLAGE = "370827101201"        # 城西村, 滨湖街道
TOWNSHIP = "370827101"
LIGE_VILLAGE = "370827102203"   # 李阁村, 李阁镇 (has its own 2025 standard below)
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = DEMO_PASSWORD
ADMIN = Actor("admin", "admin", "")

LIGE_2025 = Standard(region_code="370827102", valid_from=date(2025, 1, 1), dibao_urban=Decimal("990"),
                     dibao_rural=Decimal("760"), care_self=Decimal("180"), care_partial=Decimal("300"),
                     care_total=Decimal("600"), township_relief_limit=Decimal("3000"))


@dataclass
class Site:
    app: object
    services: object


def _app(url: str, clock):
    return create_app({"DATABASE_URL": url, "TESTING": True, "CLOCK": clock, "SECRET_KEY": "public-test",
                       "PUBLIC_BASE_URL": "https://jsj.example.cn"})


@pytest.fixture(scope="session")
def public_template(sqlite_template, tmp_path_factory):
    from engine.clock import FakeClock
    from tests.conftest import START

    path = tmp_path_factory.mktemp("public") / "public.db"
    path.write_bytes(sqlite_template.read_bytes())
    app = _app(f"sqlite:///{path}", FakeClock(START))
    svc = services_of(app)
    list(load_demo(svc))
    with svc.db.write() as s:
        records.add_standard(s, LIGE_2025, actor=ADMIN, now=svc.clock.now())
    svc.close()
    return path


@pytest.fixture
def site(public_template, clock, tmp_path) -> Site:
    path = tmp_path / "public.db"
    path.write_bytes(public_template.read_bytes())
    app = _app(f"sqlite:///{path}", clock)
    svc = services_of(app)
    yield Site(app, svc)
    svc.close()


@pytest.fixture
def app(site):
    return site.app


def csrf_of(client, path: str) -> str:
    match = CSRF.search(client.get(path).get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)
