"""Operator endpoints: health and Prometheus metrics computed from the database."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from engine.actors import Actor
from web import create_app

BPMN = Path(__file__).resolve().parents[1] / "engine" / "bpmn"


def test_healthz_reports_the_database_and_the_scheduler_mode(sqlite_url):
    app = create_app({"DATABASE_URL": sqlite_url, "TESTING": True, "SECRET_KEY": "t"})
    answer = app.test_client().get("/healthz")
    assert answer.status_code == 200
    assert answer.json == {"status": "ok", "database": "ok", "scheduler": "external"}


def test_metrics_show_timer_lateness_open_tasks_and_step_durations(sqlite_url, clock):
    app = create_app({"DATABASE_URL": sqlite_url, "TESTING": True, "SECRET_KEY": "t", "CLOCK": clock})
    services = app.extensions["jishijiu"]
    services.services.register("test.gap", lambda params, data, ctx: {"monthly_amount": "1"})
    engine = services.engine
    engine.deploy((BPMN / "casework.bpmn").read_bytes(), "casework.bpmn", actor=Actor("d", "designer", "37"))
    actor = Actor("zhang", "caseworker", "370827101")
    engine.start("casework", actor=actor, region_code="370827101201", data={"people": [1], "income": "0"})
    clock.advance(timedelta(hours=2, seconds=3))  # the PT2H reminder fires 3 s late
    assert len(engine.fire_due_timers()) == 1
    text = app.test_client().get("/metrics").get_data(as_text=True)
    assert 'jishijiu_timer_lateness_seconds_bucket{le="2.0"} 0.0' in text
    assert 'jishijiu_timer_lateness_seconds_bucket{le="5.0"} 1.0' in text
    assert 'jishijiu_tasks{state="open"} 1.0' in text
    assert 'jishijiu_timers{state="pending"} 1.0' in text
    assert 'jishijiu_engine_step_seconds_count{operation="start"} 1.0' in text
    assert 'jishijiu_engine_step_seconds_count{operation="timer"} 1.0' in text
