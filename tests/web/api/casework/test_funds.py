"""Funds through the API: region-scoped balances, allocations, donations, ledger, reconciliation."""

from __future__ import annotations

from tests.web.api.casework.conftest import TOWNSHIP, new_fund, start
from tests.web.api.conftest import VILLAGE, assert_error

URL = "/api/v1/funds"


def test_an_admin_opens_a_fund_that_starts_empty(client, auth):
    body = {"code": "reserve-370827101", "kind": "township_reserve", "region_code": TOWNSHIP,
            "name": "滨湖街道临时救助备用金"}
    response = client.post(URL, json=body, headers=auth["admin"])
    assert response.status_code == 201, response.get_json()
    fund = response.get_json()
    assert {k: fund[k] for k in ("code", "kind", "region_code", "balance", "reserved")} == {
        "code": "reserve-370827101", "kind": "township_reserve", "region_code": TOWNSHIP,
        "balance": "0.00", "reserved": "0.00"}
    assert client.get(response.headers["Location"], headers=auth["caseworker"]).get_json() == fund
    assert_error(client.post(URL, json=body, headers=auth["admin"]), 409, "conflict")
    error = assert_error(client.post(URL, json={**body, "code": "x y", "kind": "piggy_bank",
                                                "region_code": "3708271"},
                                     headers=auth["admin"]), 422)
    assert set(error["fields"]) == {"code", "kind", "region_code"}
    assert_error(client.post(URL, json={**body, "code": "far", "region_code": "110101"},
                             headers=auth["admin"]), 403)
    for role in ("caseworker", "approver", "supervisor", "designer"):
        assert_error(client.post(URL, json={**body, "code": role}, headers=auth[role]), 403)
    assert_error(client.post(URL, json=body), 401)


def test_a_user_sees_the_funds_above_and_below_their_region(client, auth, svc):
    city = new_fund(svc, code="city", kind="city_relief", region="3708")
    county = new_fund(svc, code="county", kind="county_relief", region="370827")
    township = new_fund(svc, code="reserve", region=TOWNSHIP)
    village = new_fund(svc, code="village-charity", kind="charity_village", region=VILLAGE)
    new_fund(svc, code="neighbour", region="370827102")
    far = new_fund(svc, code="far", region="110101001")
    listed = client.get(URL, headers=auth["caseworker"])
    assert [f["id"] for f in listed.get_json()] == [city, county, township, village]
    assert listed.headers["X-Total-Count"] == "4"
    assert [f["id"] for f in client.get(f"{URL}?kind=charity_village",
                                        headers=auth["caseworker"]).get_json()] == [village]
    assert len(client.get(URL, headers=auth["approver"]).get_json()) == 5  # the whole county
    assert_error(client.get(f"{URL}/{far}", headers=auth["admin"]), 404)
    assert_error(client.get(f"{URL}/{far}/ledger", headers=auth["admin"]), 404)
    assert_error(client.get(f"{URL}/{far}/reconciliation", headers=auth["admin"]), 404)
    assert_error(client.get(URL, headers=auth["assistant"]), 403)
    assert_error(client.get(f"{URL}/{township}", headers=auth["committee"]), 403)
    assert_error(client.get(URL), 401)


def test_allocations_add_money_in_decimal_strings_only(client, auth, svc):
    fund = new_fund(svc, code="reserve")
    url = f"{URL}/{fund}/allocations"
    response = client.post(url, json={"amount": "3000", "note": "2026年第一季度"},
                           headers=auth["approver"])
    assert response.status_code == 201, response.get_json()
    entry = response.get_json()
    assert (entry["kind"], entry["amount"], entry["balance_delta"], entry["balance_after"]) == \
        ("allocation", "3000.00", "3000.00", "3000.00")
    assert entry["fund"]["balance"] == "3000.00" and entry["actor"] == "wang"
    for bad in (100.5, 100, "100.123", "0", "0.00", "-5", "1e3", "12345678901", None, True):
        error = assert_error(client.post(url, json={"amount": bad}, headers=auth["approver"]), 422)
        assert list(error["fields"]) == ["amount"], bad
    float_error = assert_error(client.post(url, json={"amount": 0.1}, headers=auth["admin"]), 422)
    assert "never a JSON number" in float_error["fields"]["amount"][0]
    assert_error(client.post(url, json={"note": "no amount"}, headers=auth["admin"]), 422)
    assert client.get(f"{URL}/{fund}", headers=auth["admin"]).get_json()["balance"] == "3000.00"


def test_allocations_are_for_admins_and_approvers_of_the_funds_region(client, auth, svc):
    fund = new_fund(svc, code="reserve")
    city = new_fund(svc, code="city", kind="city_relief", region="3708")
    far = new_fund(svc, code="far", region="110101001")
    body = {"amount": "10.00"}
    for role in ("caseworker", "supervisor", "assistant", "committee", "designer"):
        assert_error(client.post(f"{URL}/{fund}/allocations", json=body, headers=auth[role]), 403)
    assert_error(client.post(f"{URL}/{fund}/allocations", json=body, headers=auth.user("zhao")), 404)
    assert_error(client.post(f"{URL}/{far}/allocations", json=body, headers=auth["admin"]), 404)
    assert_error(client.post(f"{URL}/{city}/allocations", json=body, headers=auth["approver"]), 403)
    assert client.post(f"{URL}/{city}/allocations", json=body, headers=auth["admin"]).status_code == 201
    assert_error(client.post(f"{URL}/{fund}/allocations", json=body), 401)


