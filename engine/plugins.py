"""Building the plugin manager, merging settings, and the small toolkit plugins share.

Nothing here runs at import time: :func:`make_plugin_manager` adds the hook specifications, loads
the ``jishijiu.plugins`` entry points (the four built-in programmes are registered there in
``pyproject.toml`` like any third-party package), honours an allowlist, registers extra objects
(tests), and checks that every implementation matches a specification.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import re
import tomllib
from collections.abc import Iterable, Mapping
from decimal import Decimal, InvalidOperation
from importlib import resources
from types import MappingProxyType
from typing import Any

import pluggy

from engine import hookspecs
from engine.casework import income
from engine.casework.types import (
    DeliveryRecord, Notification, ProgrammeInfo, ServiceOperation, to_json,
)
from engine.errors import Conflict, NotFound, ValidationError

ENTRY_POINT_GROUP = "jishijiu.plugins"
_OPERATION_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


class _CaseworkDefaults:
    """The engine's own settings (the shared income formula), offered like a plugin's."""

    @hookspecs.hookimpl
    def jishijiu_default_settings(self) -> Mapping[str, Any]:
        return income.DEFAULT_SETTINGS


def make_plugin_manager(*, allowlist: Iterable[str] | None = None,
                        extra: Iterable[object] = ()) -> pluggy.PluginManager:
    """A ready plugin manager.

    :param allowlist: entry-point names to load (e.g. ``["dibao", "linshi"]``); None loads every
        installed ``jishijiu.plugins`` entry point.  A name that no installed package provides is
        a configuration error.
    :param extra: plugin objects (modules, classes, instances) to register as well — tests.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT)
    pm.add_hookspecs(hookspecs)
    pm.register(_CaseworkDefaults(), name="casework")
    if allowlist is None:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    else:
        wanted = list(dict.fromkeys(allowlist))
        missing = [name for name in wanted
                   if not pm.get_plugin(name)
                   and not pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP, name=name)]
        if missing:
            raise ValidationError(
                f"no installed package provides a {ENTRY_POINT_GROUP!r} entry point named "
                + ", ".join(missing),
                fields={"allowlist": [f"not installed: {n}" for n in missing]})
    for plugin in extra:
        pm.register(plugin)
    pm.check_pending()
    programmes(pm)  # refuse two plugins that claim one programme code, now rather than later
    return pm


def installed_plugin_names() -> list[str]:
    """Names of the ``jishijiu.plugins`` entry points installed (for ``jishijiu plugins``)."""
    return sorted({ep.name for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)})


# --------------------------------------------------------------------------- queries

def programmes(pm: pluggy.PluginManager) -> dict[str, ProgrammeInfo]:
    """Programme code → description, in registration order; duplicates are refused."""
    found: dict[str, ProgrammeInfo] = {}
    for info in reversed(pm.hook.jishijiu_programme()):  # pluggy answers last-registered first
        if info.code in found:
            raise Conflict(f"two plugins provide the programme {info.code!r}")
        found[info.code] = info
    return found


def service_operations(pm: pluggy.PluginManager) -> dict[str, ServiceOperation]:
    """Operation name → operation; names must be ``<programme>.<operation>`` and unique."""
    found: dict[str, ServiceOperation] = {}
    for batch in pm.hook.jishijiu_service_operations():
        for operation in batch:
            if not _OPERATION_NAME.match(operation.name):
                raise ValidationError(f"service operation {operation.name!r} is not named "
                                      "'<programme>.<operation>'")
            if operation.name in found:
                raise Conflict(f"two plugins register the service operation {operation.name!r}")
            found[operation.name] = operation
    return found


def form_schemas(pm: pluggy.PluginManager) -> dict[str, type]:
    """Form key → marshmallow Schema class, from every plugin; duplicates are refused."""
    found: dict[str, type] = {}
    for batch in pm.hook.jishijiu_form_schemas():
        for key, schema in batch.items():
            if key in found:
                raise Conflict(f"two plugins provide the form {key!r}")
            found[key] = schema
    return found


def notify(pm: pluggy.PluginManager, notification: Notification,
           settings: Mapping[str, Any]) -> list[DeliveryRecord]:
    """Hand a notification to every channel plugin; the delivery records, flattened."""
    return [record for batch in pm.hook.jishijiu_notify(notification=notification,
                                                        settings=settings)
            for record in batch]


# --------------------------------------------------------------------------- settings

