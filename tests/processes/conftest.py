"""The closed loop end to end: the engine with the real plugins and operations, the processes in
``processes/`` deployed as at start-up, the 2022 Jining standards, funds and households.

Every test that takes ``services`` runs four times: SQLite and PostgreSQL, each with the instance
cache on (``cached``) and off (``roundtrip`` — every step restores the workflow from its saved JSON).
Time is a ``FakeClock``; timers and statutory clocks fire by moving it, never by sleeping.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from engine import accounts, bootstrap
from engine.actors import Actor
from engine.casework import funds, idnumber, payments, records, referrals
from engine.casework.types import Household, Standard
from engine.workflow import sla
from engine.workflow.models import AuditEvent, ProcessInstance

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
PROCESS_KEYS = ("discovery", "notification", "emergency", "application", "referral", "deliberation",
                "review", "followup")
SHANGHAI = timezone(timedelta(hours=8))

# Regions (national division codes; the village codes are illustrative [A])
YUTAI = "370827"                  # 鱼台县
YUTAI_TOWN = "370827101"          # 滨湖街道
YUTAI_VILLAGE = "370827101201"    # 城西村
LIGE_VILLAGE = "370827102203"     # 李阁镇
RENCHENG_COMMUNITY = "370811001002"  # 任城区
LIANGSHAN_VILLAGE = "370832103204"   # 梁山县
JINXIANG_VILLAGE = "370828104205"    # 金乡县
CITY = "3708"                     # 济宁市

CITY_APPROVER = Actor("shi", "approver", CITY)
DESIGNER = Actor("design", "designer", "37")
ADMIN = Actor("admin", "admin", "")


def caseworker(region: str) -> Actor:
    return Actor(f"cw{region[:9]}", "caseworker", region[:9])


def assistant(region: str) -> Actor:
    return Actor(f"as{region}", "assistant", region)


def approver(region: str) -> Actor:
    return Actor(f"ap{region[:6]}", "approver", region[:6])


def supervisor(region: str, level: int = 9) -> Actor:
    return Actor(f"sv{region[:level]}", "supervisor", region[:level])


def at(text: str) -> datetime:
    """A Shanghai wall-clock time, e.g. ``at("2026-03-02 10:00")``."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


# ------------------------------------------------------------------------------- the world

STANDARD_2022 = Standard(
    region_code=CITY, valid_from=date(2022, 1, 1),
    dibao_urban=Decimal("880"), dibao_rural=Decimal("700"),
    tekun_urban=Decimal("1144"), tekun_rural=Decimal("910"),
    care_total=Decimal("580"), care_partial=Decimal("290"), care_self=Decimal("170"),
    marginal_multiplier=Decimal("2.0"), township_relief_limit=Decimal("3000"),
    county_relief_limit=Decimal("10000"),             # [A] city tier above it
    disposable_income_last_year=Decimal("30000"),     # [A] yearly per-capita figure
)

COMMITTEE = ("member_a", "member_b", "member_c", "member_d", "member_e")


def pytest_configure(config):
    config.addinivalue_line("markers", "programme_settings(overrides): PROGRAMME_SETTINGS for the engine")


@pytest.fixture(params=["cached", "roundtrip"])
def services(request, database_url, clock):
    marker = request.node.get_closest_marker("programme_settings")
    svc = bootstrap.build({"DATABASE_URL": database_url, "TESTING": True, "CLOCK": clock,
                           "INSTANCE_CACHE_SIZE": 0 if request.param == "roundtrip" else 64,
                           "PROGRAMME_SETTINGS": marker.args[0] if marker else {}})
    outcomes = bootstrap.deploy_processes(svc)
    assert sorted(o.definition.key for o in outcomes) == sorted(PROCESS_KEYS)
    _seed(svc)
    yield svc
    svc.close()


@pytest.fixture
def engine(services):
    return services.engine


def _seed(svc) -> None:
    now = svc.clock.now()
    with svc.db.write() as s:
        records.add_standard(s, STANDARD_2022, actor=ADMIN, now=now)
        for kind, region, amount in (
                ("township_reserve", YUTAI_TOWN, "50000"), ("township_reserve", LIGE_VILLAGE[:9], "50000"),
                ("township_reserve", RENCHENG_COMMUNITY[:9], "50000"),
                ("township_reserve", LIANGSHAN_VILLAGE[:9], "50000"),
                ("township_reserve", JINXIANG_VILLAGE[:9], "50000"),
                ("county_relief", YUTAI, "500000"), ("county_relief", JINXIANG_VILLAGE[:6], "500000"),
                ("county_relief", LIANGSHAN_VILLAGE[:6], "500000"),
                ("city_relief", CITY, "5000000"), ("charity_city", CITY, "1000000"),
                ("charity_county", YUTAI, "300000")):
            fund = funds.create_fund(s, code=f"{kind}-{region}", kind=kind, region_code=region,
                                     name=f"{kind} {region}")
            funds.post(s, fund, "allocation", Decimal(amount), at=now, actor="test")
        for username in COMMITTEE:
            accounts.create_user(s, username=username, password="committee-pass-1", role="committee",
                                 region=YUTAI, now=now, display_name=username.upper())


