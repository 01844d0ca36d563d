"""Households through the API: register, read (masked), reveal (audited), list, change."""

from __future__ import annotations

from sqlalchemy import select

from engine.casework import idnumber
from engine.workflow.models import AuditEvent
from tests.web.api.conftest import OTHER_VILLAGE, VILLAGE, assert_error, household, member

HEAD_ID = member()["id_number"]
MASKED = idnumber.mask(HEAD_ID)


def chain_actions(services, chain):
    with services.db.read() as session:
        return list(session.execute(select(AuditEvent.action).where(AuditEvent.chain == chain)
                                    .order_by(AuditEvent.seq)).scalars())


def test_a_caseworker_registers_a_household_and_sees_the_id_number_masked(client, auth, services):
    response = client.post("/api/v1/households", json=household(), headers=auth["caseworker"])
    assert response.status_code == 201
    body = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/households/{body['id']}")
    assert body["region_code"] == VILLAGE and body["hukou"] == "rural"
    assert body["hukou_region_code"] == VILLAGE
    assert body["members"][0]["id_number"] == MASKED == "370827********" + HEAD_ID[-4:]
    assert body["members"][0]["birth_date"] == "1980-01-01"
    assert body["members"][0]["income"]["wages"] == "0.00"
    assert body["version"] == 1 and body["created_by"] == "zhang"
    assert body["created_at"].endswith("+08:00")
    with services.db.read() as session:
        [event] = session.execute(select(AuditEvent).where(
            AuditEvent.chain == f"household:{body['id']}")).scalars()
    assert event.action == "household.created"
    assert HEAD_ID not in str(event.after) and MASKED in str(event.after)


def test_an_invalid_household_is_422_with_field_paths_and_no_id_number(client, auth):
    bad = household(members=[{**member(), "id_number": HEAD_ID[:-1] + ("0" if HEAD_ID[-1] != "0" else "1")}])
    response = client.post("/api/v1/households", json=bad, headers=auth["caseworker"])
    error = assert_error(response, 422, "validation_error")
    assert error["fields"] == {"members[0].id_number": ["check digit is wrong"]}
    assert bad["members"][0]["id_number"] not in response.get_data(as_text=True)
    error = assert_error(client.post("/api/v1/households", json={"hukou": "city"},
                                     headers=auth["caseworker"]), 422)
    assert {"region_code", "members", "hukou"} <= set(error["fields"])


def test_reading_a_household_and_revealing_its_id_numbers_is_audited(client, auth, services,
                                                                     make_household):
    household_id = make_household()
    plain = client.get(f"/api/v1/households/{household_id}", headers=auth["caseworker"])
    assert plain.get_json()["members"][0]["id_number"] == MASKED
    revealed = client.get(f"/api/v1/households/{household_id}?reveal=id_number",
                          headers=auth["caseworker"])
    assert revealed.status_code == 200
    assert revealed.get_json()["members"][0]["id_number"] == HEAD_ID
    assert chain_actions(services, f"household:{household_id}") == [
        "household.created", "household.id_numbers_revealed"]
    assert_error(client.get(f"/api/v1/households/{household_id}?reveal=id_number",
                            headers=auth["supervisor"]), 403, "not_allowed")
    assert_error(client.get(f"/api/v1/households/{household_id}?reveal=everything",
                            headers=auth["caseworker"]), 422)


def test_a_household_outside_the_region_does_not_exist_for_the_caller(client, auth, make_household):
    household_id = make_household(OTHER_VILLAGE)
    assert_error(client.get(f"/api/v1/households/{household_id}", headers=auth["caseworker"]),
                 404, "not_found")
    assert_error(client.get("/api/v1/households/424242", headers=auth["caseworker"]), 404)


def test_the_list_and_its_count_hold_only_the_callers_region(client, auth, make_household):
    mine = [make_household() for _ in range(3)]
    make_household(OTHER_VILLAGE)
    response = client.get("/api/v1/households?limit=2", headers=auth["caseworker"])
    assert response.status_code == 200
    assert response.headers["X-Total-Count"] == "3"
    assert [h["id"] for h in response.get_json()] == sorted(mine, reverse=True)[:2]
    rest = client.get("/api/v1/households?limit=2&offset=2", headers=auth["caseworker"]).get_json()
    assert [h["id"] for h in rest] == [min(mine)]
    everyone = client.get("/api/v1/households", headers=auth["admin"])
    assert everyone.headers["X-Total-Count"] == "4"
    under = client.get(f"/api/v1/households?region_code={OTHER_VILLAGE[:9]}", headers=auth["admin"])
    assert under.headers["X-Total-Count"] == "1"
    outside = client.get(f"/api/v1/households?region_code={OTHER_VILLAGE[:9]}",
                         headers=auth["caseworker"])
    assert outside.headers["X-Total-Count"] == "0" and outside.get_json() == []


def test_a_household_is_changed_with_its_version_and_masked_ids_sent_back(client, auth, services,
                                                                         make_household):
    household_id = make_household()
    current = client.get(f"/api/v1/households/{household_id}", headers=auth["caseworker"]).get_json()
    current["members"].append(member("韩梅", seq=124, relation="spouse", wages="300"))
    response = client.put(f"/api/v1/households/{household_id}", json=current,
                          headers=auth["caseworker"])
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["version"] == 2 and len(body["members"]) == 2
    revealed = client.get(f"/api/v1/households/{household_id}?reveal=id_number",
                          headers=auth["caseworker"]).get_json()
    assert revealed["members"][0]["id_number"] == HEAD_ID  # the masked one was kept, not replaced
    stale = client.put(f"/api/v1/households/{household_id}", json=current,
                       headers=auth["caseworker"])
    assert_error(stale, 409, "conflict")
    assert "household.updated" in chain_actions(services, f"household:{household_id}")


def test_a_household_cannot_be_moved_out_of_the_callers_region(client, auth, make_household):
    household_id = make_household()
    moved = {**household(OTHER_VILLAGE), "version": 1}
    assert_error(client.put(f"/api/v1/households/{household_id}", json=moved,
                            headers=auth["caseworker"]), 403)


def test_the_version_must_be_a_number(client, auth, make_household):
    household_id = make_household()
    error = assert_error(client.put(f"/api/v1/households/{household_id}",
                                    json={**household(), "version": "one"},
                                    headers=auth["caseworker"]), 422)
    assert error["fields"] == {"version": ["must be a whole number"]}


def test_a_member_without_an_id_number_is_422_not_a_crash(client, auth):
    nameless = {key: value for key, value in member().items() if key != "id_number"}
    error = assert_error(client.post("/api/v1/households", json=household(members=[nameless]),
                                     headers=auth["caseworker"]), 422)
    assert error["fields"]["members[0].id_number"] == ["required"]