def test_donations_go_to_charity_funds_only(client, auth, svc):
    charity = new_fund(svc, code="village-charity", kind="charity_village", region=VILLAGE)
    reserve = new_fund(svc, code="reserve")
    gift = {"amount": "500.00", "donor": "济宁市某企业", "note": "济时救村级慈善基金"}
    response = client.post(f"{URL}/{charity}/donations", json=gift, headers=auth["caseworker"])
    assert response.status_code == 201, response.get_json()
    assert (response.get_json()["kind"], response.get_json()["reference"]) == \
        ("donation", "donor:济宁市某企业")
    error = assert_error(client.post(f"{URL}/{reserve}/donations", json=gift,
                                     headers=auth["admin"]), 422)
    assert list(error["fields"]) == ["fund"]
    error = assert_error(client.post(f"{URL}/{charity}/donations", json={"amount": 5},
                                     headers=auth["caseworker"]), 422)
    assert set(error["fields"]) == {"amount", "donor"}
    assert_error(client.post(f"{URL}/{charity}/donations", json=gift, headers=auth["approver"]), 403)
    assert_error(client.post(f"{URL}/{charity}/donations", json=gift, headers=auth.user("li")), 404)
    assert client.get(f"{URL}/{charity}", headers=auth["admin"]).get_json()["balance"] == "500.00"


def test_the_ledger_is_paged_and_reconciles_to_the_fen(client, auth, svc):
    fund = new_fund(svc, code="reserve")
    for amount in ("0.10", "0.20", "1000.01"):
        client.post(f"{URL}/{fund}/allocations", json={"amount": amount}, headers=auth["admin"])
    page = client.get(f"{URL}/{fund}/ledger?limit=2", headers=auth["supervisor"])
    assert page.headers["X-Total-Count"] == "3"
    assert [e["amount"] for e in page.get_json()] == ["1000.01", "0.20"]
    assert [e["amount"] for e in client.get(f"{URL}/{fund}/ledger?limit=2&offset=2",
                                            headers=auth["admin"]).get_json()] == ["0.10"]
    assert_error(client.get(f"{URL}/{fund}/ledger?limit=0", headers=auth["admin"]), 422)
    reconciled = client.get(f"{URL}/{fund}/reconciliation", headers=auth["caseworker"]).get_json()
    assert reconciled == {"fund_id": fund, "balance": "1000.31", "ledger_balance": "1000.31",
                          "reserved": "0.00", "ledger_reserved": "0.00",
                          "balance_difference": "0.00", "reserved_difference": "0.00",
                          "entries": 3, "ok": True}


def test_a_payment_that_would_overdraw_the_fund_is_refused_with_409(client, auth, svc):
    fund = new_fund(svc, code="reserve-370827101", balance="100.00")
    case = start(svc, "pay")
    task = case.open_tasks[0].id
    refused = client.post(f"/api/v1/tasks/{task}/complete", json={"data": {"amount": "200.00"}},
                          headers=auth["caseworker"])
    assert_error(refused, 409, "conflict")
    assert client.get(f"{URL}/{fund}", headers=auth["admin"]).get_json()["balance"] == "100.00"
    paid = client.post(f"/api/v1/tasks/{task}/complete", json={"data": {"amount": "60.00"}},
                       headers=auth["caseworker"])
    assert paid.status_code == 200, paid.get_json()
    answer = client.get(f"/api/v1/cases/{case.id}", headers=auth["caseworker"]).get_json()
    [decision] = answer["decisions"]
    assert (decision["programme"], decision["decision"], decision["one_off_amount"]) == \
        ("linshi", "approved", "60.00")
    assert decision["decided_at"].endswith("+08:00") and decision["decided_by"] == "zhang"
    [payment] = answer["payments"]
    assert (payment["amount"], payment["fund"]) == ("60.00", "reserve-370827101")
    assert payment["paid_at"].endswith("+08:00") and payment["idempotency_key"].startswith(
        f"case:{case.id}:")
    [entry, _] = client.get(f"{URL}/{fund}/ledger", headers=auth["admin"]).get_json()
    assert (entry["kind"], entry["balance_delta"], entry["balance_after"], entry["reference"]) == \
        ("payment", "-60.00", "40.00", payment["idempotency_key"])
    assert client.get(f"{URL}/{fund}/reconciliation", headers=auth["admin"]).get_json()["ok"] is True


def test_a_credit_retried_with_its_idempotency_key_is_booked_once(client, auth, svc):
    fund = new_fund(svc, code="village-charity", kind="charity_village", region=VILLAGE)
    url = f"{URL}/{fund}/donations"
    body = {"amount": "500", "donor": "爱心企业"}
    key = {"Idempotency-Key": "bank-tx-20260302-0001"}
    first = client.post(url, json=body, headers={**auth["caseworker"], **key})
    again = client.post(url, json=body, headers={**auth["caseworker"], **key})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.get_json()["id"] == first.get_json()["id"]
    assert client.get(f"{URL}/{fund}", headers=auth["admin"]).get_json()["balance"] == "500.00"
    ledger = client.get(f"{URL}/{fund}/ledger", headers=auth["admin"]).get_json()
    assert [e["amount"] for e in ledger] == ["500.00"]
    # the same key for another amount is the client's mistake, not a replay
    error = assert_error(client.post(url, json={**body, "amount": "600"},
                                     headers={**auth["caseworker"], **key}), 409)
    assert "Idempotency-Key" in error["message"]
    # keys are per user: another user's identical key is a new donation
    assert client.post(url, json=body, headers={**auth["admin"], **key}).status_code == 201
    assert client.get(f"{URL}/{fund}", headers=auth["admin"]).get_json()["balance"] == "1000.00"
    error = assert_error(client.post(url, json=body, headers={**auth["caseworker"], "Idempotency-Key": "a b"}), 422)
    assert list(error["fields"]) == ["Idempotency-Key"]
