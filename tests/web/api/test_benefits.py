"""/api/v1/benefits: bank accounts, entitlements and a county's payment cycle through the API."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from engine.casework import funds
from engine.casework.benefits import entitlements
from tests.engine.benefits.helpers import bank_result
from tests.web.api.conftest import USERS, assert_error, member

API = "/api/v1/benefits"


@pytest.fixture
def county_clerk(monkeypatch, auth):
    monkeypatch.setitem(USERS, "xian", ("caseworker", "370827"))
    return auth.user("xian")


@pytest.fixture
def paid_household(client, auth, services, make_household):
    """A household with an account and a dibao entitlement from 2026-04, and a county fund."""
    hid = make_household(members=[member(), member("韩妻", date(1982, 2, 2), 124, relation="spouse")])
    response = client.put(f"{API}/households/{hid}/bank-account", headers=auth["caseworker"],
                          json={"bank": "鱼台农商银行", "account_no": "6223 1000 0000 0001 23", "holder": "韩进"})
    assert response.status_code == 200, response.get_json()
    now = services.clock.now()
    with services.db.write() as s:
        entitlements.create(s, household_id=hid, programme="dibao", region_code="370827101201",
                            monthly_fen=140000, start_month="2026-04", persons=2, actor="wang", at=now)
        fund = funds.create_fund(s, code="c", kind="county_relief", region_code="370827", name="县救助资金")
        funds.post(s, fund, "allocation", Decimal("100000"), at=now, actor="t")
    return hid


def test_a_bank_account_is_validated_and_shown_masked(client, auth, make_household):
    hid = make_household()
    bad = client.put(f"{API}/households/{hid}/bank-account", headers=auth["caseworker"],
                     json={"bank": "银行", "account_no": "12ab", "holder": "不是成员"})
    error = assert_error(bad, 422)
    assert "account_no" in error["fields"] or "bank_account.account_no" in error["fields"]
    stranger = client.put(f"{API}/households/{hid}/bank-account", headers=auth["caseworker"],
                          json={"bank": "银行", "account_no": "6222000011112222", "holder": "不是成员"})
    assert assert_error(stranger, 422)["fields"] == {"bank_account.holder": ["must be the name of a household member"]}
    ok = client.put(f"{API}/households/{hid}/bank-account", headers=auth["caseworker"],
                    json={"bank": "银行", "account_no": "6222000011112222", "holder": "韩进"})
    assert ok.get_json()["account_no"] == "6222********2222"
    assert client.get(f"{API}/households/{hid}/bank-account?reveal=account_no",
                      headers=auth["caseworker"]).get_json()["account_no"] == "6222000011112222"
    assert_error(client.get(f"{API}/households/{hid}/bank-account", headers=auth.user("li")), 404)


def test_a_county_cycle_runs_from_draft_to_reconciled(client, auth, county_clerk, paid_household):
    township = client.post(f"{API}/batches", json={"region_code": "370827", "month": "2026-04"},
                           headers=auth["caseworker"])
    assert_error(township, 403)
    other = client.post(f"{API}/batches", json={"region_code": "370828", "month": "2026-04"}, headers=county_clerk)
    assert_error(other, 404)
    drafted = client.post(f"{API}/batches", json={"region_code": "370827", "month": "2026-04"}, headers=county_clerk)
    assert drafted.status_code == 201, drafted.get_json()
    batch = drafted.get_json()
    assert (batch["status"], batch["line_count"], batch["total"]) == ("draft", 1, "1400.00")
    assert_error(client.get(f"{API}/batches/{batch['id']}", headers=auth.user("zhao")), 404)
    assert client.get(f"{API}/batches/{batch['id']}", headers=auth["caseworker"]).status_code == 200  # reads
    [line] = client.get(f"{API}/batches/{batch['id']}/lines", headers=county_clerk).get_json()
    assert line["account_no"] == "6223**********0123" and "*" in line["holder_id_number"]
    assert_error(client.post(f"{API}/batches/{batch['id']}/approve", headers=county_clerk), 403)
    assert client.post(f"{API}/batches/{batch['id']}/approve", headers=auth["approver"]).get_json()["status"] == "approved"
    assert client.post(f"{API}/batches/{batch['id']}/lock", headers=auth["approver"]).get_json()["status"] == "locked"
    again = client.post(f"{API}/batches", json={"region_code": "370827", "month": "2026-04"}, headers=county_clerk)
    assert (again.status_code, again.get_json()["id"]) == (200, batch["id"])
    exported = client.get(f"{API}/batches/{batch['id']}/bank-file", headers=county_clerk)
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    result = bank_result(exported.data, {line["reference"]: "账户冻结"})
    reconciled = client.post(f"{API}/batches/{batch['id']}/bank-result", data=result, headers=county_clerk,
                             content_type="text/csv")
    assert reconciled.status_code == 200, reconciled.get_json()
    body = reconciled.get_json()
    assert (body["status"], body["failed_count"], body["failed_total"]) == ("reconciled", 1, "1400.00")
    figures = client.get(f"{API}/figures?months=2026-04", headers=auth["approver"]).get_json()
    assert figures["failed_open"] == {"count": 1, "amount": "1400.00"}
    assert figures["covered"] == {"dibao": {"households": 1, "people": 2}}


def test_a_result_file_that_does_not_add_up_is_refused_with_its_problems(client, auth, county_clerk, paid_household):
    batch = client.post(f"{API}/batches", json={"region_code": "370827", "month": "2026-04"},
                        headers=county_clerk).get_json()
    client.post(f"{API}/batches/{batch['id']}/approve", headers=auth["approver"])
    client.post(f"{API}/batches/{batch['id']}/lock", headers=auth["approver"])
    exported = client.get(f"{API}/batches/{batch['id']}/bank-file", headers=county_clerk)
    bad = client.post(f"{API}/batches/{batch['id']}/bank-result", headers=county_clerk,
                      data={"file": (__import__("io").BytesIO(bank_result(exported.data, tamper_total=True)), "r.csv")},
                      content_type="multipart/form-data")
    assert "row 2" in assert_error(bad, 422)["fields"]
    garbage = client.post(f"{API}/batches/{batch['id']}/bank-result", headers=county_clerk, data=b"\xff\xfe\x00junk",
                          content_type="text/csv")
    assert_error(garbage, 422)


def test_an_entitlement_is_suspended_and_resumed_with_a_reason(client, auth, paid_household):
    [ent] = client.get(f"{API}/entitlements?household_id={paid_household}", headers=auth["caseworker"]).get_json()
    assert (ent["status"], ent["monthly_amount"], ent["persons"]) == ("active", "1400.00", 2)
    assert_error(client.post(f"{API}/entitlements/{ent['id']}/suspend", json={"from_month": "2026-05"},
                             headers=auth["caseworker"]), 422)
    suspended = client.post(f"{API}/entitlements/{ent['id']}/suspend", headers=auth["caseworker"],
                            json={"from_month": "2026-05", "reason": "死亡待核实"}).get_json()
    assert suspended["status"] == "suspended" and suspended["changes"][-1]["reasons"] == ["死亡待核实"]
    assert_error(client.post(f"{API}/entitlements/{ent['id']}/suspend", headers=auth["caseworker"],
                             json={"from_month": "2026-05", "reason": "again"}), 409)
    resumed = client.post(f"{API}/entitlements/{ent['id']}/resume", headers=auth["caseworker"],
                          json={"from_month": "2026-06", "reason": "核实健在"}).get_json()
    assert [(p["kind"], p["from_month"], p["until_month"]) for p in resumed["periods"]] == [
        ("pay", "2026-04", "2026-05"), ("suspended", "2026-05", "2026-06"), ("pay", "2026-06", None)]
    assert_error(client.get(f"{API}/entitlements/{ent['id']}", headers=auth.user("li")), 404)
