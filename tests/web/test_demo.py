"""`jishijiu demo` loads users, standards, funds and households once, and they work together."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from engine import accounts, bootstrap
from engine.casework import funds, records
from engine.casework.models import HouseholdRow
from web.demo import load_demo


def test_the_demo_loads_once_and_picks_the_2022_city_standard_for_2023(sqlite_url):
    services = bootstrap.build({"DATABASE_URL": sqlite_url, "TESTING": True})
    first = list(load_demo(services))
    assert any(line.startswith("household") for line in first)
    assert list(load_demo(services)) == []  # idempotent
    with services.db.read() as s:
        standard = records.standard_for(s, "370827101201", date(2023, 3, 1))
        assert (standard.region_code, standard.dibao_rural) == ("3708", Decimal("700.00"))
        assert records.standard_for(s, "370827101201", date(2021, 3, 1)).dibao_rural == Decimal("445.00")
        assert s.execute(select(func.count(HouseholdRow.id))).scalar() == 3
        reserve = funds.resolve(s, "township_reserve", "370827101201")
        assert reserve.balance == Decimal("50000.00")
        assert accounts.authenticate(s, "caseworker", "jishijiu-demo", services.clock.now()) is not None
    services.close()
