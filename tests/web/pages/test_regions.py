"""Who sees what: the role decides the page (403), the region decides the object (404)."""

from __future__ import annotations

import pytest

from tests.web.pages.conftest import csrf_of

# (user, inbox, own-township case, own-township task) — the case and task are in 370827101201
MATRIX = [
    ("zhang", 200, 200, 200),  # caseworker of the township
    ("li", 200, 404, 404),  # caseworker of the neighbouring township
    ("wang", 200, 200, 200),  # county approver: the whole county
    ("sun", 200, 200, 200),  # county supervisor
    ("cun", 200, 404, 404),  # assistant of another village of the same township
    ("design", 403, 403, 403),  # designers have no casework pages
    ("root", 200, 200, 200),  # admin of the province
]


@pytest.mark.parametrize("username, inbox, case, task", MATRIX, ids=[m[0] for m in MATRIX])
def test_region_and_role_matrix(world, as_user, username, inbox, case, task):
    client = as_user(username)
    assert client.get("/inbox").status_code == inbox
    assert client.get(f"/cases/{world.case_id}").status_code == case
    assert client.get(f"/tasks/{world.task_id}").status_code == task


@pytest.mark.parametrize("username, own, other", [("zhang", True, False), ("li", False, True),
                                                  ("wang", False, False), ("root", True, True)])
def test_the_inbox_lists_only_tasks_in_region_and_group(world, as_user, username, own, other):
    page = as_user(username).get("/inbox?view=group").get_data(as_text=True)
    assert (f'data-task-id="{world.task_id}"' in page) is own
    assert (f'data-task-id="{world.other_task_id}"' in page) is other


def test_the_supervisor_sees_overdue_tasks_of_the_whole_county(world, as_user, clock):
    from datetime import timedelta

    clock.advance(timedelta(days=5))
    page = as_user("sun").get("/inbox?view=overdue").get_data(as_text=True)
    assert f'data-task-id="{world.task_id}"' in page
    assert f'data-task-id="{world.other_task_id}"' in page


def test_acting_on_another_townships_task_is_404_and_changes_nothing(world, as_user):
    client = as_user("li")
    token = csrf_of(client, "/inbox")
    for action in ("claim", "unclaim"):
        assert client.post(f"/tasks/{world.task_id}/{action}", data={"csrf_token": token}).status_code == 404
    assert client.post(f"/tasks/{world.task_id}", data={"csrf_token": token, "income": "1"}).status_code == 404
    assert client.post(f"/cases/{world.case_id}/reveal",
                       data={"csrf_token": token, "member": "0"}).status_code == 404
    assert world.services.engine.task(world.task_id, _system()).assignee is None


def test_another_groups_task_can_be_read_but_not_claimed(world, as_user):
    client = as_user("wang")  # approver; the open task is for caseworkers
    page = client.get(f"/tasks/{world.task_id}").get_data(as_text=True)
    assert "您可以查看但不能办理" in page
    assert 'name="income"' not in page
    token = csrf_of(client, "/inbox")
    assert client.post(f"/tasks/{world.task_id}/claim", data={"csrf_token": token}).status_code == 403
    assert client.post(f"/tasks/{world.task_id}", data={"csrf_token": token, "income": "1"}).status_code == 403


def test_only_designers_and_admins_open_the_designer_pages(world, as_user):
    assert as_user("zhang").get("/designer/").status_code == 403
    assert as_user("design").get("/designer/").status_code == 200
    assert as_user("root").get("/designer/").status_code == 200


def _system():
    from engine.actors import SYSTEM

    return SYSTEM


def test_a_relative_excluded_from_a_task_neither_sees_nor_works_on_it(world, as_user):
    from engine.workflow.models import HumanTask

    with world.services.db.write() as db:
        db.get(HumanTask, world.task_id).excluded_users = ["zhang"]
    client = as_user("zhang")
    assert f'data-task-id="{world.task_id}"' not in client.get("/inbox?view=group").get_data(as_text=True)
    assert 'name="income"' not in client.get(f"/tasks/{world.task_id}").get_data(as_text=True)
    token = csrf_of(client, "/inbox")
    assert client.post(f"/tasks/{world.task_id}", data={"csrf_token": token, "income": "1"}).status_code == 403
    assert f'data-task-id="{world.task_id}"' in as_user("zhao").get("/inbox?view=group").get_data(as_text=True)


# --------------------------------------------------------------------------- every object page (R8)

#: (method, path template) of every page that addresses one case or task; {case} and {task} are filled
#: with the objects of the township 370827101 (the ``world``'s own case and task)
OBJECT_PAGES = [("GET", "/cases/{case}"), ("POST", "/cases/{case}/reveal"),
                ("POST", "/cases/{case}/clocks/pause"), ("POST", "/cases/{case}/clocks/resume"),
                ("GET", "/tasks/{task}"), ("POST", "/tasks/{task}"), ("POST", "/tasks/{task}/claim"),
                ("POST", "/tasks/{task}/unclaim"), ("POST", "/tasks/{task}/delegate"),
                ("POST", "/cases/{case}/documents"), ("GET", "/cases/{case}/documents/1")]
#: users to whom that case and task lie in another region
OUTSIDERS = ("li", "cun")


def page_denials(world, username: str) -> int:
    from sqlalchemy import func, select

    from engine.actors import DENIED
    from engine.workflow.models import AuditEvent

    with world.services.db.read() as session:
        return session.execute(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.chain == f"user:{username}", AuditEvent.action == DENIED)).scalar()


def test_every_case_and_task_page_is_listed_here(app):
    rules = {(method, rule.rule) for rule in app.url_map.iter_rules()
             if "<int:case_id>" in rule.rule or "<int:task_id>" in rule.rule
             for method in rule.methods - {"HEAD", "OPTIONS"}}
    listed = {(m, p.replace("{case}", "<int:case_id>").replace("{task}", "<int:task_id>")
               .replace("/documents/1", "/documents/<int:document_id>")) for m, p in OBJECT_PAGES}
    assert rules <= listed, sorted(rules - listed)


@pytest.mark.parametrize("username", OUTSIDERS)
def test_every_object_page_of_another_region_is_404_with_one_audit_row_each(world, as_user, username):
    client = as_user(username)
    token = csrf_of(client, "/inbox")
    wrong = []
    for method, template in OBJECT_PAGES:
        path = template.format(case=world.case_id, task=world.task_id)
        before = page_denials(world, username)
        data = {"csrf_token": token, "member": "0", "reason": "r8", "to": "zhao", "income": "1"}
        response = client.get(path) if method == "GET" else client.post(path, data=data)
        if response.status_code != 404 or page_denials(world, username) != before + 1:
            wrong.append((method, path, response.status_code))
    assert wrong == []
    assert world.services.engine.task(world.task_id, _system()).assignee is None


def test_a_form_post_without_its_csrf_token_is_refused_and_changes_nothing(world, as_user):
    client = as_user("zhang")
    for path in (f"/tasks/{world.task_id}/claim", f"/tasks/{world.task_id}", f"/cases/{world.case_id}/reveal"):
        response = client.post(path, data={"income": "1", "member": "0"})
        assert response.status_code == 400, path
        assert "表单已过期" in response.get_data(as_text=True)
        assert client.post(path, data={"csrf_token": "forged", "member": "0"}).status_code == 400
    assert world.services.engine.task(world.task_id, _system()).assignee is None
