"""A small county for the payment cycle: households with accounts, a fund, and a way to decide."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest

from engine import bootstrap
from engine.actors import Actor
from engine.casework import funds, idnumber, records
from engine.casework.types import Household
from engine.workflow.engine import StepContext
from engine.workflow.models import ProcessInstance

BPMN = Path(__file__).resolve().parents[1] / "bpmn"
COUNTY = "370827"
VILLAGE = "370827101201"
CASEWORKER = Actor("zhang", "caseworker", "370827101")
CLERK = Actor("clerk", "caseworker", COUNTY)      # drafts the county's batch (制单)
APPROVER = Actor("wang", "approver", COUNTY)      # approves and locks it (审核)
DESIGNER = Actor("design", "designer", "37")


def household(i: int, size: int = 2) -> dict:
    members = []
    for k in range(size):
        born = date(1970 + k * 20, 1 + i % 12, 1 + k)
        members.append({"name": f"户{i}成员{k}", "id_number": idnumber.make(COUNTY, born, 100 + 2 * i + (1 - k % 2)),
                        "relation": "head" if k == 0 else "son", "birth_date": born.isoformat(),
                        "sex": "M" if k % 2 == 0 else "F", "disability": None, "self_care_lost": 0,
                        "can_work": True, "employed": False, "in_school": "none", "critical_illness": False,
                        "income": {"wages": "0", "business": "0", "property": "0", "transfer": "0"}})
    return {"region_code": VILLAGE, "hukou": "rural", "hukou_region_code": COUNTY, "members": members,
            "supporters": [], "assets": {"deposits": "0", "vehicles": 0, "houses": 1},
            "expenses_12m": {"medical": "0", "education": "0", "rehabilitation": "0"}}


@dataclass
class County:
    services: object
    clock: object
    fund_id: int

    def now(self) -> datetime:
        return self.clock.now()

    def set_date(self, day: str) -> None:
        """Move the clock to 10:00 Shanghai on ``day`` (YYYY-MM-DD)."""
        y, m, d = (int(x) for x in day.split("-"))
        self.clock.set(datetime(y, m, d, 2, 0, tzinfo=timezone.utc))

    def add_household(self, i: int, *, account: bool = True) -> int:
        data = household(i)
        with self.services.db.write() as s:
            hid = records.create_household(s, Household.from_dict(data), actor=CASEWORKER, now=self.now())
            if account:
                records.set_bank_account(s, hid, {"bank": "鱼台农商银行", "account_no": f"62231000{i:010d}",
                                                  "holder": data["members"][0]["name"]},
                                         actor=CASEWORKER, now=self.now())
        return hid

    def case(self, household_id: int) -> int:
        engine = self.services.engine
        return engine.start("casework", actor=CASEWORKER, region_code=VILLAGE, household_id=household_id,
                            data={"people": [1], "income": "0"}).id

    def decide(self, case_id: int, params: dict, data: dict | None = None) -> dict:
        """Record a decision through the engine operation ``case.decide``, as a process would."""
        with self.services.db.write() as s:
            ctx = StepContext(s, s.get(ProcessInstance, case_id), APPROVER, self.now())
            ctx.element_id = "decide"
            return self.services.services.get("case.decide")(params, data or {}, ctx)


@pytest.fixture
def county(database_url, clock):
    services = bootstrap.build({"DATABASE_URL": database_url, "TESTING": True, "CLOCK": clock})
    services.services.register("test.gap", lambda params, data, ctx: {"monthly_amount": "0"})
    services.engine.deploy((BPMN / "casework.bpmn").read_bytes(), "casework.bpmn", actor=DESIGNER)
    with services.db.write() as s:
        fund = funds.create_fund(s, code="county-370827", kind="county_relief", region_code=COUNTY, name="县社会救助资金")
        funds.post(s, fund, "allocation", Decimal("1000000"), at=clock.now(), actor="test")
        fund_id = fund.id
    yield County(services, clock, fund_id)
    services.close()