def load_settings(pm: pluggy.PluginManager,
                  overrides: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """Every plugin's defaults, overridden by configuration; read-only.

    ``overrides`` may be flat (``{"tekun.minor_age_cap": 16}``) or nested by programme
    (``{"tekun": {"minor_age_cap": 16}}``, the shape of a TOML config file).  Unknown keys,
    overrides of the wrong kind (a bool for a number, a list for a string) and values a plugin
    cannot use (``jishijiu_check_settings``, e.g. a taper of 7 months) are refused together.
    """
    merged: dict[str, Any] = {}
    for defaults in pm.hook.jishijiu_default_settings():
        for key, value in defaults.items():
            if key in merged:
                raise Conflict(f"the setting {key!r} is offered by two plugins")
            merged[key] = value
    problems: dict[str, list[str]] = {}
    for key, value in _flatten(overrides or {}).items():
        if key not in merged:
            problems[key] = ["unknown setting"]
        elif not _same_kind(merged[key], value):
            problems[key] = [f"must be a {type(merged[key]).__name__} like the default"]
        else:
            merged[key] = value
    if not problems:
        for found in pm.hook.jishijiu_check_settings(settings=MappingProxyType(merged)):
            problems.update({key: list(messages) for key, messages in found.items()})
    if problems:
        raise ValidationError("configuration has invalid settings", fields=problems)
    return MappingProxyType(merged)


def check_with(parse: Any, settings: Mapping[str, Any]) -> dict[str, list[str]]:
    """Run a plugin's typed settings parser (``XSettings.from_mapping``) and return its problems
    as ``jishijiu_check_settings`` answers them."""
    try:
        parse(settings)
    except ValidationError as exc:
        return dict(exc.fields)
    return {}


def settings_digest(settings: Mapping[str, Any]) -> str:
    """A short fingerprint of the settings a decision used (pinned next to rule versions)."""
    canonical = json.dumps(to_json(dict(settings)), sort_keys=True, ensure_ascii=False,
                           separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:16]


def read_settings_file(package: str, prefix: str, filename: str = "settings.toml"
                       ) -> dict[str, Any]:
    """A plugin's ``settings.toml`` as ``{"<prefix>.<key>": value}``."""
    text = resources.files(package).joinpath(filename).read_text(encoding="utf-8")
    return {f"{prefix}.{key}": value for key, value in tomllib.loads(text).items()}


class SettingsView:
    """Typed reads of one programme's settings: ``SettingsView(settings, "dibao").integer(…)``.

    A bad value raises ValidationError naming the full key, so an operator knows what to fix.
    """

    def __init__(self, settings: Mapping[str, Any], prefix: str) -> None:
        self._settings, self._prefix = settings, prefix

    def raw(self, key: str) -> Any:
        full = key if "." in key else f"{self._prefix}.{key}"
        if full not in self._settings:
            raise ValidationError(f"setting {full!r} is missing", fields={full: ["missing"]})
        return self._settings[full]

    def _bad(self, key: str, message: str) -> ValidationError:
        full = key if "." in key else f"{self._prefix}.{key}"
        return ValidationError(f"setting {full!r} {message}", fields={full: [message]})

    def boolean(self, key: str) -> bool:
        value = self.raw(key)
        if not isinstance(value, bool):
            raise self._bad(key, "must be true or false")
        return value

    def integer(self, key: str, *, lo: int | None = None, hi: int | None = None) -> int:
        value = self.raw(key)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._bad(key, "must be a whole number")
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            raise self._bad(key, f"must be between {lo} and {hi}")
        return value

    def decimal(self, key: str, *, minimum: Decimal | None = None) -> Decimal:
        value = self.optional_decimal(key)
        if value is None:
            raise self._bad(key, "must be a decimal")
        if minimum is not None and value < minimum:
            raise self._bad(key, f"must be at least {minimum}")
        return value

    def optional_decimal(self, key: str) -> Decimal | None:
        """A decimal string, int or Decimal; an empty string means "not set"."""
        value = self.raw(key)
        if value == "" or value is None:
            return None
        if isinstance(value, (bool, float)) or not isinstance(value, (str, int, Decimal)):
            raise self._bad(key, "must be a decimal string")
        try:
            number = Decimal(value)
        except InvalidOperation:
            raise self._bad(key, "must be a decimal string") from None
        if not number.is_finite():
            raise self._bad(key, "must be finite")
        return number

    def text(self, key: str, *, choices: tuple[str, ...] = ()) -> str:
        value = self.raw(key)
        if not isinstance(value, str) or (choices and value not in choices):
            raise self._bad(key, f"must be one of {choices}" if choices else "must be text")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        value = self.raw(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self._bad(key, "must be a list of strings")
        return tuple(value)


# --------------------------------------------------------------------------- forms

def load_form(schema: type, data: Mapping[str, Any] | None, *, prefix: str = "") -> dict[str, Any]:
    """Load ``data`` with a marshmallow schema; field errors become engine ValidationError fields
    (``prefix`` + field name, e.g. ``"options.relief_type"``)."""
    import marshmallow  # local: only the plugins' form helpers need it

    try:
        return schema().load(dict(data or {}))
    except marshmallow.ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"_schema": exc.messages}
        fields = {f"{prefix}{key}": _flat_messages(value) for key, value in messages.items()}
        raise ValidationError("form is invalid: " + ", ".join(sorted(fields)),
                              fields=fields) from None


def _flat_messages(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v) for v in value]
    if isinstance(value, dict):
        return [f"{k}: {m}" for k, v in value.items() for m in _flat_messages(v)]
    return [str(value)]


def _flatten(overrides: Mapping[str, Any]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in overrides.items():
        if "." not in key and isinstance(value, Mapping):
            flat.update({f"{key}.{inner}": v for inner, v in value.items()})
        else:
            flat[key] = value
    return flat


def _same_kind(default: Any, value: Any) -> bool:
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(default, bool) and isinstance(value, bool)
    if isinstance(default, list):
        return isinstance(value, (list, tuple))
    if isinstance(default, int):
        return isinstance(value, int)
    if isinstance(default, str):  # decimal strings may be overridden by an int or a Decimal
        return isinstance(value, (str, int, Decimal))
    return True


def lookup_programme(pm: pluggy.PluginManager, code: str) -> ProgrammeInfo:
    """One programme's description, or NotFound."""
    try:
        return programmes(pm)[code]
    except KeyError:
        raise NotFound(f"no plugin provides the programme {code!r}") from None
