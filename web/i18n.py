"""Page text in Simplified Chinese first, English on request (Flask-Babel, gettext catalogs).

The Chinese text is the message id: templates and views call ``_("我的待办")`` and read naturally.
Chinese is the default whatever the browser asks for, because that is who the caseworkers are; the
language lives in the session (``session["lang"]``), set by the language switch in the page header.
Named placeholders use ``%(name)s`` / ``%(n)d`` and are filled after the lookup.

**Adding or changing a page string:** write ``_("中文")`` in the template or view, then add its English
to ``web/translations/en/LC_MESSAGES/messages.po`` (``msgid "中文"`` / ``msgstr "English"``; keep the
placeholders).  There is no dictionary in this module any more.  ``pybabel extract -F babel.cfg -o
/tmp/messages.pot . && pybabel update -i /tmp/messages.pot -d web/translations`` adds new ids with an
empty English; tests/web/pages/test_i18n.py fails while any message used in a template or view has none.

The ``.po`` is the source; the compiled ``.mo`` next to it is made by ``make setup`` (``pybabel
compile``) and, so that a plain ``pip install -e .`` works too, by :func:`init_app` on start-up
whenever it is missing or older than the ``.po``.  When the package folder is read-only (an installed
wheel) the ``.mo`` goes to the app's instance folder instead (``<instance>/translations``).

Error messages of marshmallow forms arrive in English; :func:`field_message` gives the Chinese for
the common ones.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

from flask import Flask, current_app, has_request_context, session

LANGUAGES = {"zh": "中文", "en": "English"}
DEFAULT = "zh"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"
DOMAIN = "messages"
# The English of every page string lives in web/translations/en/LC_MESSAGES/messages.po — add new
# translations there (the EN dictionary that used to be in this module is gone).


def current_language() -> str:
    """The page language: the session's choice, else Chinese (also Flask-Babel's locale selector)."""
    if has_request_context():
        lang = session.get("lang")
        if lang in LANGUAGES:
            return lang
    return DEFAULT


def gettext(message: str, **values: Any) -> str:
    """The message in the page's language (``_`` in templates and views)."""
    if has_request_context() and "babel" in current_app.extensions:
        from flask_babel import gettext as babel_gettext

        return babel_gettext(message, **values)
    return message % values if values else message


def html_lang() -> str:
    return "en" if current_language() == "en" else "zh-CN"


# --------------------------------------------------------------------------- catalogs

def compile_catalogs(source: Path = TRANSLATIONS, target: Path | None = None) -> Path:
    """Compile each ``<lang>/LC_MESSAGES/*.po`` under ``source`` into ``target`` (default: next to
    it) when its ``.mo`` is missing or older; answer ``target``.  Several workers may start at once:
    each writes a file of its own and renames it into place."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    target = source if target is None else target
    for po in sorted(source.glob("*/LC_MESSAGES/*.po")):
        mo = target / po.relative_to(source).with_suffix(".mo")
        if mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        mo.parent.mkdir(parents=True, exist_ok=True)
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=po.parent.parent.name, domain=po.stem)
        partial = mo.with_name(f".{mo.name}.{os.getpid()}.tmp")
        with partial.open("wb") as handle:
            write_mo(handle, catalog)
        os.replace(partial, mo)
    return target


def init_app(app: Flask) -> None:
    """Flask-Babel with the session's language (default Chinese), catalogs compiled if needed."""
    from flask_babel import Babel

    if "BABEL_TRANSLATION_DIRECTORIES" not in app.config:
        try:
            directory = compile_catalogs()
        except OSError:  # a read-only package folder: compile into the instance folder
            directory = compile_catalogs(target=Path(app.instance_path) / "translations")
        app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(directory)
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT)
    app.config.setdefault("BABEL_DOMAIN", DOMAIN)
    # templates keep the ``_`` of web.pages (this module's gettext); no Jinja extension needed
    Babel(app, locale_selector=current_language, configure_jinja=False)


# --------------------------------------------------------------------------- form errors

_MARSHMALLOW_ZH: list[tuple[re.Pattern[str], str]] = [(re.compile(p), r) for p, r in [
    (r"^Missing data for required field\.$", "此项为必填项。"),
    (r"^Field may not be null\.$", "此项不能为空。"),
    (r"^Not a valid integer\.$", "请填写整数。"),
    (r"^Not a valid number\.$", "请填写数字。"),
    (r"^Not a valid decimal\.$", "请填写数字（可带小数）。"),
    (r"^Not a valid string\.$", "请填写文字。"),
    (r"^Not a valid boolean\.$", "请选择“是”或“否”。"),
    (r"^Not a valid date\.$", "请填写有效日期（年-月-日）。"),
    (r"^Not a valid datetime\.$", "请填写有效的日期和时间。"),
    (r"^Not a valid email address\.$", "请填写有效的电子邮箱。"),
    (r"^Not a valid URL\.$", "请填写有效的网址。"),
    (r"^Not a valid list\.$", "请逐行填写。"),
    (r"^Not a valid mapping type\.$", "格式不正确。"),
    (r"^Unknown field\.$", "未知字段。"),
    (r"^Must be one of: (.*)\.$", r"只能选择：\1。"),
    (r"^Must be greater than or equal to (.*) and less than or equal to (.*)\.$", r"应在 \1 到 \2 之间。"),
    (r"^Must be greater than or equal to (.*)\.$", r"不能小于 \1。"),
    (r"^Must be less than or equal to (.*)\.$", r"不能大于 \1。"),
    (r"^Must be greater than (.*)\.$", r"应大于 \1。"),
    (r"^Must be less than (.*)\.$", r"应小于 \1。"),
    (r"^Shorter than minimum length (\d+)\.$", r"至少 \1 个字符。"),
    (r"^Longer than maximum length (\d+)\.$", r"最多 \1 个字符。"),
    (r"^Length must be between (\d+) and (\d+)\.$", r"长度应在 \1 到 \2 之间。"),
    (r"^Length must be (\d+)\.$", r"长度应为 \1。"),
    (r"^Special numeric values \(nan or infinity\) are not permitted\.$", "请填写普通数字。"),
    (r"^Invalid value\.$", "填写的值无效。"),
]]


def field_message(message: str) -> str:
    """A form field error in the page's language (marshmallow's English messages translated)."""
    if current_language() == "en":
        return gettext(message)
    for pattern, replacement in _MARSHMALLOW_ZH:
        if pattern.match(message):
            return pattern.sub(replacement, message)
    return message
