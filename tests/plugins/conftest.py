"""Fixtures for the programme plugins: the 2022 Jining standards (DOMAIN §7), a plugin manager
with the built-in programmes loaded from their entry points, settings, and a household builder."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from datetime import date
from typing import Any

import pytest

from engine.casework import idnumber
from engine.casework.types import Household, Standard
from engine.plugins import load_settings, make_plugin_manager

JINING_2022 = {
    "region_code": "3708", "valid_from": "2022-01-01",
    "dibao_urban": "880", "dibao_rural": "700", "tekun_urban": "1144", "tekun_rural": "910",
    "care_self": "170", "care_partial": "290", "care_total": "580",
    "marginal_multiplier": "2.0", "township_relief_limit": "3000",
    # [A] fixture value: last year's annual per-capita disposable income of residents.
    "disposable_income_last_year": "30000",
}


@pytest.fixture
def jining_2022() -> Standard:
    return Standard.from_dict(JINING_2022)


@pytest.fixture
def standard_with(jining_2022):
    """``standard_with(county_relief_limit=Decimal("10000"))`` → a modified copy."""
    return lambda **changes: replace(jining_2022, **changes)


@pytest.fixture(scope="session")
def pm():
    return make_plugin_manager()


@pytest.fixture(scope="session")
def settings(pm):
    return load_settings(pm)


@pytest.fixture
def settings_with(pm):
    """``settings_with({"tekun.minor_age_cap": 16})`` → defaults with those overrides."""
    return lambda overrides: load_settings(pm, overrides)


class Builder:
    """Valid households in the DESIGN.md JSON shape; a test spells out only what it cares about."""

    def __init__(self) -> None:
        self._sequence = 100

    def member(self, *, born: str = "1985-05-05", sex: str = "M", relation: str = "head",
               income: Mapping[str, str] | None = None, **fields: Any) -> dict[str, Any]:
        self._sequence += 2
        birth = date.fromisoformat(born)
        number = idnumber.make("370827", birth, self._sequence + (1 if sex == "M" else 0))
        return {"name": fields.pop("name", f"成员{self._sequence}"), "id_number": number,
                "relation": relation, "birth_date": born, "sex": sex,
                "income": dict(income or {}), **fields}

    def household(self, members: list[dict[str, Any]], *, hukou: str = "rural",
                  region_code: str = "370827101201", **fields: Any) -> Household:
        return Household.from_dict({"region_code": region_code, "hukou": hukou,
                                    "members": members, **fields})


@pytest.fixture
def build() -> Builder:
    return Builder()
