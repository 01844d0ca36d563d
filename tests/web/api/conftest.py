"""The API under test: one app per database, users made on demand, tokens from the endpoint."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from engine import accounts
from engine.casework import idnumber
from engine.casework.types import Assessment, ProgrammeInfo, Reason
from engine.hookspecs import hookimpl
from web import create_app, services_of

BPMN = Path(__file__).parent / "bpmn"
PASSWORD = "secret-pass-1"

VILLAGE = "370827101201"  # a village of township 370827101 (county 370827)
OTHER_VILLAGE = "370827102201"  # a village of the neighbouring township 370827102

# username: (role, region) — each role once in the township of VILLAGE, plus an outsider
USERS = {
    "admin": ("admin", "37"),
    "zhang": ("caseworker", "370827101"),
    "li": ("caseworker", "370827102"),
    "cun": ("assistant", VILLAGE),
    "wang": ("approver", "370827"),
    "zhao": ("approver", "370828"),
    "du": ("supervisor", "370827101"),
    "wei": ("committee", "370827101"),
    "design": ("designer", "37"),
}
ROLE_USER = {"admin": "admin", "caseworker": "zhang", "assistant": "cun", "approver": "wang",
             "supervisor": "du", "committee": "wei", "designer": "design"}


class FakeAidPlugin:
    """A stand-in programme: eligible when the household's total income is under the dibao line."""

    @hookimpl
    def jishijiu_programme(self):
        return ProgrammeInfo(code="testaid", name_zh="测试救助", name_en="Test aid",
                             description="for the API tests", conditions=("收入低于低保标准",),
                             documents=(), rule_version="testaid-1", options=("bonus",))

    @hookimpl
    def jishijiu_assess(self, programme, household, standard, options):
        if programme != "testaid":
            return None
        income = sum((m.income.total for m in household.members), Decimal(0))
        line = standard.dibao(household.hukou) * len(household.members)
        if income >= line:
            return Assessment(programme="testaid", eligible=False, rule_version="testaid-1",
                              reasons=(Reason(code="testaid.income_too_high", message="收入超过标准"),))
        return Assessment(programme="testaid", eligible=True, rule_version="testaid-1",
                          monthly_amount=line - income,
                          covered_members=tuple(range(len(household.members))),
                          reasons=(Reason(code="testaid.eligible", message="符合条件"),))


def member(name="韩进", born=date(1980, 1, 1), seq=123, wages="0", relation="head", prefix="370827"):
    return {"name": name, "id_number": idnumber.make(prefix, born, seq), "relation": relation,
            "income": {"wages": wages, "business": "0", "property": "0", "transfer": "0"}}


def household(region=VILLAGE, members=None, hukou="rural"):
    return {"region_code": region, "hukou": hukou,
            "members": members if members is not None else [member()]}


STANDARD = {"region_code": "370827", "valid_from": "2022-01-01", "dibao_urban": "880",
            "dibao_rural": "700", "tekun_urban": "1144", "tekun_rural": "910", "care_self": "100",
            "care_partial": "300", "care_total": "600", "marginal_multiplier": "2",
            "township_relief_limit": "1000"}


@pytest.fixture
def app(database_url):
    app = create_app({"DATABASE_URL": database_url, "TESTING": True, "SECRET_KEY": "t"})
    services_of(app).pm.register(FakeAidPlugin(), name="testaid")
    yield app
    services_of(app).close()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def services(app):
    return services_of(app)


def login(client, username: str, password: str = PASSWORD):
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


class Auth:
    """``auth["caseworker"]`` / ``auth.user("li")``: Authorization headers, users made on demand."""

    def __init__(self, client, services):
        self.client, self.services, self._headers = client, services, {}

    def make_user(self, username: str) -> None:
        role, region = USERS[username]
        with self.services.db.write() as session:
            accounts.create_user(session, username=username, password=PASSWORD, role=role,
                                 region=region, now=self.services.clock.now())

    def user(self, username: str) -> dict:
        if username not in self._headers:
            self.make_user(username)
            response = login(self.client, username)
            assert response.status_code == 200, response.get_json()
            self._headers[username] = {"Authorization": f"Bearer {response.get_json()['access_token']}"}
        return self._headers[username]

    def __getitem__(self, role: str) -> dict:
        return self.user(ROLE_USER[role])


@pytest.fixture
def auth(client, services):
    return Auth(client, services)


@pytest.fixture
def make_household(client, auth):
    def make(region=VILLAGE, **kwargs) -> int:
        response = client.post("/api/v1/households", json=household(region, **kwargs),
                               headers=auth["admin"])
        assert response.status_code == 201, response.get_json()
        return response.get_json()["id"]
    return make


@pytest.fixture
def deployed(client, auth):
    """Deploy tests/web/api/bpmn/<name> through the API; the definition answer."""
    def deploy(name: str = "publicity.bpmn") -> dict:
        with open(BPMN / name, "rb") as f:
            response = client.post("/api/v1/processes", data={"file": (f, name)},
                                   headers=auth["designer"], content_type="multipart/form-data")
        assert response.status_code in (200, 201), response.get_json()
        return response.get_json()
    return deploy


@pytest.fixture
def start_case(client, auth, deployed, make_household):
    """A started publicity case for a household in VILLAGE (or ``region``); the case answer."""
    def start(region=VILLAGE, data=None) -> dict:
        deployed()
        household_id = make_household(region)
        response = client.post("/api/v1/cases", json={"process": "publicity",
                                                      "household_id": household_id,
                                                      "data": data or {"note": "ok"}},
                               headers=auth["admin"])
        assert response.status_code == 201, response.get_json()
        return response.get_json()
    return start


def assert_error(response, status: int, code: str | None = None) -> dict:
    """The contract's error shape, and its status; the ``error`` object."""
    assert response.status_code == status, (response.status_code, response.get_data(as_text=True))
    assert response.is_json, response.get_data(as_text=True)
    body = response.get_json()
    assert set(body) == {"error"}
    error = body["error"]
    assert {"code", "message", "fields"} <= set(error)
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    if code is not None:
        assert error["code"] == code
    return error
