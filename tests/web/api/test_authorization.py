"""The authorization matrix: every role against a household, case and task in and outside its region.

Inside the region the role decides (403 when it may not); outside, the object does not exist (404),
and lists and counts never include it.  Every user below has a region that covers VILLAGE; FAR is a
village of another province, outside every one of them.
"""

from __future__ import annotations

import pytest

from engine.actors import SYSTEM
from engine.casework import records
from engine.casework.types import Household
from tests.web.api.conftest import VILLAGE, assert_error, household

FAR = "110101001001"
ROLES = ("admin", "caseworker", "assistant", "approver", "supervisor", "committee", "designer")
READERS = {"admin", "caseworker", "assistant", "approver", "supervisor", "committee"}
CREATORS = {"admin", "caseworker", "assistant"}
CLAIMERS = {"admin", "caseworker"}  # the task is for the caseworker group


@pytest.fixture
def world(client, auth, services, deployed):
    """A household, case and open task in VILLAGE and the same in FAR."""
    deployed()
    found = {}
    for name, region in (("own", VILLAGE), ("far", FAR)):
        with services.db.write() as session:
            household_id = records.create_household(session, Household.from_dict(household(region)),
                                                    actor=SYSTEM, now=services.clock.now())
        case = services.engine.start("publicity", actor=SYSTEM, region_code=region,
                                     household_id=household_id)
        found[name] = {"household": household_id, "case": case.id, "task": case.open_tasks[0].id}
    return found


def expect(response, status):
    if status >= 400:
        assert_error(response, status)
    else:
        assert response.status_code == status, response.get_json()


@pytest.mark.parametrize("role", ROLES)
def test_households(client, auth, world, role):
    headers = auth[role]
    inside, outside = world["own"]["household"], world["far"]["household"]
    expect(client.get(f"/api/v1/households/{inside}", headers=headers), 200 if role in READERS else 403)
    expect(client.get(f"/api/v1/households/{outside}", headers=headers), 404 if role in READERS else 403)
    expect(client.post("/api/v1/households", json=household(VILLAGE), headers=headers),
           201 if role in CREATORS else 403)
    expect(client.post("/api/v1/households", json=household(FAR), headers=headers), 403)
    expect(client.put(f"/api/v1/households/{outside}", json=household(FAR), headers=headers),
           404 if role in CREATORS else 403)
    listed = client.get("/api/v1/households", headers=headers)
    if role in READERS:
        assert outside not in {h["id"] for h in listed.get_json()}
        assert listed.headers["X-Total-Count"] == str(1 + (role in CREATORS))
    else:
        assert_error(listed, 403)


@pytest.mark.parametrize("role", ROLES)
def test_cases(client, auth, world, role):
    headers = auth[role]
    inside, outside = world["own"], world["far"]
    for suffix in ("", "/events", "/diagram"):
        expect(client.get(f"/api/v1/cases/{inside['case']}{suffix}", headers=headers),
               200 if role in READERS else 403)
        expect(client.get(f"/api/v1/cases/{outside['case']}{suffix}", headers=headers),
               404 if role in READERS else 403)
    start = {"process": "publicity", "household_id": inside["household"]}
    expect(client.post("/api/v1/cases", json=start, headers=headers), 201 if role in CREATORS else 403)
    start_far = {"process": "publicity", "household_id": outside["household"]}
    expect(client.post("/api/v1/cases", json=start_far, headers=headers),
           404 if role in CREATORS else 403)
    listed = client.get("/api/v1/cases", headers=headers)
    if role in READERS:
        assert outside["case"] not in {c["id"] for c in listed.get_json()}
        assert listed.headers["X-Total-Count"] == str(1 + (role in CREATORS))
    else:
        assert_error(listed, 403)


@pytest.mark.parametrize("role", ROLES)
def test_tasks(client, auth, world, role):
    headers = auth[role]
    inside, outside = world["own"]["task"], world["far"]["task"]
    expect(client.get(f"/api/v1/tasks/{inside}", headers=headers), 200 if role in READERS else 403)
    expect(client.get(f"/api/v1/tasks/{outside}", headers=headers), 404 if role in READERS else 403)
    for action in ("claim", "complete"):
        expect(client.post(f"/api/v1/tasks/{outside}/{action}", json={}, headers=headers),
               404 if role in READERS else 403)
    expect(client.post(f"/api/v1/tasks/{inside}/claim", headers=headers),
           200 if role in CLAIMERS else 403)
    listed = client.get("/api/v1/tasks", headers=headers)
    if role in READERS:
        assert [t["id"] for t in listed.get_json()] == [inside]
        assert listed.headers["X-Total-Count"] == "1"
    else:
        assert_error(listed, 403)
