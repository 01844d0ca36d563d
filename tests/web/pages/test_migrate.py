"""Designer pages: choose running cases, preview their migration to another version, confirm."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from engine.workflow.models import AuditEvent
from tests.web.pages.conftest import CASEWORK, actor_of, csrf_of
from tests.web.pages.seed_dashboard import add_user

V1 = CASEWORK.read_bytes()
V2 = V1.replace(b'<spiffworkflow:property name="dueIn" value="P10D"/>',
                b'<spiffworkflow:property name="dueIn" value="2WD"/>')
WITHOUT_INVESTIGATION = V1.replace(b'"investigate"', b'"investigate_v3"').replace(
    b">investigate<", b">investigate_v3<")
PREVIEW = re.compile(r'<li class="preview [^"]*" data-case="(\d+)" data-ok="(true|false)"')
RESULT = re.compile(r'<tr data-case="(\d+)" data-migrated="(true|false)"')


def deploy(world, data: bytes) -> int:
    return world.services.engine.deploy(data, "casework.bpmn", actor=actor_of("design")).definition.version


def version_of(world, case_id: int) -> int:
    return world.services.engine.instance(case_id, actor_of("root")).process_version


def post(client, path: str, **form):
    token = csrf_of(client, "/designer/")
    return client.post(path, data={"csrf_token": token, **form})


@pytest.mark.parametrize("username, status", [("design", 200), ("root", 200), ("sun", 403), ("zhang", 403)])
def test_only_designers_and_admins_migrate(world, as_user, username, status):
    deploy(world, V2)
    client = as_user(username)
    assert client.get("/designer/processes/casework/migrate").status_code == status
    token = csrf_of(client, "/inbox")
    for path in ("/designer/processes/casework/migrate/preview", "/designer/processes/casework/migrate"):
        response = client.post(path, data={"csrf_token": token, "from": "1", "to": "2", "case": [world.case_id]})
        assert response.status_code in ((200,) if status == 200 else (403,))
    assert version_of(world, world.case_id) == (2 if status == 200 else 1)


def test_the_version_page_lists_running_cases_by_version(world, as_user):
    deploy(world, V2)
    page = as_user("design").get("/designer/processes/casework/2").get_data(as_text=True)
    assert re.search(r'<tr data-version="1" data-active="2">', page)
    assert 'href="/designer/processes/casework/migrate?to=2&amp;from=1"' in page


def test_the_selection_lists_the_active_cases_of_one_version(world, as_user):
    deploy(world, V2)
    page = as_user("design").get("/designer/processes/casework/migrate?from=1&to=2").get_data(as_text=True)
    assert set(map(int, re.findall(r'<tr data-case="(\d+)">', page))) == {world.case_id, world.other_case_id}
    assert "入户调查" in page
    assert re.search(r'<option value="2" selected>', page)


def test_a_preview_shows_each_case_and_changes_nothing(world, as_user):
    deploy(world, V2)
    client = as_user("design")
    response = post(client, "/designer/processes/casework/migrate/preview", **{
        "from": "1", "to": "2", "case": [str(world.case_id), str(world.other_case_id)]})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert PREVIEW.findall(page) == [(str(world.case_id), "true"), (str(world.other_case_id), "true")]
    changed = re.search(r'<div class="diff diff-changed">(.*?)</div>', page, re.S).group(1)
    assert "审核确认" in changed and "<code>approve</code>" in changed
    restarts = re.findall(r'<dd class="restarts">(.*?)</dd>', page, re.S)[0]
    assert "入户调查" in restarts
    assert restarts.count("element-timer") == 2 and "2小时提醒" in restarts and "20天超时" in restarts
    # the confirmation carries exactly the cases that can move
    form = re.search(r'action="/designer/processes/casework/migrate".*?</form>', page, re.S).group(0)
    assert sorted(map(int, re.findall(r'name="case" value="(\d+)"', form))) == sorted(
        [world.case_id, world.other_case_id])
    assert version_of(world, world.case_id) == 1 and version_of(world, world.other_case_id) == 1


def test_confirming_moves_the_cases_and_the_engine_audits_it(world, as_user):
    deploy(world, V2)
    client = as_user("design")
    response = post(client, "/designer/processes/casework/migrate", **{
        "from": "1", "to": "2", "case": [str(world.case_id), str(world.other_case_id)]})
    page = response.get_data(as_text=True)
    both = sorted([world.case_id, world.other_case_id])
    assert sorted((int(c), moved) for c, moved in RESULT.findall(page)) == [(both[0], "true"), (both[1], "true")]
    assert "已将 2 个案件迁移到第 2 版" in page
    assert version_of(world, world.case_id) == 2 and version_of(world, world.other_case_id) == 2
    with world.services.db.read() as db:
        audited = db.execute(select(AuditEvent.chain, AuditEvent.actor).where(
            AuditEvent.action == "instance.migrated")).all()
    assert sorted(audited) == sorted((f"case:{case_id}", "design") for case_id in both)


def test_all_cases_of_a_version_can_be_chosen_at_once(world, as_user):
    deploy(world, V2)
    page = post(as_user("design"), "/designer/processes/casework/migrate/preview",
                **{"from": "1", "to": "2", "all": "1"}).get_data(as_text=True)
    assert {int(c) for c, _ok in PREVIEW.findall(page)} == {world.case_id, world.other_case_id}


def test_a_case_waiting_at_a_removed_step_is_blocked_with_the_reason(world, as_user):
    deploy(world, V2)
    deploy(world, WITHOUT_INVESTIGATION)
    client = as_user("design")
    page = post(client, "/designer/processes/casework/migrate/preview",
                **{"from": "1", "to": "3", "case": [str(world.case_id)]}).get_data(as_text=True)
    assert PREVIEW.findall(page) == [(str(world.case_id), "false")]
    assert "案件正停在“入户调查（investigate）”，新版本中没有这个环节。" in page
    assert "确认迁移选中的案件" not in page  # nothing to confirm
    # confirming anyway moves nothing and says why
    page = post(client, "/designer/processes/casework/migrate",
                **{"from": "1", "to": "3", "case": [str(world.case_id)]}).get_data(as_text=True)
    assert RESULT.findall(page) == [(str(world.case_id), "false")]
    assert version_of(world, world.case_id) == 1


def test_the_target_must_be_another_version_and_at_least_one_case_chosen(world, as_user):
    deploy(world, V2)
    client = as_user("design")
    response = post(client, "/designer/processes/casework/migrate/preview",
                    **{"from": "1", "to": "1", "case": [str(world.case_id)]})
    assert response.status_code == 303
    response = post(client, "/designer/processes/casework/migrate/preview", **{"from": "1", "to": "2"})
    assert response.status_code == 303
    assert "请至少选择一个案件" in client.get(response.headers["Location"]).get_data(as_text=True)
    assert post(client, "/designer/processes/casework/migrate/preview",
                **{"from": "1", "to": "9", "case": [str(world.case_id)]}).status_code == 404
    assert post(client, "/designer/processes/nothing/migrate/preview",
                **{"from": "1", "to": "2"}).status_code == 404


def test_a_designer_migrates_only_cases_inside_its_region(world, as_user):
    deploy(world, V2)
    add_user(world.services, "design2", "designer", "370827102", "二乡设计员")
    client = as_user("design2")
    page = client.get("/designer/processes/casework/migrate?from=1&to=2").get_data(as_text=True)
    assert set(map(int, re.findall(r'<tr data-case="(\d+)">', page))) == {world.other_case_id}
    response = post(client, "/designer/processes/casework/migrate",
                    **{"from": "1", "to": "2", "case": [str(world.case_id)]})
    assert response.status_code == 303  # "choose at least one case": the other township's is not there
    assert version_of(world, world.case_id) == 1


def test_a_migration_needs_a_csrf_token(world, as_user):
    deploy(world, V2)
    client = as_user("design")
    response = client.post("/designer/processes/casework/migrate",
                           data={"from": "1", "to": "2", "case": [str(world.case_id)]})
    assert response.status_code == 400
    assert version_of(world, world.case_id) == 1
