"""Simplified Chinese by default, English on request; every page string has its English."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from tests.web.pages.conftest import csrf_of
from web import i18n
from web.pages import cases

WEB = Path(__file__).resolve().parents[3] / "web"
TEMPLATE_CALL = re.compile(r"""_\(\s*(?P<q>["'])(?P<text>.+?)(?P=q)\s*[,)]""")


def template_messages() -> set[str]:
    found = set()
    for path in (WEB / "templates").rglob("*.html"):
        found |= {m.group("text") for m in TEMPLATE_CALL.finditer(path.read_text("utf-8"))}
    return found


def python_messages() -> set[str]:
    found = set()
    for path in [*(WEB / "pages").glob("*.py"), WEB / "i18n.py"]:
        for call in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "_" \
                    and call.args and isinstance(call.args[0], ast.Constant) and isinstance(call.args[0].value, str):
                found.add(call.args[0].value)
    return found


def test_every_page_string_has_an_english_translation():
    messages = template_messages() | python_messages() | set(cases.RELATIONS.values()) \
        | set(cases.DISABILITY.values())
    assert len(messages) > 150
    missing = sorted(m for m in messages if m not in i18n.EN)
    assert missing == []


def test_translations_keep_their_placeholders():
    for zh, en in i18n.EN.items():
        assert sorted(re.findall(r"%\(\w+\)\w", zh)) == sorted(re.findall(r"%\(\w+\)\w", en)), zh


def test_chinese_is_the_default_and_english_is_one_click_away(world, as_user):
    client = as_user("zhang")
    page = client.get("/inbox").get_data(as_text=True)
    assert '<html lang="zh-CN">' in page and "待办事项" in page
    token = csrf_of(client, "/inbox")
    response = client.post("/lang", data={"lang": "en", "next": "/inbox?view=group", "csrf_token": token})
    assert response.headers["Location"] == "/inbox?view=group"
    page = client.get("/inbox?view=group").get_data(as_text=True)
    assert '<html lang="en">' in page and "Tasks" in page and "3 working days left" in page
    assert "待办事项" not in page


def test_the_language_survives_logging_in_again(world, app):
    client = app.test_client()
    token = csrf_of(client, "/login")
    client.post("/lang", data={"lang": "en", "csrf_token": token})
    assert "Log in" in client.get("/login").get_data(as_text=True)


def test_marshmallow_messages_are_translated():
    with_app = __import__("flask").Flask(__name__)
    with with_app.test_request_context():
        assert i18n.field_message("Missing data for required field.") == "此项为必填项。"
        assert i18n.field_message("Must be greater than or equal to 0.") == "不能小于 0。"
        assert i18n.field_message("Something new.") == "Something new."
