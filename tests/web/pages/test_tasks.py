"""The task page: a form from the programme's schema, errors by the field, nothing saved on error."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from engine.workflow.models import AuditEvent, HumanTask
from tests.web.pages.conftest import actor_of, csrf_of

GOOD = {"income": "650", "visited_on": "2026-03-02", "housing": "rented", "urgent": "false",
        "notes": "面谈"}


def events(world):
    with world.services.db.read() as db:
        return list(db.execute(select(AuditEvent.action).where(
            AuditEvent.chain == f"case:{world.case_id}").order_by(AuditEvent.seq)).scalars())


def test_the_form_comes_from_the_schema_with_labels_and_required_marks(world, as_user):
    page = as_user("zhang").get(f"/tasks/{world.task_id}").get_data(as_text=True)
    assert "家庭人均月收入（元）" in page
    assert 'name="income"' in page and 'inputmode="decimal"' in page
    assert 'type="date"' in page
    assert '<option value="rented" >租房</option>' in page
    assert 'type="radio" name="urgent"' in page
    assert "<textarea" in page
    assert page.count('class="req"') >= 3  # income, visited_on, housing
    assert "提交时将自动领取此任务" in page


def test_errors_are_shown_by_their_field_and_nothing_is_saved(world, as_user):
    client = as_user("zhang")
    token = csrf_of(client, f"/tasks/{world.task_id}")
    before = events(world)
    response = client.post(f"/tasks/{world.task_id}", data={**GOOD, "income": "abc", "housing": "castle",
                                                            "visited_on": "", "csrf_token": token})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert 'id="e-income"' in page and "请填写数字" in page
    assert 'id="e-housing"' in page and "只能选择" in page
    assert 'id="e-visited_on"' in page and "此项为必填项" in page
    assert 'value="abc"' in page and "面谈" in page  # what was typed stays for correction
    with world.services.db.read() as db:
        task = db.get(HumanTask, world.task_id)
        assert (task.status, task.assignee) == ("open", None)
    assert events(world) == before


def test_a_valid_form_completes_the_task_and_goes_to_the_case(world, as_user):
    client = as_user("zhang")
    token = csrf_of(client, f"/tasks/{world.task_id}")
    response = client.post(f"/tasks/{world.task_id}", data={**GOOD, "csrf_token": token})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/cases/{world.case_id}"
    case = world.services.engine.instance(world.case_id, actor_of("zhang"))
    assert (case.data["income"], case.data["housing"], case.data["visited_on"]) == ("650.00", "rented", "2026-03-02")
    assert case.data["urgent"] is False
    assert case.data["assessment"] == {"monthly_amount": "100.00"}  # (700 − 650) × 2 members
    assert [t.bpmn_id for t in case.open_tasks] == ["approve"]
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "已完成“入户调查”" in page
    assert "家庭人均月收入（元）" in page  # the timeline names the fields by their labels
    assert "<dt>住房情况</dt><dd>租房</dd>" in page  # choice labels, not codes


def test_a_task_without_a_schema_gets_a_key_value_form(world, as_user):
    engine = world.services.engine
    engine.complete(world.task_id, actor_of("zhang"), {"income": "650"})
    approval = engine.instance(world.case_id, actor_of("wang")).open_tasks[0]
    client = as_user("wang")
    page = client.get(f"/tasks/{approval.id}").get_data(as_text=True)
    assert 'name="key_0"' in page and 'name="value_0"' in page
    token = csrf_of(client, f"/tasks/{approval.id}")
    bad = client.post(f"/tasks/{approval.id}", data={"csrf_token": token, "key_0": "1st", "value_0": "x",
                                                      "key_1": "case_id", "value_1": "9"})
    assert bad.status_code == 422
    assert "字段名只能用字母" in bad.get_data(as_text=True)
    assert "由系统使用" in bad.get_data(as_text=True)
    good = client.post(f"/tasks/{approval.id}", data={"csrf_token": token, "key_0": "approved",
                                                       "value_0": "yes"})
    assert good.status_code == 303
    case = engine.instance(world.case_id, actor_of("wang"))
    assert case.status == "completed" and case.data["approved"] == "yes"


def test_a_completed_task_cannot_be_completed_twice(world, as_user):
    client = as_user("zhang")
    token = csrf_of(client, f"/tasks/{world.task_id}")
    assert client.post(f"/tasks/{world.task_id}", data={**GOOD, "csrf_token": token}).status_code == 303
    again = client.post(f"/tasks/{world.task_id}", data={**GOOD, "csrf_token": token})
    assert again.status_code == 409


def test_someone_elses_task_shows_no_form(world, as_user):
    world.services.engine.claim(world.task_id, actor_of("zhao"))
    page = as_user("zhang").get(f"/tasks/{world.task_id}").get_data(as_text=True)
    assert "此任务由 zhao 办理" in page
    assert 'name="income"' not in page


def test_english_labels_come_from_the_schema_metadata(world, as_user):
    client = as_user("zhang")
    token = csrf_of(client, "/inbox")
    client.post("/lang", data={"lang": "en", "csrf_token": token})
    page = client.get(f"/tasks/{world.task_id}").get_data(as_text=True)
    assert "Monthly income per person (yuan)" in page
    assert "Submit and complete" in page


def test_every_installed_programme_form_can_be_drawn_and_checked():
    """The forms the programme plugins offer (entry points) all become pages without surprises."""
    from flask import Flask

    from engine import plugins
    from web.pages import forms

    try:
        schemas = plugins.form_schemas(plugins.make_plugin_manager())
    except Exception as exc:  # noqa: BLE001 - the plugins are another room's work in progress
        pytest.skip(f"programme plugins do not load: {exc}")
    app = Flask(__name__)
    with app.test_request_context():
        for key, schema in schemas.items():
            form = forms.build(schema)
            assert all(f.kind for f in form.fields), key
            parsed, data = forms.parse(schema, {})
            required = {f.name for f in form.fields if f.required}
            assert {f.name for f in parsed.fields if f.errors} == required, key
            assert (data is None) == bool(required), key