def member(name: str, relation: str, born: str, sex: str = "M", *, region: str = YUTAI, seq: int = 1,
           disability: dict | None = None, income: dict | None = None, **more: Any) -> dict:
    born_on = date.fromisoformat(born)
    sequence = seq * 10 + (1 if sex == "M" else 2)  # the 17th digit is odd for men, even for women
    data = {"name": name, "id_number": idnumber.make(region[:6], born_on, sequence), "relation": relation,
            "birth_date": born, "sex": sex, "disability": disability, "self_care_lost": 0,
            "can_work": True, "employed": False, "in_school": "none", "critical_illness": False,
            "income": {"wages": "0", "business": "0", "property": "0", "transfer": "0", **(income or {})}}
    data.update(more)
    return data


def household_data(region: str, hukou: str, members: list[dict], *, supporters=(), deposits="0",
                   medical="0", education="0", rehabilitation="0") -> dict:
    return {"region_code": region, "hukou": hukou, "hukou_region_code": region[:6], "members": members,
            "supporters": list(supporters), "assets": {"deposits": deposits, "vehicles": 0, "houses": 1},
            "expenses_12m": {"medical": medical, "education": education, "rehabilitation": rehabilitation}}


def create_household(services, data: dict) -> int:
    with services.db.write() as s:
        return records.create_household(s, Household.from_dict(data), actor=caseworker(data["region_code"]),
                                         now=services.clock.now())


def update_household(services, household_id: int, data: dict) -> None:
    with services.db.write() as s:
        records.update_household(s, household_id, Household.from_dict(data),
                                 actor=caseworker(data["region_code"]), now=services.clock.now())


def han_jin(region: str = YUTAI_VILLAGE) -> dict:
    """Scenario 1: 韩进, rural household of 4, bills over 50 000 [S4; A]."""
    return household_data(region, "rural", [
        member("韩进", "head", "1980-01-01", disability={"category": "physical", "grade": 3},
               income={"business": "400"}),
        member("妻", "spouse", "1982-05-05", "F", seq=2, can_work=False,
               disability={"category": "intellectual", "grade": 2}),
        member("长子", "son", "2010-03-03", seq=3, can_work=False, in_school="compulsory",
               disability={"category": "intellectual", "grade": 3}),
        member("次女", "daughter", "2013-04-04", "F", seq=4, can_work=False, in_school="compulsory",
               disability={"category": "intellectual", "grade": 4}),
    ], medical="50000")


def chenchen(region: str = LIGE_VILLAGE) -> dict:
    """Scenario 2: 辰辰's household of 4; income 3412, medical 28 800 in 12 months [A]."""
    return household_data(region, "rural", [
        member("父", "head", "1990-02-02", income={"wages": "3412"}),
        member("母", "spouse", "1991-03-03", "F", seq=2),
        member("辰辰", "son", "2019-01-01", seq=3, can_work=False),
        member("祖母", "mother", "1960-06-06", "F", seq=4, can_work=False),
    ], medical="28800")


def widow(region: str = YUTAI_VILLAGE) -> dict:
    """Scenario 6: a widow with 2 children, no cash."""
    return household_data(region, "rural", [
        member("王氏", "head", "1988-08-08", "F"),
        member("子", "son", "2014-09-09", seq=2, can_work=False, in_school="compulsory"),
        member("女", "daughter", "2017-10-10", "F", seq=3, can_work=False, in_school="compulsory"),
    ])


def fire_family(region: str = JINXIANG_VILLAGE) -> dict:
    """Scenario 5: rural household of 3 in 金乡, not on dibao (income well above the line)."""
    return household_data(region, "rural", [
        member("李某", "head", "1975-01-01", income={"wages": "2600"}),
        member("妻", "spouse", "1977-02-02", "F", seq=2, income={"wages": "1800"}),
        member("子", "son", "2008-03-03", seq=3, can_work=False, in_school="senior_high"),
    ])


