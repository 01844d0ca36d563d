"""Task forms generated from a programme's marshmallow schema (or a plain key/value form).

Field types become inputs (numbers as text with a numeric keyboard, so the server — not the
browser — explains what is wrong, in words); labels come from field metadata (``label``,
``label_zh``, ``label_en``, ``description``/``help``); required fields are marked.  Parsing never
has side effects: the caller completes the task only when :func:`parse` reports no errors.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Mapping

import marshmallow
from marshmallow import fields as mf, validate as mv

from web.i18n import current_language, field_message, gettext as _

GENERIC_ROWS = 6
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_RESERVED = {"case_id", "household_id"}


@dataclass
class FormField:
    name: str
    label: str
    kind: str  # text | textarea | integer | decimal | date | datetime | email | url | boolean | select | lines | json
    required: bool = False
    help: str | None = None
    choices: list[tuple[str, str]] = field(default_factory=list)
    value: str = ""
    errors: list[str] = field(default_factory=list)
    maxlength: int | None = None


@dataclass
class TaskForm:
    generic: bool
    fields: list[FormField]
    errors: list[str] = field(default_factory=list)  # form-level
    rows: list[dict] = field(default_factory=list)  # generic form: [{key, value, errors}]

    @property
    def has_errors(self) -> bool:
        return bool(self.errors) or any(f.errors for f in self.fields) or \
            any(r["errors"] for r in self.rows)


# --------------------------------------------------------------------------- building

def _label(name: str, meta: Mapping[str, Any]) -> str:
    if current_language() == "en":
        return meta.get("label_en") or meta.get("title_en") or meta.get("label") or \
            meta.get("title") or name
    return meta.get("label_zh") or meta.get("label") or meta.get("title") or meta.get("label_en") or name


def _help(meta: Mapping[str, Any]) -> str | None:
    if current_language() == "en":
        return meta.get("description_en") or meta.get("help_en") or meta.get("description") or meta.get("help")
    return meta.get("description_zh") or meta.get("help_zh") or meta.get("description") or meta.get("help")


def _validators(f: mf.Field) -> list:
    return list(getattr(f, "validators", None) or [])


def _choices(f: mf.Field, meta: Mapping[str, Any]) -> list[tuple[str, str]]:
    given = meta.get("choices")
    if given:
        out = []
        for item in given:
            if isinstance(item, (list, tuple)) and len(item) == 2:
                out.append((str(item[0]), str(item[1])))
            else:
                out.append((str(item), str(item)))
        return out
    for v in _validators(f):
        if isinstance(v, mv.OneOf):
            labels = list(v.labels) if v.labels else [str(c) for c in v.choices]
            return [(str(c), str(lbl)) for c, lbl in zip(v.choices, labels)]
    if isinstance(f, getattr(mf, "Enum", ())):
        by_value = bool(getattr(f, "by_value", False))
        return [(str(m.value if by_value else m.name), str(m.value if by_value else m.name)) for m in f.enum]
    return []


def _maxlength(f: mf.Field) -> int | None:
    for v in _validators(f):
        if isinstance(v, mv.Length) and v.max is not None:
            return int(v.max)
    return None


def _kind(f: mf.Field, meta: Mapping[str, Any], choices: list) -> str:
    widget = meta.get("widget")
    if widget in ("textarea", "text"):
        return widget
    if isinstance(f, mf.Boolean):
        return "boolean"
    if choices:
        return "select"
    if isinstance(f, mf.Integer):
        return "integer"
    if isinstance(f, (mf.Decimal, mf.Float, mf.Number)):
        return "decimal"
    if isinstance(f, mf.DateTime) and not isinstance(f, mf.Date):
        return "datetime"
    if isinstance(f, mf.Date):
        return "date"
    if isinstance(f, mf.Email):
        return "email"
    if isinstance(f, mf.Url):
        return "url"
    if isinstance(f, mf.List):
        return "lines"
    if isinstance(f, (mf.Nested, mf.Dict, mf.Mapping, mf.Raw)) and not isinstance(f, mf.String):
        return "json"
    maxlength = _maxlength(f)
    if maxlength is not None and maxlength > 200:
        return "textarea"
    return "text"


def _display(value: Any, kind: str) -> str:
    if value is None:
        return ""
    if kind == "boolean":
        return "true" if value in (True, "true", "True", 1, "1") else "false" if value in (
            False, "false", "False", 0, "0") else ""
    if kind == "lines" and isinstance(value, (list, tuple)):
        return "\n".join(str(v) for v in value)
    if kind == "json":
        return json.dumps(value, ensure_ascii=False, indent=2, default=str)
    if kind == "datetime" and isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M")
    if isinstance(value, (date, Decimal, enum.Enum)):
        return str(value.value if isinstance(value, enum.Enum) else value)
    return str(value)


def build(schema_cls: type | None, initial: Mapping[str, Any] | None = None) -> TaskForm:
    """The empty (or prefilled) form for a schema; ``None`` gives the generic key/value form."""
    if schema_cls is None:
        return TaskForm(generic=True, fields=[],
                        rows=[{"key": "", "value": "", "errors": []} for _i in range(GENERIC_ROWS)])
    schema = schema_cls()
    initial = initial or {}
    out = []
    for attr, f in schema.load_fields.items():
        meta = dict(f.metadata or {})
        name = f.data_key or attr
        choices = _choices(f, meta)
        kind = _kind(f, meta, choices)
        value = initial.get(attr, initial.get(name))
        if value is None and f.load_default is not marshmallow.missing and not callable(f.load_default):
            value = f.load_default
        out.append(FormField(name=name, label=_label(name, meta), kind=kind, required=bool(f.required),
                             help=_help(meta), choices=choices, value=_display(value, kind),
                             maxlength=_maxlength(f)))
    return TaskForm(generic=False, fields=out)


def labels(schema_cls: type | None) -> dict[str, tuple[str, dict[str, str]]]:
    """Field name → (label, choice value → choice label), for showing submitted data."""
    if schema_cls is None:
        return {}
    out = {}
    for attr, f in schema_cls().load_fields.items():
        name = f.data_key or attr
        meta = dict(f.metadata or {})
        out[attr] = out[name] = (_label(name, meta), dict(_choices(f, meta)))
    return out


# --------------------------------------------------------------------------- parsing

def _flatten(messages: Any) -> list[str]:
    if isinstance(messages, str):
        return [messages]
    if isinstance(messages, Mapping):
        out = []
        for key, value in messages.items():
            prefix = f"{key}: " if isinstance(key, int) else ""
            out.extend(prefix + m for m in _flatten(value))
        return out
    if isinstance(messages, (list, tuple)):
        return [m for item in messages for m in _flatten(item)]
    return [str(messages)]


def parse(schema_cls: type | None, form: Mapping[str, Any]) -> tuple[TaskForm, dict | None]:
    """Validate a submitted form: (form to re-render, data to complete with or None on errors)."""
    if schema_cls is None:
        return _parse_generic(form)
    task_form = build(schema_cls)
    raw: dict[str, Any] = {}
    for f in task_form.fields:
        if f.kind == "lines":
            text = form.get(f.name, "")
            f.value = text
            items = [line.strip() for line in text.splitlines() if line.strip()]
            if items or f.name in form:
                raw[f.name] = items
            continue
        value = form.get(f.name)
        f.value = value or ""
        if value is None or (isinstance(value, str) and value.strip() == ""):
            continue
        value = value.strip() if f.kind not in ("textarea", "text") else value
        if f.kind == "json":
            try:
                raw[f.name] = json.loads(value)
            except ValueError:
                f.errors.append(_("不是有效的 JSON。"))
            continue
        if f.kind == "datetime" and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d)?", value):
            value += "+08:00"  # a datetime-local input is Beijing time
        raw[f.name] = value
    try:
        loaded = schema_cls().load(raw)
    except marshmallow.ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, Mapping) else {"_schema": exc.messages}
        by_name = {f.name: f for f in task_form.fields}
        for key, value in messages.items():
            target = by_name.get(key)
            texts = [field_message(m) for m in _flatten(value)]
            if target is not None:
                target.errors.extend(texts)
            else:
                task_form.errors.extend(texts)
        return task_form, None
    if task_form.has_errors:
        return task_form, None
    return task_form, dict(loaded)


def _parse_generic(form: Mapping[str, Any]) -> tuple[TaskForm, dict | None]:
    rows = []
    data: dict[str, str] = {}
    count = max(GENERIC_ROWS, sum(1 for k in form if k.startswith("key_")))
    for i in range(min(count, 50)):
        key = (form.get(f"key_{i}") or "").strip()
        value = form.get(f"value_{i}") or ""
        row = {"key": key, "value": value, "errors": []}
        rows.append(row)
        if not key and not value.strip():
            continue
        if not key:
            row["errors"].append(_("请填写字段名。"))
        elif not _KEY.match(key):
            row["errors"].append(_("字段名只能用字母、数字和下划线，且不能以数字开头。"))
        elif key in _RESERVED:
            row["errors"].append(_("这个字段名由系统使用，不能修改。"))
        elif key in data:
            row["errors"].append(_("字段名重复。"))
        else:
            data[key] = value.strip()
    task_form = TaskForm(generic=True, fields=[], rows=rows)
    return task_form, (None if task_form.has_errors else data)
