"""The dashboard: who may open it, what region it covers, and that every figure is right.

Figures are read from the data attributes of the page's tables (never from a snapshot of the HTML)
for the dataset of :mod:`tests.web.pages.seed_dashboard`.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest

from tests.web.pages import seed_dashboard as seeded
from tests.web.pages.conftest import make_app
from tests.web.pages.seed_dashboard import COUNTY, TOWNSHIP, seed

ROW = re.compile(r"<tr ([^>]*)>(.*?)</tr>", re.S)
ATTR = re.compile(r'data-([\w-]+)="([^"]*)"')


def rows(page: str, table_id: str) -> list[dict]:
    """Each <tr> of a table as its data attributes, plus its <td>s' attributes under "cells"
    (no rows when the page shows no such table, e.g. "no funds in the region")."""
    match = re.search(rf'<table[^>]*id="{table_id}"[^>]*>(.*?)</table>', page, re.S)
    if match is None:
        return []
    found = []
    for attrs, body in ROW.findall(match.group(1)):
        row = dict(ATTR.findall(attrs))
        row["cells"] = [dict(ATTR.findall(cell)) for cell in re.findall(r"<td([^>]*)>", body)]
        found.append(row)
    return found


def figures(page: str) -> dict:
    """Every figure of the dashboard, as the tests compare them."""
    heat = {}
    heat_rows = []
    for row in rows(page, "table-heat"):
        if "region" not in row:
            continue
        heat_rows.append(row["region"])
        for cell in row["cells"]:
            if "step" in cell and int(cell["tasks"]):
                heat[(row["region"], cell["step"])] = (int(cell["workdays"]), int(cell["tasks"]))
    payments = {}
    for row in rows(page, "table-payments"):
        for cell in row["cells"]:
            if "month" in row and Decimal(cell.get("amount", "0")):
                payments[(row["month"], cell["programme"])] = cell["amount"]
    sla = dict(ATTR.findall(re.search(r'<p class="lead"([^>]*)>', page).group(1)))
    em = dict(ATTR.findall(re.search(r'<dl class="facts figures"([^>]*)>', page).group(1)))
    total = [r for r in rows(page, "table-payments") if "month" not in r and "total" in r]
    return {
        "processes": {r["process"]: dict(active=int(r["active"]), overdue=int(r["overdue"]),
                                         completed=int(r["completed"]), total=int(r["total"]))
                      for r in rows(page, "table-processes")},
        "stages": {r["stage"]: (int(r["cases"]), int(r["overdue"])) for r in rows(page, "table-stages")
                   if "stage" in r},
        "sla": dict(met=int(sla["met"]), late=int(sla["late"]), running=int(sla["running"]),
                    overdue_now=int(sla["overdue-now"]), paused=int(sla["paused"])),
        "heat": heat,
        "heat_rows": heat_rows,
        "funds": {r["fund"] for r in rows(page, "table-funds") if "fund" in r},
        "coverage": {r["programme"]: dict(households=int(r["households"]), people=int(r["people"]),
                                          unknown=int(r["unknown"]), monthly=r["monthly"])
                     for r in rows(page, "table-coverage") if "programme" in r},
        "payments": payments,
        "payments_total": total[0]["total"] if total else None,
        "emergency": dict(cases=int(em["cases"]), paid=int(em["paid"]), average=int(em["average"] or -1),
                          within_2h=int(em["within-2h"]), within_24h=int(em["within-24h"])),
    }


@pytest.fixture
def data(world, clock):
    return seed(world, clock)


@pytest.mark.parametrize("username, status", [
    ("sun", 200), ("wang", 200), ("root", 200),  # supervisor, approver, admin
    ("zhang", 403), ("cun", 403), ("design", 403),  # caseworker, assistant, designer
])
def test_only_supervisors_approvers_and_admins_open_the_dashboard(world, as_user, username, status):
    assert as_user(username).get("/dashboard").status_code == status


def test_the_dashboard_needs_a_login(world, app):
    response = app.test_client().get("/dashboard")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_the_county_sees_every_figure_of_its_townships(data, as_user):
    page = as_user("sun").get("/dashboard").get_data(as_text=True)
    assert figures(page) == COUNTY


def test_a_township_supervisor_sees_only_its_township_in_every_figure(data, as_user):
    page = as_user("xiang").get("/dashboard").get_data(as_text=True)
    assert figures(page) == TOWNSHIP
    assert "370827102" not in page  # not a row, a fund, a case or a link of the other township


def test_the_county_can_narrow_to_one_township_and_gets_the_same_figures(data, as_user):
    page = as_user("sun").get("/dashboard?region=370827101").get_data(as_text=True)
    assert figures(page) == TOWNSHIP


@pytest.mark.parametrize("region", ["370827", "370827102", "37", "abc", "3708271", "370827102201"])
def test_a_township_cannot_look_outside_itself(data, as_user, region):
    assert as_user("xiang").get(f"/dashboard?region={region}").status_code == 404


def test_the_heatmap_is_an_svg_with_a_row_per_sub_region_linking_one_level_down(data, as_user):
    page = as_user("sun").get("/dashboard").get_data(as_text=True)
    svg = re.search(r'<svg class="chart chart-heat".*?</svg>', page, re.S).group(0)
    assert 'href="/dashboard?region=370827101&amp;year=2026"' in svg
    assert 'href="/dashboard?region=370827102&amp;year=2026"' in svg
    assert re.findall(r'class="heat-value"[^>]*>(\d+)<', svg) == ["3", "3", "5"]
    # the largest cell has the darkest colour, cells with nothing overdue none
    assert svg.count("heat-5") == 1 and svg.count("heat-0") == 1


def test_charts_are_inline_svg_without_scripts_or_outside_resources(data, as_user):
    page = as_user("sun").get("/dashboard").get_data(as_text=True)
    assert page.count("<svg") >= 5
    assert "<script" not in page.split("<main", 1)[1]
    assert not re.search(r'(src|href)="https?://', page)


def test_a_year_without_payments_shows_none_and_the_stock_figures_stay(data, as_user):
    page = as_user("sun").get("/dashboard?year=2025").get_data(as_text=True)
    found = figures(page)
    assert found["payments"] == {} and found["emergency"]["cases"] == 0
    assert found["coverage"] == COUNTY["coverage"]  # who is covered does not depend on the year
    assert found["heat"] == COUNTY["heat"]


def test_an_empty_region_has_an_empty_dashboard(world, as_user):
    page = as_user("sun").get("/dashboard").get_data(as_text=True)
    found = figures(page)
    assert found["payments"] == {} and found["funds"] == set() and found["coverage"] == {}
    assert found["processes"] == {"casework": dict(active=2, overdue=0, completed=0, total=2)}


def test_the_dashboard_reads_in_english(data, as_user):
    from tests.web.pages.conftest import csrf_of

    client = as_user("sun")
    client.post("/lang", data={"lang": "en", "csrf_token": csrf_of(client, "/dashboard")})
    page = client.get("/dashboard").get_data(as_text=True)
    assert "Working days overdue by region and step" in page and "People covered" in page
    assert "超期工作日热力图" not in page
    assert figures(page) == COUNTY


def test_the_figures_agree_on_postgresql_and_sqlite(database_url, clock, tmp_path):
    """The per-database SQL (local dates, months, seconds, JSON lengths) gives the same answers."""
    from tests.web.pages.conftest import World, actor_of, create_household, start_case
    from tests.web.pages.conftest import VILLAGE, OTHER_VILLAGE, login
    from web import services_of

    app = make_app(database_url, clock, tmp_path)
    svc = services_of(app)
    try:
        household = create_household(svc, VILLAGE, actor_of("zhang"))
        case = start_case(svc, VILLAGE, actor_of("zhang"), household)
        other = start_case(svc, OTHER_VILLAGE, actor_of("li"))
        world = World(app, svc, case.id, other.id, case.open_tasks[0].id, other.open_tasks[0].id, household)
        seed(world, clock)
        client = app.test_client()
        assert login(client, "sun").status_code == 303
        assert figures(client.get("/dashboard").get_data(as_text=True)) == COUNTY
        client = app.test_client()
        assert login(client, seeded.TOWNSHIP_SUPERVISOR[0]).status_code == 303
        assert figures(client.get("/dashboard").get_data(as_text=True)) == TOWNSHIP
    finally:
        svc.close()
