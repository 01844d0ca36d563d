"""A case with a two-person household in 370827101201, and helpers to read issued PDFs back."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest

from engine.casework import idnumber, payments, records, regions
from engine.casework.types import Assessment, Household, Reason
from tests.engine.conftest import CASEWORKER, VILLAGE, deploy

HEAD_ID = idnumber.make("370827", date(1980, 1, 1), 123)
SPOUSE_ID = idnumber.make("370827", date(1982, 5, 6), 244)


def pdf_text(data: bytes) -> str:
    """The text of every page, with the renderer's line breaks taken out (Chinese has no spaces)."""
    from pypdf import PdfReader

    return "".join(page.extract_text().replace("\n", "") for page in PdfReader(io.BytesIO(data)).pages)


def household_dict() -> dict:
    return {"region_code": VILLAGE, "hukou": "rural", "members": [
        {"name": "韩进", "id_number": HEAD_ID, "relation": "head", "birth_date": "1980-01-01", "sex": "M",
         "disability": {"category": "physical", "grade": 3}, "critical_illness": True,
         "income": {"wages": "0", "business": "400", "property": "0", "transfer": "0"}},
        {"name": "李秀兰", "id_number": SPOUSE_ID, "relation": "spouse", "birth_date": "1982-05-06", "sex": "F",
         "income": {"wages": "0", "business": "0", "property": "0", "transfer": "0"}}]}


@pytest.fixture
def case(services, engine):
    """A casework case of the 韩进 household, with region names known and a dibao assessment."""
    deploy(engine, "casework.bpmn")
    now = services.clock.now()
    with services.db.write() as s:
        for code, name in (("370827", "金乡县"), ("370827101", "金乡街道"), (VILLAGE, "西关村")):
            regions.upsert(s, code, name)
        household_id = records.create_household(s, Household.from_dict(household_dict()), actor=CASEWORKER, now=now)
    view = engine.start("casework", actor=CASEWORKER, region_code=VILLAGE, household_id=household_id,
                        data={"people": [1], "income": "0"})
    with services.db.write() as s:
        records.record_assessment(
            s, household_id=household_id, instance_id=view.id, as_of=now.date(), actor=CASEWORKER, now=now,
            assessment=Assessment(programme="dibao", eligible=True, rule_version="test",
                                  monthly_amount=Decimal("1480"), covered_members=(0, 1),
                                  reasons=(Reason(code="dibao.income_below_standard",
                                                  message="家庭月人均收入200.00元，低于低保标准940.00元，符合低保收入条件。"),)))
    return view


def decide(services, case, decision: str, **kwargs):
    now = services.clock.now()
    with services.db.write() as s:
        row = payments.record_decision(s, instance_id=case.id, household_id=case.household_id, programme="dibao",
                                       decision=decision, at=now, actor="wang", decided_on=now.date(), **kwargs)
        return row.id
