"""Simplified Chinese by default, English on request (Flask-Babel); every page string has its English."""

from __future__ import annotations

import os
import re
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from tests.web.pages.conftest import csrf_of
from web import i18n
from web.pages import cases

ROOT = Path(__file__).resolve().parents[3]
PO = ROOT / "web" / "translations" / "en" / "LC_MESSAGES" / "messages.po"
PLACEHOLDER = re.compile(r"%\(\w+\)\w")


def used_messages() -> set[str]:
    """Every literal ``_("…")`` of the templates and views, found as ``pybabel extract`` finds them
    (babel.cfg), plus the labels the pages translate through a variable."""
    with (ROOT / "babel.cfg").open() as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found = set()
    for _filename, _line, message, _comments, _context in extract_from_dir(str(ROOT), method_map, options_map):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found | set(cases.RELATIONS.values()) | set(cases.DISABILITY.values())


def english() -> dict[str, str]:
    with PO.open("rb") as handle:
        return {m.id: m.string for m in read_po(handle) if m.id and m.string and not m.fuzzy}


def test_every_page_string_has_an_english_translation():
    messages = used_messages()
    assert len(messages) > 150
    missing = sorted(m for m in messages if m not in english())
    assert missing == [], (f"add the English of these messages to {PO.relative_to(ROOT)} "
                           f"(msgid = the Chinese, msgstr = the English): {missing}")


def test_translations_keep_their_placeholders():
    for zh, en in english().items():
        assert sorted(PLACEHOLDER.findall(zh)) == sorted(PLACEHOLDER.findall(en)), zh


def test_the_catalog_is_compiled_when_missing_or_older_than_the_po(tmp_path):
    source = tmp_path / "src" / "en" / "LC_MESSAGES"
    source.mkdir(parents=True)
    po = source / "messages.po"
    po.write_text('msgid ""\nmsgstr ""\n"Content-Type: text/plain; charset=utf-8\\n"\n\n'
                  'msgid "待办"\nmsgstr "Tasks"\n', "utf-8")
    target = tmp_path / "out"
    i18n.compile_catalogs(tmp_path / "src", target)
    mo = target / "en" / "LC_MESSAGES" / "messages.mo"
    assert b"Tasks" in mo.read_bytes()
    po.write_text(po.read_text("utf-8").replace("Tasks", "To do"), "utf-8")
    os.utime(po, (mo.stat().st_mtime + 10, mo.stat().st_mtime + 10))     # the .po is newer
    i18n.compile_catalogs(tmp_path / "src", target)
    assert b"To do" in mo.read_bytes()


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


def test_marshmallow_messages_are_translated(app):
    with app.test_request_context():
        assert i18n.field_message("Missing data for required field.") == "此项为必填项。"
        assert i18n.field_message("Must be greater than or equal to 0.") == "不能小于 0。"
        assert i18n.field_message("Something new.") == "Something new."
    with app.test_request_context():
        from flask import session

        session["lang"] = "en"
        assert i18n.field_message("Missing data for required field.") == "Missing data for required field."
        assert i18n.gettext("待办") == "Tasks"
        assert i18n.gettext("超期 %(n)d 小时", n=3) == "3 hours overdue"
