from __future__ import annotations

from datetime import date

import pytest

from engine.casework import idnumber
from engine.casework.types import Household, Standard


@pytest.fixture
def standard() -> Standard:
    return Standard.from_dict({
        "region_code": "3708", "valid_from": "2022-01-01", "dibao_urban": "880",
        "dibao_rural": "700", "tekun_urban": "1144", "tekun_rural": "910", "care_self": "170",
        "care_partial": "290", "care_total": "580", "marginal_multiplier": "2.0",
        "township_relief_limit": "3000", "disposable_income_last_year": "30000"})


@pytest.fixture
def family():
    """Rural household of 3, income 6600 a month (y = 2200), a seriously ill son, 24 000 of
    medical costs in 12 months: not dibao (y after deduction 1533), not marginal (≥ 1400)."""
    def make(*, wages: str = "6600", medical: str = "24000", ill: bool = True) -> Household:
        def member(born: str, seq: int, **kw):
            number = idnumber.make("370827", date.fromisoformat(born), seq)
            return {"name": f"m{seq}", "id_number": number,
                    "relation": kw.pop("relation", "head"), "income": kw.pop("income", {}), **kw}
        return Household.from_dict({
            "region_code": "370827101201", "hukou": "rural",
            "members": [member("1980-01-01", 11, income={"wages": wages}),
                        member("1982-01-01", 22, relation="spouse"),
                        member("2010-01-01", 33, relation="son", critical_illness=ill)],
            "expenses_12m": {"medical": medical}})
    return make
