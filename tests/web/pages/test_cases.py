"""The case page: status, tasks, the audit timeline, masked ID numbers and audited reveals."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.casework import idnumber
from engine.workflow.models import AuditEvent
from tests.web.pages.conftest import HEAD_ID, WIFE_ID, actor_of, csrf_of

pytestmark = pytest.mark.usefixtures("needs_households")


@pytest.fixture
def needs_households(world):
    if world.household_id is None:
        pytest.skip("engine.casework.records is not there yet")


def reveals(world) -> list[AuditEvent]:
    with world.services.db.read() as db:
        return list(db.execute(select(AuditEvent).where(
            AuditEvent.action.in_(["id_number.revealed", "household.id_number_revealed"]))).scalars())


@pytest.mark.parametrize("username", ["zhang", "wang", "sun", "root"])
def test_id_numbers_are_masked_for_everyone(world, as_user, username):
    page = as_user(username).get(f"/cases/{world.case_id}").get_data(as_text=True)
    assert idnumber.mask(HEAD_ID) in page and idnumber.mask(WIFE_ID) in page
    assert HEAD_ID not in page and WIFE_ID not in page
    assert HEAD_ID[6:14] not in page  # not even the birth-date part


def test_a_caseworker_may_reveal_one_number_and_the_reveal_is_audited(world, as_user):
    client = as_user("zhang")
    token = csrf_of(client, f"/cases/{world.case_id}")
    response = client.post(f"/cases/{world.case_id}/reveal", data={"csrf_token": token, "member": "1"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert WIFE_ID in page and HEAD_ID not in page
    assert response.headers["Cache-Control"] == "private, no-store"
    [on_case, on_household] = sorted(reveals(world), key=lambda e: e.chain)
    assert on_case.chain == f"case:{world.case_id}" and on_case.actor == "zhang"
    assert on_household.chain == f"household:{world.household_id}"
    assert on_case.after["id_number"] == idnumber.mask(WIFE_ID)  # the audit keeps only the mask
    assert WIFE_ID not in str(on_case.after)
    again = client.get(f"/cases/{world.case_id}").get_data(as_text=True)
    assert WIFE_ID not in again  # shown once, not remembered
    assert "查看完整身份证号" in again


@pytest.mark.parametrize("username, status", [("sun", 403), ("li", 404), ("cun", 404)])
def test_others_may_not_reveal(world, as_user, username, status):
    client = as_user(username)
    token = csrf_of(client, "/inbox")
    response = client.post(f"/cases/{world.case_id}/reveal", data={"csrf_token": token, "member": "0"})
    assert response.status_code == status
    assert HEAD_ID not in response.get_data(as_text=True)
    assert reveals(world) == []


def test_supervisors_see_no_show_button_and_no_health_data(world, as_user):
    page = as_user("sun").get(f"/cases/{world.case_id}").get_data(as_text=True)
    assert "/reveal" not in page
    assert "肢体" not in page
    assert "肢体" in as_user("zhang").get(f"/cases/{world.case_id}").get_data(as_text=True)


def test_the_case_shows_status_open_tasks_timeline_and_diagram(world, as_user):
    world.services.engine.claim(world.task_id, actor_of("zhang"))
    page = as_user("zhang").get(f"/cases/{world.case_id}").get_data(as_text=True)
    assert "办理中" in page
    assert f'data-task-id="{world.task_id}"' in page
    assert "立案，流程启动" in page and "领取任务" in page
    assert "审计链完整" in page
    assert 'data-element-id="investigate"' in page
    assert 'class="node userTask current"' in page
    assert "当前位置：" in page


def test_id_numbers_typed_into_forms_are_masked_in_the_timeline(world, as_user):
    world.services.engine.complete(world.task_id, actor_of("zhang"), {"income": "650", "note": f"户主 {HEAD_ID}"})
    page = as_user("zhang").get(f"/cases/{world.case_id}").get_data(as_text=True)
    assert HEAD_ID not in page
    assert idnumber.mask(HEAD_ID) in page
