"""Standards are data: admins add rows per region and date; everyone signed in reads them."""

from __future__ import annotations

from tests.web.api.conftest import STANDARD, VILLAGE, assert_error


def test_an_admin_adds_a_standard_and_it_reads_back_as_decimal_strings(client, auth):
    response = client.post("/api/v1/standards", json=STANDARD, headers=auth["admin"])
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["id"] > 0
    assert body["dibao_rural"] == "700.00" and body["tekun_urban"] == "1144.00"
    assert body["marginal_multiplier"] == "2" and body["county_relief_limit"] is None
    [row] = client.get("/api/v1/standards", headers=auth["caseworker"]).get_json()
    assert row["valid_from"] == "2022-01-01" and row["care_total"] == "600.00"


def test_only_an_admin_may_add_standards(client, auth):
    for role in ("caseworker", "approver", "supervisor", "designer"):
        assert_error(client.post("/api/v1/standards", json=STANDARD, headers=auth[role]),
                     403, "not_allowed")


def test_a_second_row_for_the_same_region_and_day_is_a_conflict(client, auth):
    assert client.post("/api/v1/standards", json=STANDARD, headers=auth["admin"]).status_code == 201
    assert_error(client.post("/api/v1/standards", json=STANDARD, headers=auth["admin"]), 409)


def test_an_invalid_standard_names_every_bad_field(client, auth):
    bad = {**STANDARD, "dibao_rural": 700.5, "region_code": "3708", "valid_from": "2022-13-01"}
    del bad["care_self"]
    error = assert_error(client.post("/api/v1/standards", json=bad, headers=auth["admin"]), 422)
    assert {"dibao_rural", "valid_from", "care_self"} <= set(error["fields"])


def test_the_standard_in_force_for_a_village_on_a_date(client, auth):
    for row in (STANDARD, {**STANDARD, "valid_from": "2023-01-01", "dibao_rural": "750"},
                {**STANDARD, "region_code": "370827101", "valid_from": "2023-01-01",
                 "dibao_rural": "760"}):
        assert client.post("/api/v1/standards", json=row, headers=auth["admin"]).status_code == 201
    headers = auth["caseworker"]
    [found] = client.get(f"/api/v1/standards?region_code={VILLAGE}&on=2023-06-01",
                         headers=headers).get_json()
    assert found["dibao_rural"] == "760.00"  # same day: the longer prefix wins
    [found] = client.get(f"/api/v1/standards?region_code={VILLAGE}&on=2022-06-01",
                         headers=headers).get_json()
    assert found["dibao_rural"] == "700.00"
    assert client.get(f"/api/v1/standards?region_code={VILLAGE}&on=2021-06-01",
                      headers=headers).get_json() == []
    assert len(client.get("/api/v1/standards?region_code=370828", headers=headers).get_json()) == 0
    assert_error(client.get("/api/v1/standards?on=2022-06-01", headers=headers), 422)
