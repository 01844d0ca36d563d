"""The authorization matrix, continued: signals, referrals, funds, clocks, retries and migration.

Every role against an object in its region and one in FAR, a village of another province: inside,
the role decides (403 when it may not); outside, the object does not exist (404) for the roles
that may use the endpoint at all, and lists never include it.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import update

from engine.actors import SYSTEM
from engine.casework import funds, referrals, signals
from engine.workflow.models import ProcessInstance
from tests.web.api.casework.conftest import FAR, deploy, start
from tests.web.api.conftest import VILLAGE, assert_error

ROLES = ("admin", "caseworker", "assistant", "approver", "supervisor", "committee", "designer")
CASE_READERS = {"admin", "caseworker", "assistant", "approver", "supervisor", "committee"}
SIGNAL_REPORTERS = {"admin", "caseworker", "assistant"}
SIGNAL_READERS = {"admin", "caseworker", "assistant", "approver", "supervisor"}
REFERRAL_WRITERS = {"admin", "caseworker", "approver"}
REFERRAL_READERS = {"admin", "caseworker", "approver", "supervisor"}
FUND_READERS = {"admin", "caseworker", "approver", "supervisor"}
ALLOCATORS = {"admin", "approver"}
DONATION_TAKERS = {"admin", "caseworker"}
CLOCK_HOLDERS = {"admin", "caseworker", "approver", "supervisor"}
RETRIERS = {"admin", "supervisor"}
MIGRATORS = {"admin", "designer"}


@pytest.fixture
def world(svc):
    """A case (with a running statutory clock), signal, slip, reserve and charity fund in VILLAGE
    and the same in FAR."""
    deploy(svc, "publicity.bpmn")
    now = svc.clock.now()
    found = {}
    for name, region in (("own", VILLAGE), ("far", FAR)):
        case = start(svc, "deadline", region=region)
        received = signals.receive(svc.db, svc.engine, signals.SignalIn(
            source="12345", source_id=f"S-{name}", kind="hotline_12345", region_code=region),
            actor=SYSTEM, now=now)
        with svc.db.write() as session:
            slip = referrals.create_referral(session, instance_id=case.id, household_id=None,
                                             region_code=region, target="housing", reason="危房",
                                             due_at=now, at=now, actor="system")
            reserve = funds.create_fund(session, code=f"reserve-{name}", kind="township_reserve",
                                        region_code=region[:9], name="备用金")
            funds.post(session, reserve, "allocation", Decimal("100"), at=now, actor="system")
            charity = funds.create_fund(session, code=f"charity-{name}", kind="charity_village",
                                        region_code=region, name="村级慈善基金")
            found[name] = {"case": case.id, "signal": received.signal.id, "referral": slip.id,
                           "fund": reserve.id, "charity": charity.id}
    return found


def expect(response, status):
    if status >= 400:
        assert_error(response, status)
    else:
        assert response.status_code == status, (response.status_code, response.get_json())


def allowed(role, roles, ok):
    return ok if role in roles else 403


@pytest.mark.parametrize("role", ROLES)
def test_signals(client, auth, world, role):
    headers, own, far = auth[role], world["own"]["signal"], world["far"]["signal"]
    body = {"source": "village", "source_id": f"V-{role}", "kind": "village_report",
            "region_code": VILLAGE}
    expect(client.post("/api/v1/signals", json=body, headers=headers),
           allowed(role, SIGNAL_REPORTERS, 201))
    expect(client.post("/api/v1/signals", json={**body, "source_id": "F", "region_code": FAR},
                       headers=headers), 403)
    expect(client.post("/api/v1/signals/batch", json=[body], headers=headers),
           allowed(role, SIGNAL_REPORTERS, 200))
    expect(client.get(f"/api/v1/signals/{own}", headers=headers), allowed(role, SIGNAL_READERS, 200))
    expect(client.get(f"/api/v1/signals/{far}", headers=headers), allowed(role, SIGNAL_READERS, 404))
    listed = client.get("/api/v1/signals", headers=headers)
    if role in SIGNAL_READERS:
        assert far not in {s["id"] for s in listed.get_json()}
        assert own in {s["id"] for s in listed.get_json()}
    else:
        assert_error(listed, 403)


@pytest.mark.parametrize("role", ROLES)
def test_referrals(client, auth, world, role):
    headers, own, far = auth[role], world["own"], world["far"]
    expect(client.post("/api/v1/referrals", json={"case_id": own["case"], "target": "housing",
                                                  "reason": "危房改造"}, headers=headers),
           allowed(role, REFERRAL_WRITERS, 201))
    expect(client.post("/api/v1/referrals", json={"case_id": far["case"], "target": "housing",
                                                  "reason": "危房改造"}, headers=headers),
           allowed(role, REFERRAL_WRITERS, 404))
    expect(client.get(f"/api/v1/referrals/{own['referral']}", headers=headers),
           allowed(role, REFERRAL_READERS, 200))
    expect(client.get(f"/api/v1/referrals/{far['referral']}", headers=headers),
           allowed(role, REFERRAL_READERS, 404))
    answer = {"outcome": "done", "feedback": "已纳入危房改造"}
    expect(client.post(f"/api/v1/referrals/{far['referral']}/feedback", json=answer, headers=headers),
           allowed(role, REFERRAL_WRITERS, 404))
    expect(client.post(f"/api/v1/referrals/{own['referral']}/feedback", json=answer, headers=headers),
           allowed(role, REFERRAL_WRITERS, 200))
    listed = client.get("/api/v1/referrals", headers=headers)
    if role in REFERRAL_READERS:
        assert far["referral"] not in {r["id"] for r in listed.get_json()}
        assert own["referral"] in {r["id"] for r in listed.get_json()}
    else:
        assert_error(listed, 403)


@pytest.mark.parametrize("role", ROLES)
def test_funds(client, auth, world, role):
    headers, own, far = auth[role], world["own"], world["far"]
    for suffix in ("", "/ledger", "/reconciliation"):
        expect(client.get(f"/api/v1/funds/{own['fund']}{suffix}", headers=headers),
               allowed(role, FUND_READERS, 200))
        expect(client.get(f"/api/v1/funds/{far['fund']}{suffix}", headers=headers),
               allowed(role, FUND_READERS, 404))
    money = {"amount": "10.00"}
    expect(client.post(f"/api/v1/funds/{own['fund']}/allocations", json=money, headers=headers),
           allowed(role, ALLOCATORS, 201))
    expect(client.post(f"/api/v1/funds/{far['fund']}/allocations", json=money, headers=headers),
           allowed(role, ALLOCATORS, 404))
    gift = {"amount": "10.00", "donor": "爱心人士"}
    expect(client.post(f"/api/v1/funds/{own['charity']}/donations", json=gift, headers=headers),
           allowed(role, DONATION_TAKERS, 201))
    expect(client.post(f"/api/v1/funds/{far['charity']}/donations", json=gift, headers=headers),
           allowed(role, DONATION_TAKERS, 404))
    expect(client.post("/api/v1/funds", json={"code": f"new-{role}", "kind": "charity_village",
                                              "region_code": VILLAGE, "name": "新基金"},
                       headers=headers), allowed(role, {"admin"}, 201))
    listed = client.get("/api/v1/funds", headers=headers)
    if role in FUND_READERS:
        assert {own["fund"], own["charity"]} <= {f["id"] for f in listed.get_json()}
        assert not {far["fund"], far["charity"]} & {f["id"] for f in listed.get_json()}
    else:
        assert_error(listed, 403)


@pytest.mark.parametrize("role", ROLES)
def test_clocks_and_retries(client, auth, svc, world, role):
    headers, own, far = auth[role], world["own"]["case"], world["far"]["case"]
    expect(client.get(f"/api/v1/cases/{own}/clocks", headers=headers),
           allowed(role, CASE_READERS, 200))
    expect(client.get(f"/api/v1/cases/{far}/clocks", headers=headers),
           allowed(role, CASE_READERS, 404))
    for action, body in (("pause", {"reason": "x"}), ("resume", {})):
        expect(client.post(f"/api/v1/cases/{far}/clock/{action}", json=body, headers=headers),
               allowed(role, CLOCK_HOLDERS, 404))
    expect(client.post(f"/api/v1/cases/{own}/clock/pause", json={"reason": "等待材料"},
                       headers=headers), allowed(role, CLOCK_HOLDERS, 200))
    expect(client.post(f"/api/v1/cases/{own}/clock/resume", json={}, headers=headers),
           allowed(role, CLOCK_HOLDERS, 200))
    with svc.db.write() as session:
        session.execute(update(ProcessInstance).where(ProcessInstance.id.in_([own, far]))
                        .values(status="error", error="failed"))
    expect(client.post(f"/api/v1/cases/{far}/retry", headers=headers), allowed(role, RETRIERS, 404))
    expect(client.post(f"/api/v1/cases/{own}/retry", headers=headers), allowed(role, RETRIERS, 200))
    listed = client.get("/api/v1/cases?status=error", headers=headers)
    if role in CASE_READERS:
        assert far not in {c["id"] for c in listed.get_json()}
    else:
        assert_error(listed, 403)


@pytest.mark.parametrize("role", ROLES)
def test_migration(client, auth, world, role):
    headers, own, far = auth[role], world["own"]["case"], world["far"]["case"]
    url = "/api/v1/processes/deadline/migrate"
    expect(client.post(url, json={"case_ids": [own], "to_version": 1}, headers=headers),
           allowed(role, MIGRATORS, 200))
    expect(client.post(url, json={"case_ids": [far], "to_version": 1}, headers=headers),
           allowed(role, MIGRATORS, 404))
    answered = client.post(url, json={"all_active": True, "to_version": 1}, headers=headers)
    if role in MIGRATORS:
        assert answered.get_json() == []  # every case of the region already runs version 1
    else:
        assert_error(answered, 403)
