"""Nightly SLA statistics: per day, county and township, process and step; recomputed idempotently,
made once when the engine clock passes 01:30, and by hand with ``jishijiu sla-stats``."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

from click.testing import CliRunner
from sqlalchemy import func, select

from engine import bootstrap
from engine.actors import Actor
from engine.workflow import sla_stats
from engine.workflow.models import Setting
from engine.workflow.sla_stats import SlaDailyStat
from tests.engine.conftest import CASEWORKER, OTHER_TOWNSHIP, VILLAGE, deploy

SHANGHAI = timezone(timedelta(hours=8))
OTHER_VILLAGE = "370827102201"
MONDAY, TUESDAY, WEDNESDAY = date(2026, 3, 2), date(2026, 3, 3), date(2026, 3, 4)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def move_to(services, clock, when: datetime) -> None:
    clock.set(when)
    services.run_due()


def pay(engine, case_id: int, actor: Actor) -> None:
    [task] = engine.instance(case_id, actor).open_tasks
    engine.complete(task.id, actor, {"amount": "2000"})


def rows(services, day: date) -> dict[str, SlaDailyStat]:
    with services.db.read() as session:
        return {r.region_code: r for r in session.execute(
            select(SlaDailyStat).where(SlaDailyStat.day == day)).scalars()}


def three_cases(services, engine, clock):
    """Monday 10:00 three 24-hour payments start: one paid Monday 15:00 (in time), one in the other
    township paid Tuesday 09:00 (in time), one paid Wednesday 11:00 (late, after both escalations)."""
    deploy(engine, "sla.bpmn")
    start = {"urgency": "urgent"}
    quick = engine.start("pay_first", actor=CASEWORKER, region_code=VILLAGE, data=start)
    late = engine.start("pay_first", actor=CASEWORKER, region_code=VILLAGE, data=start)
    other = engine.start("pay_first", actor=OTHER_TOWNSHIP, region_code=OTHER_VILLAGE, data=start)
    move_to(services, clock, at("2026-03-02 15:00"))
    pay(engine, quick.id, CASEWORKER)
    move_to(services, clock, at("2026-03-03 05:12"))      # 80 %: the two unpaid ones warn
    move_to(services, clock, at("2026-03-03 09:00"))
    pay(engine, other.id, OTHER_TOWNSHIP)
    move_to(services, clock, at("2026-03-03 10:00"))      # breach of the late one
    move_to(services, clock, at("2026-03-03 22:00"))      # level 2 of the late one
    move_to(services, clock, at("2026-03-04 11:00"))
    pay(engine, late.id, CASEWORKER)


def test_a_day_is_counted_per_county_and_township_and_step(services, engine, clock):
    three_cases(services, engine, clock)
    sla_stats.compute_days(services, [TUESDAY])
    tuesday = rows(services, TUESDAY)
    assert set(tuesday) == {"370827", "370827101", "370827102"}
    county = tuesday["370827"]
    assert (county.level, county.process_key, county.step, county.step_name) == (
        "county", "pay_first", "pay", "先行发放救助金")
    assert (county.due, county.met, county.met_late, county.warned, county.breached, county.escalated,
            county.open_overdue) == (3, 1, 0, 2, 1, 1, 1)          # all three were due Tuesday 10:00
    own, neighbour = tuesday["370827101"], tuesday["370827102"]
    assert (own.level, own.due, own.met, own.warned, own.breached, own.escalated, own.open_overdue) == (
        "township", 2, 0, 1, 1, 1, 1)
    assert (neighbour.due, neighbour.met, neighbour.warned, neighbour.breached, neighbour.open_overdue) == (
        1, 1, 1, 0, 0)


def test_working_days_used_are_averaged_with_a_nearest_rank_p90(services, engine, clock):
    three_cases(services, engine, clock)
    sla_stats.compute_days(services, [MONDAY, TUESDAY, WEDNESDAY])
    monday, tuesday, wednesday = rows(services, MONDAY), rows(services, TUESDAY), rows(services, WEDNESDAY)
    assert (monday["370827"].met, monday["370827"].avg_workdays_used) == (1, Decimal("0.00"))
    assert (tuesday["370827"].stopped, tuesday["370827"].p90_workdays_used) == (1, Decimal("1.00"))
    late = wednesday["370827101"]
    assert (late.met_late, late.stopped, late.avg_workdays_used, late.p90_workdays_used) == (
        1, 1, Decimal("2.00"), Decimal("2.00"))
    assert late.open_overdue == 0 and "370827102" not in wednesday


def test_paused_time_does_not_count_as_working_days_used(services, engine, clock):
    deploy(engine, "sla.bpmn")
    case = engine.start("pay_first", actor=CASEWORKER, region_code=VILLAGE, data={"urgency": "urgent"})
    move_to(services, clock, at("2026-03-02 12:00"))
    engine.pause_clock(case.id, CASEWORKER, reason="等待家庭补交材料")
    move_to(services, clock, at("2026-03-05 12:00"))       # three days paused
    engine.resume_clock(case.id, CASEWORKER)
    move_to(services, clock, at("2026-03-06 09:00"))
    pay(engine, case.id, CASEWORKER)
    sla_stats.compute_days(services, [date(2026, 3, 6)])
    county = rows(services, date(2026, 3, 6))["370827"]
    assert (county.met, county.avg_workdays_used) == (1, Decimal("1.00"))   # Monday → Friday less 3 days


def test_recomputing_a_day_replaces_its_rows(services, engine, clock):
    three_cases(services, engine, clock)
    sla_stats.compute_days(services, [TUESDAY])
    first = {code: (r.due, r.met, r.warned) for code, r in rows(services, TUESDAY).items()}
    sla_stats.compute_days(services, [TUESDAY])
    with services.db.read() as session:
        count = session.execute(select(func.count()).select_from(SlaDailyStat)
                                .where(SlaDailyStat.day == TUESDAY)).scalar()
    assert count == len(first) == 3
    assert {code: (r.due, r.met, r.warned) for code, r in rows(services, TUESDAY).items()} == first


def test_run_due_computes_each_finished_day_once_after_half_past_one(services, engine, clock):
    three_cases(services, engine, clock)                   # run_due ran all along, up to Wednesday 11:00
    with services.db.read() as session:
        assert session.get(Setting, sla_stats.LAST_DAY_KEY).value == TUESDAY.isoformat()
    clock.set(at("2026-03-05 01:29"))
    assert services.run_due()["sla_stats"] == []           # Wednesday is not finished before 01:30
    clock.set(at("2026-03-05 01:30"))
    assert services.run_due()["sla_stats"] == [WEDNESDAY]
    assert services.run_due()["sla_stats"] == []
    assert rows(services, WEDNESDAY)["370827101"].met_late == 1


def test_a_second_process_does_not_compute_the_same_day_again(services, engine, clock, database_url):
    deploy(engine, "sla.bpmn")
    other = bootstrap.build({"DATABASE_URL": database_url, "TESTING": True, "CLOCK": clock})
    try:
        clock.set(at("2026-03-10 02:00"))
        assert services.run_due()["sla_stats"] == [date(2026, 3, 9)]
        assert other.run_due()["sla_stats"] == []
    finally:
        other.close()


def test_a_long_outage_catches_up_a_bounded_number_of_days(services, engine, clock):
    services.run_due()                                     # Monday 10:00: Sunday computed
    clock.set(at("2026-06-01 12:00"))
    days = services.run_due()["sla_stats"]
    assert len(days) == sla_stats.MAX_CATCH_UP_DAYS and days[-1] == date(2026, 5, 31)


def test_the_cli_recomputes_days_with_a_progress_bar(services, engine, clock, monkeypatch, database_url):
    from web.cli import main

    three_cases(services, engine, clock)
    with services.db.write() as session:
        session.query(SlaDailyStat).delete()
    monkeypatch.setenv("JISHIJIU_DATABASE_URL", database_url)
    result = CliRunner().invoke(main, ["sla-stats", "--date", "2026-03-04", "--days", "3"])
    assert result.exit_code == 0, result.output
    assert result.stdout.endswith("SLA statistics for 2026-03-02 to 2026-03-04: 7 row(s), 3 clock(s) due\n")
    assert "SLA statistics" in result.stderr
    with services.db.read() as session:
        assert session.execute(select(func.count()).select_from(SlaDailyStat)).scalar() == 7
