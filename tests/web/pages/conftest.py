"""Fixtures for the HTML pages: an app on a migrated SQLite copy, users in two townships, a case.

The app runs with TESTING and a fake clock (Monday 2026-03-02 10:00 in Shanghai), no plugins from
entry points (a test plugin offers the form of the test process), and an empty processes folder,
so these tests depend only on the engine and the pages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from marshmallow import Schema, fields, validate

from engine import accounts
from engine.actors import Actor
from engine.casework import idnumber
from engine.hookspecs import hookimpl
from web import create_app, services_of

BPMN = Path(__file__).parent / "bpmn"
CASEWORK = Path(__file__).parents[2] / "engine" / "bpmn" / "casework.bpmn"
PASSWORD = "correct-horse-9"
VILLAGE = "370827101201"  # township 370827101
OTHER_VILLAGE = "370827102201"  # township 370827102

USERS = {
    "zhang": ("caseworker", "370827101", "张经办"),
    "zhao": ("caseworker", "370827101", "赵经办"),
    "li": ("caseworker", "370827102", "李经办"),
    "wang": ("approver", "370827", "王审核"),
    "sun": ("supervisor", "370827", "孙督导"),
    "cun": ("assistant", "370827101202", "村协理员"),
    "design": ("designer", "37", "设计员"),
    "root": ("admin", "37", "管理员"),
}

HEAD_ID = idnumber.make("370827", __import__("datetime").date(1980, 1, 1), 123)
WIFE_ID = idnumber.make("370827", __import__("datetime").date(1982, 5, 6), 246)


def actor_of(username: str) -> Actor:
    role, region, _name = USERS[username]
    return Actor(username, role, region)


class InvestigationSchema(Schema):
    """The form of the test process's 入户调查 task (form key ``test.investigation``)."""

    income = fields.Decimal(required=True, places=2, validate=validate.Range(min=Decimal("0")),
                            metadata={"label": "家庭人均月收入（元）", "label_en": "Monthly income per person (yuan)",
                                      "description": "扣除豁免项后的月收入"})
    visited_on = fields.Date(required=True, metadata={"label": "入户日期", "label_en": "Visit date"})
    housing = fields.String(required=True, validate=validate.OneOf(
        ["own", "rented", "none"], labels=["自有住房", "租房", "无固定住所"]),
        metadata={"label": "住房情况", "label_en": "Housing"})
    urgent = fields.Boolean(load_default=False, metadata={"label": "是否急难", "label_en": "Urgent"})
    notes = fields.String(validate=validate.Length(max=500),
                          metadata={"label": "调查记录", "label_en": "Notes", "widget": "textarea"})


class TestForms:
    @hookimpl
    def jishijiu_form_schemas(self):
        return {"test.investigation": InvestigationSchema}


def gap(params, data, ctx):
    income = Decimal(str(params["income"]))
    return {"monthly_amount": str((Decimal("700") - income) * int(params["members"]))}


@dataclass
class World:
    app: object
    services: object
    case_id: int
    other_case_id: int
    task_id: int
    other_task_id: int
    household_id: int | None


def make_app(sqlite_url: str, clock, tmp_path: Path, *, populate: bool = True, **config):
    """The app on ``sqlite_url``; ``populate`` adds the users and deploys the test process."""
    processes = tmp_path / "processes"
    processes.mkdir(exist_ok=True)
    cfg = {"DATABASE_URL": sqlite_url, "TESTING": True, "CLOCK": clock, "SECRET_KEY": "test-secret",
           "PROCESSES_DIR": str(processes), "PLUGINS": []}
    cfg.update(config)
    app = create_app(cfg)
    svc = services_of(app)
    svc.services.register("test.gap", gap)
    svc.pm.register(TestForms())
    if populate:
        with svc.db.write() as db:
            for username, (role, region, name) in USERS.items():
                accounts.create_user(db, username=username, password=PASSWORD, role=role, region=region,
                                     now=clock.now(), display_name=name)
        svc.engine.deploy(CASEWORK.read_bytes(), "casework.bpmn", actor=actor_of("design"))
    return app


def _household(region_code: str) -> dict:
    return {"region_code": region_code, "hukou": "rural", "hukou_region_code": "370827",
            "members": [
                {"name": "韩进", "id_number": HEAD_ID, "relation": "head", "birth_date": "1980-01-01",
                 "sex": "M", "disability": {"category": "physical", "grade": 3}, "can_work": False,
                 "income": {"wages": "0", "business": "400", "property": "0", "transfer": "0"}},
                {"name": "李梅", "id_number": WIFE_ID, "relation": "spouse", "birth_date": "1982-05-06",
                 "sex": "F", "income": {"wages": "300", "business": "0", "property": "0", "transfer": "0"}},
            ]}


def create_household(svc, region_code: str, who: Actor) -> int | None:
    """A household through the casework records (None while that module is not there)."""
    try:
        from engine.casework import records
        from engine.casework.types import Household
    except ImportError:
        return None
    with svc.db.write() as db:
        return records.create_household(db, Household.from_dict(_household(region_code)), actor=who,
                                        now=svc.clock.now())


def start_case(svc, region_code: str, who: Actor, household_id: int | None = None):
    return svc.engine.start("casework", actor=who, region_code=region_code, household_id=household_id,
                            data={"people": ["韩进", "李梅"], "income": "0"})


@pytest.fixture(scope="session")
def world_template(sqlite_template, tmp_path_factory):
    """Users, the test process, a household and two cases, made once; each test copies the file.

    (Hashing eight passwords and starting two cases per test would double the suite's time.)
    """
    from engine.clock import FakeClock
    from tests.conftest import START

    folder = tmp_path_factory.mktemp("world")
    path = folder / "world.db"
    path.write_bytes(sqlite_template.read_bytes())
    app = make_app(f"sqlite:///{path}", FakeClock(START), folder)
    svc = services_of(app)
    household_id = create_household(svc, VILLAGE, actor_of("zhang"))
    case = start_case(svc, VILLAGE, actor_of("zhang"), household_id)
    other = start_case(svc, OTHER_VILLAGE, actor_of("li"))
    ids = (case.id, other.id, case.open_tasks[0].id, other.open_tasks[0].id, household_id)
    svc.close()  # the last connection checkpoints the WAL into the file
    return path, ids


@pytest.fixture
def world(world_template, clock, tmp_path) -> World:
    template, (case_id, other_case_id, task_id, other_task_id, household_id) = world_template
    path = tmp_path / "world.db"
    path.write_bytes(template.read_bytes())
    app = make_app(f"sqlite:///{path}", clock, tmp_path, populate=False)
    svc = services_of(app)
    yield World(app, svc, case_id, other_case_id, task_id, other_task_id, household_id)
    svc.close()


@pytest.fixture
def app(world):
    return world.app


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(client, path: str = "/login") -> str:
    page = client.get(path)
    match = CSRF.search(page.get_data(as_text=True))
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client, username: str, password: str = PASSWORD, **extra):
    token = csrf_of(client, "/login")
    return client.post("/login", data={"username": username, "password": password, "csrf_token": token,
                                       **extra})


@pytest.fixture
def as_user(app):
    """``as_user("zhang")`` → a logged-in test client and a function giving a fresh CSRF token."""

    def make(username: str):
        client = app.test_client()
        response = login(client, username)
        assert response.status_code == 303, response.get_data(as_text=True)
        return client
    return make
