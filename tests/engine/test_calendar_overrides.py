"""Operators override days nationally or for a region; due dates follow the case's region."""

from __future__ import annotations

from datetime import date

from click.testing import CliRunner

from engine import bootstrap
from engine.workflow.calendars import Calendars
from tests.engine.conftest import CASEWORKER, DESIGNER, VILLAGE, deploy
from web.cli import main


def test_the_most_local_override_wins():
    calendars = Calendars({"": {date(2026, 3, 3): False}, "370827": {date(2026, 3, 4): False},
                           "370827101": {date(2026, 3, 4): True}})
    assert not calendars.for_region("110101001001").is_workday(date(2026, 3, 3))
    assert calendars.for_region("110101001001").is_workday(date(2026, 3, 4))
    assert not calendars.for_region("370827102001").is_workday(date(2026, 3, 4))
    assert calendars.for_region(VILLAGE).is_workday(date(2026, 3, 4))


def test_a_local_holiday_set_from_the_cli_moves_the_due_date_of_cases_there(sqlite_url, clock, monkeypatch):
    monkeypatch.setenv("JISHIJIU_DATABASE_URL", sqlite_url)
    result = CliRunner().invoke(main, ["calendar", "set", "2026-03-04", "--holiday", "--region", "370827101"])
    assert result.exit_code == 0, result.output
    services = bootstrap.build({"DATABASE_URL": sqlite_url, "TESTING": True, "CLOCK": clock})
    services.services.register("test.gap", lambda p, d, c: {})
    deploy(services.engine, "casework.bpmn")
    here = services.engine.start("casework", actor=CASEWORKER, region_code=VILLAGE, data={"people": [1], "income": "0"})
    from engine.actors import Actor

    elsewhere = services.engine.start("casework", actor=Actor("li", "caseworker", "370827102"),
                                      region_code="370827102001", data={"people": [1], "income": "0"})
    # 3 WD after Monday 2026-03-02: Thursday; with Wednesday off in that township: Friday
    assert here.open_tasks[0].due_at.date() == date(2026, 3, 6)
    assert elsewhere.open_tasks[0].due_at.date() == date(2026, 3, 5)
    shown = CliRunner().invoke(main, ["calendar", "show", "--region", VILLAGE, "--year", "2026"])
    assert "2026-03-04 放假 holiday" in shown.output
    services.close()
