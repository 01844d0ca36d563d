"""Logging in and out: CSRF on every form, account lockout and the per-address limit."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from engine.workflow.models import AuditEvent, HumanTask
from tests.web.pages.conftest import PASSWORD, csrf_of, login, make_app


def test_pages_send_an_anonymous_visitor_to_the_login_page(app):
    response = app.test_client().get("/inbox?view=group")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=/inbox")


def test_login_lands_on_the_inbox_and_is_audited(world):
    client = world.app.test_client()
    response = login(client, "zhang")
    assert response.status_code == 303
    assert response.headers["Location"] == "/inbox"
    with world.services.db.read() as db:
        actions = list(db.execute(select(AuditEvent.action).where(AuditEvent.chain == "user:zhang")).scalars())
    assert actions == ["user.login"]


def test_login_follows_only_local_next_addresses(app):
    client = app.test_client()
    assert login(client, "zhang", next="/cases/1").headers["Location"] == "/cases/1"
    other = app.test_client()
    assert login(other, "zhang", next="//evil.example/x").headers["Location"] == "/inbox"


def test_a_designer_lands_on_the_designer_pages(app):
    assert login(app.test_client(), "design").headers["Location"] == "/designer/"


def test_a_post_without_csrf_token_is_rejected(world, as_user):
    client = as_user("zhang")
    response = client.post(f"/tasks/{world.task_id}/claim")
    assert response.status_code == 400
    assert "表单已过期" in response.get_data(as_text=True)
    response = client.post(f"/tasks/{world.task_id}/claim", data={"csrf_token": "forged"})
    assert response.status_code == 400
    with world.services.db.read() as db:
        assert db.get(HumanTask, world.task_id).assignee is None


def test_the_login_form_itself_needs_the_token(app):
    response = app.test_client().post("/login", data={"username": "zhang", "password": PASSWORD})
    assert response.status_code == 400


def test_api_paths_are_left_to_bearer_tokens(app):
    app.add_url_rule("/api/v1/_csrf_probe", "csrf_probe", lambda: ("ok", 200), methods=["POST"])
    response = app.test_client().post("/api/v1/_csrf_probe", json={"x": 1})
    assert response.status_code == 200


def test_five_wrong_passwords_lock_the_account_for_fifteen_minutes(world, clock):
    client = world.app.test_client()
    for _ in range(5):
        assert login(client, "zhang", "wrong-password").status_code == 401
    locked = login(client, "zhang")  # the right password, but locked
    assert locked.status_code == 401
    assert "用户名或密码错误" in locked.get_data(as_text=True)
    clock.advance(timedelta(minutes=16))
    assert login(client, "zhang").status_code == 303


def test_one_address_may_fail_only_so_often(sqlite_url, clock, tmp_path):
    app = make_app(sqlite_url, clock, tmp_path, LOGIN_IP_MAX_FAILURES=3, LOGIN_IP_WINDOW_SECONDS=600)
    client = app.test_client()
    for name in ("nobody", "zhang", "li"):  # different accounts, one address
        assert login(client, name, "wrong-password").status_code == 401
    blocked = login(client, "wang")
    assert blocked.status_code == 429
    assert "登录失败次数过多" in blocked.get_data(as_text=True)
    other_address = app.test_client()
    token = csrf_of(other_address)
    assert other_address.post("/login", data={"username": "wang", "password": PASSWORD, "csrf_token": token},
                              environ_base={"REMOTE_ADDR": "10.1.2.3"}).status_code == 303
    clock.advance(timedelta(minutes=11))
    assert login(client, "wang").status_code == 303


def test_logout_needs_a_post_and_ends_the_session(world, as_user):
    client = as_user("zhang")
    assert client.get("/logout").status_code == 405
    token = csrf_of(client, "/inbox")
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303
    assert client.get("/inbox").status_code == 302


def test_a_deactivated_account_is_logged_out(world, as_user):
    from engine.accounts import UserAccount

    client = as_user("zhang")
    with world.services.db.write() as db:
        db.execute(select(UserAccount).where(UserAccount.username == "zhang")).scalar().active = False
    assert client.get("/inbox").status_code == 302


def test_pages_are_not_cached_and_not_framed(world, as_user):
    response = as_user("zhang").get(f"/cases/{world.case_id}")
    assert response.headers["Cache-Control"] == "private, no-store"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
