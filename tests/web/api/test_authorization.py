"""The authorization matrix: every role against a household, case and task in and outside its region.

Inside the region the role decides (403 when it may not); outside, the object does not exist (404),
and lists and counts never include it.  Every user below has a region that covers VILLAGE; FAR is a
village of another province, outside every one of them.
"""

from __future__ import annotations

import os

import pytest

from engine.actors import SYSTEM
from engine.casework import records
from engine.casework.types import Household
from tests.web.api.conftest import ROLE_USER, VILLAGE, assert_error, household

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


# --------------------------------------------------------------------------- every endpoint (R8)

#: path parameter → the kind of object of the ``far`` world it is filled with
ID_PARAMS = {"household_id": "household", "case_id": "case", "task_id": "task", "fund_id": "fund",
             "referral_id": "referral", "signal_id": "signal", "batch_id": "batch",
             "entitlement_id": "entitlement", "document_id": "document"}
#: a valid body for each write, by the rule's last segment: the refusal must not hinge on a bad body
BODIES = {"pause": {"reason": "r8"}, "allocations": {"amount": "1.00", "note": "r8"},
          "donations": {"amount": "1.00", "donor": "r8"}, "feedback": {"outcome": "done", "feedback": "r8"},
          "complete": {"data": {}}, "delegate": {"to": "zhang"},
          "bank-account": {"bank": "r8", "account_no": "6228480000000001", "holder": "韩进"}}


def body_for(method: str, rule: str):
    last = rule.rsplit("/", 1)[-1]
    if method == "PUT":
        return BODIES.get(last, household(FAR))
    return BODIES.get(last, {}) if method == "POST" else None


def denials(services, username: str) -> int:
    from sqlalchemy import func, select

    from engine.actors import DENIED
    from engine.workflow.models import AuditEvent

    with services.db.read() as session:
        return session.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.chain == f"user:{username}", AuditEvent.action == DENIED)).scalar()


def far_objects(services, world) -> dict[str, int]:
    """The ``far`` household, case and task, plus a fund, a referral slip and a signal in FAR."""
    from datetime import timedelta

    from engine.casework import funds, referrals
    from engine.casework.signals import Signal

    now = services.clock.now()
    objects = {kind: world["far"][kind] for kind in ("household", "case", "task")}
    with services.db.write() as session:
        objects["fund"] = funds.create_fund(session, code="far-reserve", kind="township_reserve",
                                            region_code=FAR[:9], name="far").id
        objects["referral"] = referrals.create_referral(
            session, instance_id=objects["case"], household_id=objects["household"], region_code=FAR,
            target="housing", reason="r8", due_at=now + timedelta(days=5), at=now, actor="system").id
        signal = Signal(source="r8", source_id="far-1", kind="village_report", region_code=FAR, details={},
                        received_at=now, received_by="system", status="received")
        session.add(signal)
        session.flush()
        objects["signal"] = signal.id
        from engine.casework.benefits import cycles

        objects["batch"] = cycles.draft(session, region_code=FAR[:6], month="2026-03", actor="system", at=now).id
        from engine.casework import documents, payments
        from engine.casework.benefits import entitlements

        objects["entitlement"] = entitlements.create(
            session, household_id=objects["household"], programme="dibao", region_code=FAR, monthly_fen=100,
            start_month="2026-04", persons=1, actor="system", at=now).id
        decision = payments.record_decision(session, instance_id=objects["case"], household_id=objects["household"],
                                            programme="dibao", decision="refused", at=now, actor="system",
                                            decided_on=now.date(), reasons=["r8"])
        objects["document"] = documents.issue_for_decision(session, decision, at=now, actor="system").id
    return objects


def test_every_id_parameter_of_the_api_is_in_the_matrix(app):
    """A new kind of object cannot slip past the matrix: its id parameter must be listed above."""
    params = {p for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1/")
              for p in rule.arguments if p.endswith("_id")}
    assert params <= set(ID_PARAMS), sorted(params - set(ID_PARAMS))


def object_routes(app) -> list[tuple[str, str, str]]:
    """(method, rule, path parameter) of every API route addressing one object by id."""
    found = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/") or rule.endpoint.startswith("api_fallback."):
            continue
        params = [p for p in rule.arguments if p in ID_PARAMS]
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            if params:
                found.append((method, rule.rule, params[0]))
    return sorted(found)


def same_as_absent(client, rule, param, method, headers, response) -> bool:
    """The same 422 for an id that exists nowhere: the body was refused before any lookup, so the
    answer says nothing about the object (and nothing was read or written)."""
    absent = client.open(rule.replace(f"<api_id:{param}>", "999999999999"), method=method,
                         json=body_for(method, rule), headers=headers)
    return absent.status_code == 422 and absent.get_json() == response.get_json()


@pytest.mark.parametrize("role", ROLES)
def test_every_object_endpoint_denies_another_region_with_one_audit_row_per_denial(
        app, client, auth, services, world, role, database_url):
    if database_url.startswith("postgresql") and role not in ("caseworker", "designer") \
            and not os.environ.get("JISHIJIU_SOAK"):
        pytest.skip("every role on SQLite; on PostgreSQL two roles (all with JISHIJIU_SOAK=1)")
    objects = far_objects(services, world)
    headers, username = auth[role], ROLE_USER[role]
    routes = object_routes(app)
    assert len(routes) >= 20, routes
    refused = []
    for method, rule, param in routes:
        path = rule.replace(f"<api_id:{param}>", str(objects[ID_PARAMS[param]]))
        before = denials(services, username)
        response = client.open(path, method=method, json=body_for(method, rule), headers=headers)
        if response.status_code == 422 and same_as_absent(client, rule, param, method, headers, response):
            continue  # our body is wrong for a route the matrix has no body for: checked before any lookup
        if response.status_code not in (403, 404):
            refused.append((method, path, response.status_code))
            continue
        assert response.get_json()["error"]["code"].endswith(("not_found", "not_allowed"))
        if denials(services, username) != before + 1:
            refused.append((method, path, "no audit row"))
    assert refused == [], "\n".join(map(str, refused))


def test_a_denied_read_outside_the_region_is_the_same_404_as_an_absent_object(client, auth, services, world):
    headers = auth["caseworker"]
    outside = client.get(f"/api/v1/cases/{world['far']['case']}", headers=headers)
    absent = client.get("/api/v1/cases/999999999", headers=headers)
    assert outside.status_code == absent.status_code == 404
    assert outside.get_json()["error"]["code"] == absent.get_json()["error"]["code"] == "not_found"
    assert denials(services, "zhang") == 2


def test_reads_inside_the_region_leave_no_denial(client, auth, services, world):
    for suffix in ("", "/events", "/diagram"):
        assert client.get(f"/api/v1/cases/{world['own']['case']}{suffix}",
                          headers=auth["caseworker"]).status_code == 200
    assert denials(services, "zhang") == 0
