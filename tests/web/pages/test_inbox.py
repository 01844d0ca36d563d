"""The inbox: tabs, working-day countdowns and SLA colours, filters, paging, claim / unclaim / delegate."""

from __future__ import annotations

import re
from datetime import timedelta

from engine.workflow.models import HumanTask
from tests.web.pages.conftest import VILLAGE, actor_of, csrf_of, start_case


def row_of(page: str, task_id: int) -> str:
    match = re.search(rf'<li class="task ([^"]*)" data-task-id="{task_id}">(.*?)</li>', page, re.S)
    assert match, f"task {task_id} is not listed"
    return match.group(1) + match.group(2)


def test_unclaimed_task_shows_its_working_days_left_in_green(world, as_user):
    page = as_user("zhang").get("/inbox?view=group").get_data(as_text=True)
    row = row_of(page, world.task_id)
    # created Monday 2026-03-02, due in 3 working days: Thursday 03-05 23:59
    assert "剩余 3 个工作日" in row
    assert "2026-03-05 23:59" in row
    assert "sla-edge-ok" in row


def test_the_last_working_day_is_amber_and_a_late_task_red(world, as_user, clock):
    client = as_user("zhang")
    clock.advance(timedelta(days=2, hours=12))  # Wednesday evening
    row = row_of(client.get("/inbox?view=group").get_data(as_text=True), world.task_id)
    assert "剩余 1 个工作日" in row and "sla-edge-warn" in row
    clock.advance(timedelta(days=1))  # Thursday evening: due today
    assert "今日到期" in row_of(client.get("/inbox?view=due").get_data(as_text=True), world.task_id)
    clock.advance(timedelta(days=4))  # the next Monday, 23:00
    page = client.get("/inbox?view=overdue").get_data(as_text=True)
    row = row_of(page, world.task_id)
    assert "超期 2 个工作日" in row and "sla-edge-overdue" in row  # Friday and Monday
    assert "count-alert" in page


def test_tabs_count_mine_group_due_and_overdue(world, as_user):
    client = as_user("zhang")
    page = client.get("/inbox").get_data(as_text=True)
    assert re.search(r'tab-mine".*?<span class="count">0</span>', page, re.S)
    assert re.search(r'tab-group".*?<span class="count">1</span>', page, re.S)
    assert "查看组内待领取的 1 项任务" in page


def test_filters_by_text_process_and_group(world, as_user):
    client = as_user("zhang")
    assert f'data-task-id="{world.task_id}"' in client.get("/inbox?view=group&q=入户").get_data(as_text=True)
    assert f'data-task-id="{world.task_id}"' not in client.get("/inbox?view=group&q=审批").get_data(as_text=True)
    assert f'data-task-id="{world.task_id}"' in client.get("/inbox?view=group&process=casework").get_data(as_text=True)
    assert f'data-task-id="{world.task_id}"' not in client.get("/inbox?view=group&process=other").get_data(as_text=True)
    assert f'data-task-id="{world.task_id}"' not in client.get("/inbox?view=group&group=approver").get_data(as_text=True)
    # a search term is text, never a pattern
    assert client.get("/inbox?view=group&q=%25").status_code == 200
    assert f'data-task-id="{world.task_id}"' not in client.get("/inbox?view=group&q=%25").get_data(as_text=True)


def test_pages_of_twenty(world, as_user):
    for _ in range(21):
        start_case(world.services, VILLAGE, actor_of("zhang"))
    client = as_user("zhang")
    first = client.get("/inbox?view=group").get_data(as_text=True)
    assert first.count('data-task-id="') == 20
    assert "第 1 / 2 页，共 22 项" in first
    second = client.get("/inbox?view=group&page=2").get_data(as_text=True)
    assert second.count('data-task-id="') == 2
    assert client.get("/inbox?view=group&page=99").status_code == 200


def test_claim_then_unclaim(world, as_user):
    client = as_user("zhang")
    token = csrf_of(client, "/inbox")
    response = client.post(f"/tasks/{world.task_id}/claim", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == f"/tasks/{world.task_id}"
    mine = client.get("/inbox").get_data(as_text=True)
    assert f'data-task-id="{world.task_id}"' in mine
    response = client.post(f"/tasks/{world.task_id}/unclaim", data={"csrf_token": token, "next": "/inbox"})
    assert response.status_code == 303
    with world.services.db.read() as db:
        assert db.get(HumanTask, world.task_id).assignee is None


def test_a_task_claimed_by_someone_else_cannot_be_claimed_again(world, as_user):
    world.services.engine.claim(world.task_id, actor_of("zhao"))
    client = as_user("zhang")
    token = csrf_of(client, "/inbox")
    response = client.post(f"/tasks/{world.task_id}/claim", data={"csrf_token": token})
    assert response.status_code == 303
    assert "已被他人领取" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_delegate_to_a_colleague_of_the_same_group_and_township(world, as_user):
    world.services.engine.claim(world.task_id, actor_of("zhang"))
    client = as_user("zhang")
    page = client.get("/inbox").get_data(as_text=True)
    assert 'value="zhao"' in row_of(page, world.task_id)  # same township, same role
    assert 'value="li"' not in row_of(page, world.task_id)  # another township
    token = csrf_of(client, "/inbox")
    refused = client.post(f"/tasks/{world.task_id}/delegate", data={"csrf_token": token, "to": "li"})
    assert refused.status_code == 303
    with world.services.db.read() as db:
        assert db.get(HumanTask, world.task_id).assignee == "zhang"
    done = client.post(f"/tasks/{world.task_id}/delegate", data={"csrf_token": token, "to": "zhao"})
    assert done.status_code == 303
    with world.services.db.read() as db:
        assert db.get(HumanTask, world.task_id).assignee == "zhao"
