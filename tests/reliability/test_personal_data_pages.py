"""R9 on the HTML side: error pages (404, 403, a missing CSRF token, a 500) never show a canary ID
number or diagnosis sent in the path, the query or the form, and neither do the logs."""

from __future__ import annotations

from tests.reliability.test_personal_data import CANARY_IDS, DIAGNOSES, json_log, leaks  # noqa: F401
from tests.web.pages.conftest import app, as_user, world, world_template  # noqa: F401 - fixtures


def test_error_pages_never_show_a_canary(world, as_user, json_log, monkeypatch):
    client = as_user("li")  # the world's case and task lie outside li's township
    pages = []

    def keep(response):
        if response.status_code >= 400:
            pages.append((response.status_code, response.get_data(as_text=True)))
        return response

    query = f"?id_number={CANARY_IDS[0]}&member={CANARY_IDS[1]}"
    assert keep(client.get(f"/cases/{world.case_id}{query}")).status_code == 404
    assert keep(client.get(f"/tasks/{world.task_id}{query}")).status_code == 404
    assert keep(client.get(f"/no-such-page/{CANARY_IDS[1]}")).status_code == 404
    form = {"income": CANARY_IDS[1], "note": DIAGNOSES[1], "member": CANARY_IDS[2]}
    assert keep(client.post(f"/tasks/{world.task_id}", data=form)).status_code == 400  # no CSRF token
    assert keep(client.post(f"/cases/{world.case_id}/reveal", data=form)).status_code == 400
    assert keep(as_user("design").get(f"/cases/{world.case_id}{query}")).status_code == 403

    from web.pages import cases

    def broken(*_args, **_kwargs):
        raise RuntimeError(f"render failed for {CANARY_IDS[2]}")
    world.app.config["PROPAGATE_EXCEPTIONS"] = False
    monkeypatch.setattr(cases, "render_template", broken)
    insider = as_user("zhang")
    assert keep(insider.get(f"/cases/{world.case_id}")).status_code == 500

    assert len(pages) == 7
    assert [(status, leaks(body)) for status, body in pages if leaks(body)] == []
    assert [line[:300] for line in json_log.getvalue().splitlines() if leaks(line)] == []


def test_an_error_page_does_not_echo_a_diagnosis_sent_in_the_query(world, as_user):
    body = as_user("li").get(f"/cases/{world.case_id}?diagnosis={DIAGNOSES[0]}").get_data(as_text=True)
    assert leaks(body) == []
