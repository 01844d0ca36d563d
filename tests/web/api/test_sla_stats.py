"""GET /api/v1/sla-stats: the nightly SLA statistics, read within the reader's region."""

from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from engine.workflow.sla_stats import SlaDailyStat
from tests.web.api.conftest import assert_error

COMPUTED = datetime(2026, 3, 4, 17, 30, tzinfo=timezone.utc)


def seed(services) -> None:
    with services.db.write() as session:
        for day in (date(2026, 3, 2), date(2026, 3, 3)):
            for region, level in (("370827", "county"), ("370827101", "township"), ("370827102", "township"),
                                  ("370828", "county")):
                session.add(SlaDailyStat(day=day, region_code=region, level=level, process_key="emergency",
                                         step="pay_first", step_name="先行救助（乡镇备用金）", due=2, met=1,
                                         met_late=0, warned=1, breached=1, escalated=0, open_overdue=1,
                                         stopped=1, avg_workdays_used=Decimal("1.5"),
                                         p90_workdays_used=Decimal("2"), computed_at=COMPUTED))


def get(client, auth, role, query=""):
    return client.get(f"/api/v1/sla-stats{query}", headers=auth[role])


def test_a_township_supervisor_reads_its_township_rows_only(client, auth, services):
    seed(services)
    response = get(client, auth, "supervisor", "?from=2026-03-01&to=2026-03-03")   # du: 370827101
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert [(r["day"], r["region_code"]) for r in body] == [("2026-03-02", "370827101"),
                                                            ("2026-03-03", "370827101")]
    row = body[0]
    assert (row["process"], row["step"], row["due"], row["breached"], row["open_overdue"]) == (
        "emergency", "pay_first", 2, 1, 1)
    assert (row["avg_workdays_used"], row["p90_workdays_used"]) == ("1.50", "2.00")
    assert row["computed_at"] == "2026-03-05T01:30:00+08:00"


def test_a_county_approver_narrows_to_a_region_and_a_day(client, auth, services):
    seed(services)
    everything = get(client, auth, "approver", "?from=2026-03-02&to=2026-03-03").get_json()   # wang: 370827
    assert {r["region_code"] for r in everything} == {"370827", "370827101", "370827102"}
    one = get(client, auth, "approver", "?region=370827102&from=2026-03-03&to=2026-03-03").get_json()
    assert [(r["day"], r["region_code"]) for r in one] == [("2026-03-03", "370827102")]
    assert get(client, auth, "approver", "?region=370828&from=2026-03-02&to=2026-03-03").get_json() == []


def test_admin_sees_every_county(client, auth, services):
    seed(services)
    rows = get(client, auth, "admin", "?from=2026-03-03&to=2026-03-03&region=37").get_json()
    assert {r["region_code"] for r in rows} == {"370827", "370827101", "370827102", "370828"}


def test_caseworkers_may_not_read_the_statistics(client, auth):
    assert_error(get(client, auth, "caseworker"), 403)


def test_a_reversed_or_too_long_span_is_refused(client, auth):
    error = assert_error(get(client, auth, "supervisor", "?from=2026-03-05&to=2026-03-01"), 422)
    assert "from" in str(error["fields"])
    assert_error(get(client, auth, "supervisor", "?from=2024-01-01&to=2026-03-01"), 422)
    assert_error(get(client, auth, "supervisor", "?to=2026-13-01"), 422)
