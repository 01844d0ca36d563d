"""R9: canary ID numbers and diagnoses go through representative flows — households, signals, cases,
validation errors that echo input, 404s, malformed JSON, a 500, the HTML error pages — while every log
record is written by the product's JSON formatter; then logs, error answers and error pages are
scanned: no canary may appear unmasked (DESIGN decision 10)."""

from __future__ import annotations

import io
import logging
from datetime import date

import pytest

from engine import observability
from engine.casework import idnumber
from tests.web.api.conftest import VILLAGE, app, auth, client, household, member, services  # noqa: F401 - fixtures

CANARY_IDS = [idnumber.make("370827", date(1961, 7, 19), 731), idnumber.make("370827", date(1999, 12, 31), 452),
              idnumber.make("370827", date(1970, 2, 28), 99)[:-1] + "X"]
DIAGNOSES = ["尿毒症", "白血病", "精神分裂症"]
#: an ID number with a wrong check digit is as personal as a right one
BAD_CHECK = CANARY_IDS[0][:-1] + ("0" if CANARY_IDS[0][-1] != "0" else "1")


@pytest.fixture
def json_log():
    """Everything logged during the test, through the product's JSON formatter, at DEBUG."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(observability.JsonFormatter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(level)


def leaks(text: str) -> list[str]:
    return [c for c in [*CANARY_IDS, BAD_CHECK, *DIAGNOSES] if c in text or c.lower() in text]


def canary_household() -> dict:
    members = [member("尿毒症患者", seq=731) | {"id_number": CANARY_IDS[0]},
               member("白血病患儿", seq=452, relation="son") | {"id_number": CANARY_IDS[1]}]
    return household(VILLAGE, members)


def test_api_errors_and_logs_never_show_a_canary(app, client, auth, services, json_log, monkeypatch):
    headers = auth["admin"]
    errors: list[str] = []

    def call(method: str, path: str, **kwargs):
        response = client.open(path, method=method, headers=headers, **kwargs)
        if response.status_code >= 400:
            errors.append((f"{method} {path[:60]} {response.status_code}", response.get_data(as_text=True)))
        return response

    created = call("POST", "/api/v1/households", json=canary_household())
    assert created.status_code == 201
    household_id = created.get_json()["id"]
    # validation errors that could echo what was sent
    bad = canary_household()
    bad["members"][0]["id_number"] = BAD_CHECK
    bad["members"][1]["income"]["wages"] = CANARY_IDS[1]
    bad["members"][1]["birth_date"] = f"{DIAGNOSES[1]} {CANARY_IDS[2]}"
    bad["hukou"] = DIAGNOSES[0]
    assert call("POST", "/api/v1/households", json=bad).status_code == 422
    assert call("PUT", f"/api/v1/households/{household_id}", json=bad).status_code == 422
    assert call("POST", "/api/v1/households", json={"region_code": CANARY_IDS[0], "hukou": "rural",
                                                      "members": [{"id_number": CANARY_IDS[2]}]}).status_code == 422
    assert call("POST", "/api/v1/programmes/dibao/assess",
                json={"household": bad, "as_of": CANARY_IDS[1]}).status_code == 422
    signal = {"source": "hospital", "source_id": "r9-1", "kind": "hospital_bill", "region_code": VILLAGE,
              "details": {"diagnosis": DIAGNOSES[0], "id_number": CANARY_IDS[0], "amount": CANARY_IDS[1]}}
    call("POST", "/api/v1/signals", json=signal)
    call("POST", "/api/v1/signals", json=signal | {"kind": DIAGNOSES[2], "region_code": CANARY_IDS[2]})
    call("POST", "/api/v1/signals/batch", json=[signal | {"source_id": CANARY_IDS[0], "occurred_at": DIAGNOSES[1]}])
    call("POST", "/api/v1/cases", json={"process": DIAGNOSES[0], "household_id": household_id,
                                        "data": {"diagnosis": DIAGNOSES[1], "id_number": CANARY_IDS[0]}})
    call("POST", "/api/v1/cases", json={"process": "emergency", "household_id": household_id,
                                        "data": {"urgency": DIAGNOSES[1], "requested_amount": CANARY_IDS[0]}})
    # malformed JSON and unknown objects
    assert call("POST", "/api/v1/households", data=f'{{"id_number": "{CANARY_IDS[0]}", {DIAGNOSES[0]}',
                content_type="application/json").status_code == 400
    assert call("GET", f"/api/v1/households/{CANARY_IDS[0][:17]}").status_code == 404
    assert call("GET", f"/api/v1/households?region_code={CANARY_IDS[1]}&x={DIAGNOSES[0]}").status_code in (200, 422)
    # a 500: a bug that puts personal data into an exception's message
    from engine.casework import records

    def broken(*_args, **_kwargs):
        raise RuntimeError(f"lookup failed for {CANARY_IDS[0]} ({CANARY_IDS[2]})")
    monkeypatch.setattr(records, "get_household", broken)
    assert call("GET", f"/api/v1/households/{household_id}").status_code == 500

    assert len(errors) >= 10
    found = {what: leaks(body) for what, body in errors if leaks(body)}
    assert found == {}
    log = json_log.getvalue()
    assert "lookup failed" in log  # the 500 was logged, with its traceback …
    assert [line[:300] for line in log.splitlines() if leaks(line)] == []  # … and masked