def at_the_line(region: str = RENCHENG_COMMUNITY, income: str = "2640") -> dict:
    """Scenario 3: urban household of 3 in 任城 with income 2640 → y = 880 = S."""
    return household_data(region, "urban", [
        member("赵某", "head", "1985-01-01", income={"wages": income}),
        member("妻", "spouse", "1986-02-02", "F", seq=2),
        member("女", "daughter", "2015-03-03", "F", seq=3, can_work=False, in_school="compulsory"),
    ])


def liangshan_boy(region: str = LIANGSHAN_VILLAGE, in_school: str = "senior_high") -> dict:
    """Scenario 4: boy born 2005-06-10, both parents dead; grandmother 78 with 300 a month."""
    return household_data(region, "rural", [
        member("小刘", "head", "2005-06-10", orphan=True, in_school=in_school, can_work=False),
    ], supporters=[{"name": "祖母", "relation": "grandmother", "birth_date": "1944-01-01", "able": False,
                    "monthly_support": "0", "actually_paid": "0", "monthly_income": "300",
                    "property_within_limits": True}])


# ------------------------------------------------------------------------------- driving cases

@dataclass
class Case:
    """A thin helper around one case: its tasks, children, decisions, payments, escalations."""

    services: Any
    id: int
    actor: Actor

    @property
    def engine(self):
        return self.services.engine

    def view(self, actor: Actor | None = None):
        return self.engine.instance(self.id, actor or ADMIN)

    @property
    def data(self) -> dict:
        return self.view().data

    @property
    def status(self) -> str:
        return self.view().status

    def tasks(self) -> list:
        return self.view().open_tasks

    def task(self, bpmn_id: str):
        found = [t for t in self.tasks() if t.bpmn_id == bpmn_id]
        assert found, f"no open task {bpmn_id}; open: {[t.bpmn_id for t in self.tasks()]}"
        return found[0]

    def open_ids(self) -> list[str]:
        return sorted(t.bpmn_id for t in self.tasks())

    def complete(self, bpmn_id: str, actor: Actor, data: dict | None = None):
        task = self.task(bpmn_id)
        return self.engine.complete(task.id, actor, data or {})

    def children(self, process: str | None = None) -> list["Case"]:
        with self.services.db.read() as s:
            rows = s.execute(select(ProcessInstance).where(ProcessInstance.parent_id == self.id)
                             .order_by(ProcessInstance.id)).scalars().all()
            return [Case(self.services, r.id, self.actor) for r in rows
                    if process is None or r.process_key == process]

    @property
    def process(self) -> str:
        return self.view().process

    def decisions(self) -> list[dict]:
        with self.services.db.read() as s:
            return payments.decisions_of(s, self.id)

    def payments(self) -> list:
        with self.services.db.read() as s:
            views = payments.payments_of(s, self.id)
            kinds = {f.code: f.kind for f in s.execute(select(funds.Fund)).scalars()}
            return [(f"{p.amount:.2f}", p.status, kinds.get(p.fund), p.month) for p in views]

    def payment_views(self) -> list:
        with self.services.db.read() as s:
            return payments.payments_of(s, self.id)

    def referrals(self) -> list:
        with self.services.db.read() as s:
            return [(r.target, r.status, r.case_id) for r in referrals.referrals_of(s, self.id)]

    def escalations(self) -> list[tuple]:
        return [(e["level"], e["to_role"], e["to_region"]) for e in self.engine.escalations(self.id, ADMIN)]

    def clocks(self) -> list:
        with self.services.db.read() as s:
            return [(c.name, c.spec, c.status) for c in sla.clocks_of(s, self.id)]

    def audit(self) -> list[tuple[str, dict]]:
        with self.services.db.read() as s:
            return [(e.action, e.after) for e in s.execute(select(AuditEvent).where(
                AuditEvent.chain == f"case:{self.id}").order_by(AuditEvent.seq)).scalars()]


def start(services, process: str, household_id: int | None, region: str, data: dict | None = None,
          actor: Actor | None = None) -> Case:
    actor = actor or caseworker(region)
    view = services.engine.start(process, actor=actor, region_code=region, household_id=household_id,
                                 data=data or {})
    return Case(services, view.id, actor)


def case_of(services, case_id: int) -> Case:
    return Case(services, case_id, ADMIN)


def tick(services) -> None:
    """What the scheduler does on every wake: statutory clocks, then BPMN timers."""
    services.engine.check_slas()
    services.engine.fire_due_timers()


def move_to(services, clock, when: datetime) -> None:
    clock.set(when)
    tick(services)
