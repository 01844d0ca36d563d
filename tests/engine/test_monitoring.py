"""The monthly review run (在保必核): set-based comparison of the roll with the month's feeds,
one result per household, one investigation case per flagged household — and never a second one.

A generated population of 300 households on the roll; six of them changed in known ways, plus noise
that must not flag anyone (exempt vehicle kinds, resident pension contributions, a small hospital
bill, another month's death, people not on the roll, a stopped and a suspended recipient).
Runs on SQLite and PostgreSQL (``database_url``).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from engine import bootstrap
from engine.actors import Actor
from engine.casework import idnumber, monitoring, records
from engine.casework.types import Household, Standard
from engine.workflow.models import HumanTask, ProcessInstance

PROCESSES = Path(__file__).resolve().parents[2] / "processes"
VILLAGES = ("370827101201", "370827102203")
CASEWORKER = Actor("cw", "caseworker", "370827")
ADMIN = Actor("admin", "admin", "")
DESIGNER = Actor("design", "designer", "37")
MONTH = "2026-02"
N = 300

STANDARD = Standard(
    region_code="3708", valid_from=date(2022, 1, 1), dibao_urban=Decimal("880"), dibao_rural=Decimal("700"),
    tekun_urban=Decimal("1144"), tekun_rural=Decimal("910"), care_total=Decimal("580"),
    care_partial=Decimal("290"), care_self=Decimal("170"), marginal_multiplier=Decimal("2.0"),
    township_relief_limit=Decimal("3000"), county_relief_limit=Decimal("10000"),
    disposable_income_last_year=Decimal("30000"))


def person(i: int, k: int, region: str) -> dict:
    """Member ``k`` of household ``i``: a valid, unique ID number."""
    born = date(1950, 1, 1) + timedelta(days=97 * i + 3650 * k)
    sex = "M" if k % 2 == 0 else "F"
    sequence = (i % 400) * 2 + (1 if sex == "M" else 0) + 100
    return {"name": f"成员{i}-{k}", "id_number": idnumber.make(region[:6], born, sequence),
            "relation": "head" if k == 0 else "son" if sex == "M" else "daughter",
            "birth_date": born.isoformat(), "sex": sex, "disability": None, "self_care_lost": 0,
            "can_work": k == 0, "employed": False, "in_school": "none", "critical_illness": False,
            "income": {"wages": "0", "business": "0", "property": "0", "transfer": "0"}}


def household(i: int) -> dict:
    region = VILLAGES[i % 2]
    size = 1 + i % 4
    return {"region_code": region, "hukou": "rural", "hukou_region_code": region[:6],
            "members": [person(i, k, region) for k in range(size)], "supporters": [],
            "assets": {"deposits": "0", "vehicles": 0, "houses": 1},
            "expenses_12m": {"medical": "0", "education": "0", "rehabilitation": "0"}}


@dataclass
class World:
    services: object
    ids: list[int]           # household ids by index
    people: dict[int, list[str]]  # index -> ID numbers

    def hh(self, i: int) -> int:
        return self.ids[i]


# index of each household with a known story
A_DEATH, B_CAR_AND_BILLS, C_PROPERTY, D_EMPLOYED, E_BUSINESS, F_BILLS = 10, 20, 30, 40, 50, 60
G_MOTORCYCLE, H_SMALL_BILL, I_STOPPED, J_LAST_MONTH, K_SUSPENDED, L_NEW_MEMBER = 70, 80, 90, 100, 110, 120
FLAGGED = {A_DEATH: (["death"], "investigate"),
           B_CAR_AND_BILLS: (["vehicle_registered", "hospital_bills"], "investigate"),
           C_PROPERTY: (["property_registered"], "investigate"),
           D_EMPLOYED: (["employment"], "investigate"),
           E_BUSINESS: (["business_registered"], "investigate"),
           F_BILLS: (["hospital_bills"], "warn")}


def build_world(database_url, clock, *, deploy=True, config=None) -> World:
    services = bootstrap.build({"DATABASE_URL": database_url, "TESTING": True, "CLOCK": clock, **(config or {})})
    if deploy:
        services.engine.deploy((PROCESSES / "review.bpmn").read_bytes(), "review.bpmn", actor=DESIGNER)
    now = clock.now()
    ids, people = [], {}
    with services.db.write() as s:
        records.add_standard(s, STANDARD, actor=ADMIN, now=now)
        for i in range(N):
            data = household(i)
            hid = records.create_household(s, Household.from_dict(data), actor=CASEWORKER, now=now)
            ids.append(hid)
            people[i] = [m["id_number"] for m in data["members"]]
            status = "stopped" if i == I_STOPPED else "suspended" if i == K_SUSPENDED else "active"
            programme = "tekun" if i % 7 == 3 else "dibao"
            monitoring.enrol(s, household_id=hid, programme=programme, region_code=data["region_code"],
                             monthly_amount=Decimal("500") + i, since=date(2024, 1, 1), status=status)
    world = World(services, ids, people)
    feeds(world)
    return world


def feeds(world: World) -> None:
    p, svc = world.people, world.services
    stranger = idnumber.make("370827", date(1977, 7, 7), 555)
    rows = {
        "deaths": [{"id_number": p[A_DEATH][0]}, {"id_number": p[I_STOPPED][0]}, {"id_number": stranger}],
        "vehicles": [{"id_number": p[B_CAR_AND_BILLS][0], "kind": "car", "amount": "68000", "plate": "鲁H·12345"},
                     {"id_number": p[G_MOTORCYCLE][0], "kind": "motorcycle", "amount": "4000"},
                     {"id_number": p[K_SUSPENDED][0], "kind": "car", "amount": "90000"}],
        "property": [{"id_number": p[C_PROPERTY][-1], "kind": "house", "amount": "320000"}],
        "social_insurance": [{"id_number": p[D_EMPLOYED][0], "kind": "employee", "amount": "3800"}]
        + [{"id_number": p[i][0], "kind": "resident", "amount": "200"} for i in range(0, N, 3)
           if i not in FLAGGED],
        # business registration arrives already matched to its household (no member lookup)
        "business_registration": [{"id_hash": monitoring.id_hash(p[E_BUSINESS][0]),
                                   "household_id": world.hh(E_BUSINESS), "name": "鱼台县某某商店"}],
        "hospital_bills": [{"id_number": p[B_CAR_AND_BILLS][0], "amount": "15000"},
                           {"id_number": p[F_BILLS][0], "amount": "7000.50"},
                           {"id_number": p[F_BILLS][-1], "amount": "5000"},
                           {"id_number": p[H_SMALL_BILL][0], "amount": "3000"}],
        "tax": [{"id_number": p[i][0], "amount": "0"} for i in range(5, N, 11)],
        "housing_fund": [{"id_number": "not-an-id"}],   # rejected
    }
    for feed, items in rows.items():
        monitoring.import_feed(svc, feed, MONTH, items, source="test")
    monitoring.import_feed(svc, "deaths", "2026-01", [{"id_number": p[J_LAST_MONTH][0]}], source="test")


@pytest.fixture
def world(database_url, clock):
    w = build_world(database_url, clock)
    yield w
    w.services.close()


def results_of(services, run_id) -> dict[int, monitoring.ReviewResult]:
    return {r.household_id: r for r in monitoring.results(services, run_id, flagged_only=False)}


def review_cases(services) -> list[ProcessInstance]:
    with services.db.read() as s:
        return list(s.execute(select(ProcessInstance).where(ProcessInstance.process_key == "review")
                              .order_by(ProcessInstance.household_id)).scalars())


def test_exactly_the_changed_households_are_flagged_and_investigated_once(world):
    svc = world.services
    calls = []
    run = monitoring.run_monthly_review(svc, MONTH, progress=lambda *a: calls.append(a), batch=64)

    assert (run.status, run.compared, run.flagged, run.opened) == ("completed", N - 2, 6, 5)
    got = results_of(svc, run.id)
    assert len(got) == N - 2                                          # one result per active household
    assert world.hh(I_STOPPED) not in got and world.hh(K_SUSPENDED) not in got
    flagged = {hid: (list(r.flags), r.action) for hid, r in got.items() if r.action != "none"}
    assert flagged == {world.hh(i): v for i, v in FLAGGED.items()}
    assert all(r.flags == () for r in got.values() if r.action == "none")

    cases = review_cases(svc)
    investigate = sorted(world.hh(i) for i, (_, a) in FLAGGED.items() if a == "investigate")
    assert [c.household_id for c in cases] == investigate
    for case in cases:
        assert case.business_key == f"review:{MONTH}:{case.household_id}"
        assert got[case.household_id].case_id == case.id and got[case.household_id].note == "opened"
        view = svc.engine.instance(case.id, ADMIN)
        assert view.data["flags"] == list(got[case.household_id].flags)
        assert [t.bpmn_id for t in view.open_tasks] == ["investigate"]
    assert got[world.hh(F_BILLS)].case_id is None                     # a warning opens no case

    phases = {c[0] for c in calls}
    assert phases == {"index", "compare", "record", "open"}
    assert ("record", N - 2, N - 2) in calls and ("open", 5, 5) in calls
    assert ("index", 0, 0) in calls             # the feed imports indexed everyone not stopped already

    again = monitoring.run_monthly_review(svc, MONTH)                 # idempotent per month
    assert (again.compared, again.flagged, again.opened) == (N - 2, 6, 0)
    assert len(review_cases(svc)) == 5
    second = results_of(svc, again.id)
    assert {h: (r.case_id, r.note) for h, r in second.items() if r.case_id} == {
        h: (got[h].case_id, "already_opened") for h in investigate}
    with svc.db.read() as s:
        tasks = s.execute(select(func.count()).select_from(HumanTask).where(HumanTask.status == "open")).scalar()
    assert tasks == 5


def test_cases_open_in_parallel_worker_processes_just_the_same(world):
    svc = world.services
    run = monitoring.run_monthly_review(svc, MONTH, workers=2, cases_per_transaction=1)
    assert (run.flagged, run.opened) == (6, 5)
    cases = review_cases(svc)
    got = results_of(svc, run.id)
    assert sorted((c.household_id, c.id) for c in cases) == sorted(
        (h, r.case_id) for h, r in got.items() if r.case_id is not None)
    assert {r.note for r in got.values() if r.case_id} == {"opened"}
    assert monitoring.run_monthly_review(svc, MONTH, workers=2, cases_per_transaction=1).opened == 0


def test_feeds_hold_no_id_numbers(world):
    with world.services.db.read() as s:
        dump = " ".join(str(v) for row in s.execute(text("SELECT * FROM data_feed_row")).all() for v in row)
        count = s.execute(select(func.count()).select_from(monitoring.FeedRow)).scalar()
    assert count > 100
    for numbers in world.people.values():
        for number in numbers:
            assert number not in dump and number[:-4] not in dump


def test_a_rule_change_is_configuration_not_code(database_url, clock):
    rules = [r.to_dict() for r in monitoring.DEFAULT_RULES]
    for r in rules:
        if r["code"] == "hospital_bills":
            r["above"] = "2000"
    w = build_world(database_url, clock, deploy=False, config={"REVIEW_RULES": rules})
    try:
        monitoring.refresh_member_index(w.services)
        hits = monitoring.compare(w.services, MONTH)
        assert hits[w.hh(H_SMALL_BILL)] == (["hospital_bills"], "warn")
        assert len(hits) == 7
    finally:
        w.services.close()


def test_without_the_review_process_the_result_still_says_investigate(database_url, clock):
    w = build_world(database_url, clock, deploy=False)
    try:
        run = monitoring.run_monthly_review(w.services, MONTH)
        assert (run.flagged, run.opened) == (6, 0)
        got = results_of(w.services, run.id)
        assert (got[w.hh(A_DEATH)].action, got[w.hh(A_DEATH)].case_id, got[w.hh(A_DEATH)].note) == (
            "investigate", None, "not_deployed")
        assert review_cases(w.services) == []
    finally:
        w.services.close()


def test_a_changed_household_is_reindexed_and_matched_next_month(world):
    svc = world.services
    monitoring.run_monthly_review(svc, MONTH, open_cases=False)
    newcomer = idnumber.make("370827", date(1999, 9, 9), 777)
    with svc.db.write() as s:
        hid = world.hh(L_NEW_MEMBER)
        record = records.get_household(s, hid, actor=CASEWORKER)
        data = record.household.to_dict()
        data["members"].append({**data["members"][0], "name": "新成员", "id_number": newcomer,
                                "relation": "spouse", "birth_date": "1999-09-09"})
        records.update_household(s, hid, Household.from_dict(data), actor=CASEWORKER, now=svc.clock.now())
    assert monitoring.refresh_member_index(svc) == 1                  # only the changed household
    monitoring.import_feed(svc, "deaths", "2026-03", [{"id_number": newcomer}])
    run = monitoring.run_monthly_review(svc, "2026-03")
    got = {r.household_id: r for r in monitoring.results(svc, run.id)}
    assert list(got) == [world.hh(L_NEW_MEMBER)] and got[world.hh(L_NEW_MEMBER)].flags == ("death",)
    assert run.opened == 1


def test_a_bad_month_is_refused(world):
    with pytest.raises(monitoring.ValidationError):
        monitoring.run_monthly_review(world.services, "2026-13")


def test_cli_imports_a_csv_hashing_id_numbers_and_runs_the_review(world, tmp_path, database_url):
    from web.cli_review import review

    died = world.people[C_PROPERTY][0]
    path = tmp_path / "deaths.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["id_number", "date_of_death"])
        writer.writerow([died, "2026-03-05"])
        writer.writerow(["370827199909090001", "2026-03-06"])   # wrong check digit: rejected
    env = {"JISHIJIU_DATABASE_URL": database_url}
    runner = CliRunner()
    out = runner.invoke(review, ["feeds", "import", str(path), "--feed", "deaths", "--month", "2026-03"], env=env)
    assert out.exit_code == 0, out.output
    assert "1 row(s) imported, 1 match" in out.output and "1 rejected" in out.output
    with world.services.db.read() as s:
        row = s.execute(select(monitoring.FeedRow).where(monitoring.FeedRow.month == "2026-03")).scalar_one()
    assert row.id_hash == monitoring.id_hash(died) and row.payload == {"date_of_death": "2026-03-05"}
    assert died not in json.dumps(row.payload)

    out = runner.invoke(review, ["run", "--month", "2026-03", "--no-deploy"], env=env)
    assert out.exit_code == 0, out.output
    assert f"{N - 2} households compared, 1 flagged, 1 investigation case(s) opened" in out.output
    out = runner.invoke(review, ["run", "--month", "2026-03", "--no-deploy", "--quiet"], env=env)
    assert "0 investigation case(s) opened" in out.output
    out = runner.invoke(review, ["status", "--month", "2026-03", "--results"], env=env)
    assert f"household {world.hh(C_PROPERTY)}: investigate death" in out.output
