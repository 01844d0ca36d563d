"""Business calendars per region: the national one plus an operator's overrides.

Overrides are kept in the ``setting`` row ``calendar_overrides`` as
``{"": {"2027-01-01": false, …}, "5400": {"2027-03-28": false}}`` — the empty key is national, other
keys are region prefixes (a local holiday, a local adjusted workday).  A region's calendar applies the
national overrides, then those of each longer prefix of its code, so the most local entry wins.
"""

from __future__ import annotations

import threading
from datetime import date
from typing import Mapping

from engine.errors import ValidationError
from engine.workflow.calendar import BusinessCalendar
from engine.workflow.models import Setting

SETTING_KEY = "calendar_overrides"


def _parse(raw: Mapping) -> dict[str, dict[date, bool]]:
    out: dict[str, dict[date, bool]] = {}
    for region, days in (raw or {}).items():
        out[str(region)] = {date.fromisoformat(day): bool(working) for day, working in (days or {}).items()}
    return out


class Calendars:
    """One BusinessCalendar per distinct set of overrides, built once and shared (they memoize years)."""

    def __init__(self, overrides: Mapping[str, Mapping[date, bool]] | None = None) -> None:
        self._overrides = {k: dict(v) for k, v in (overrides or {}).items()}
        self._cache: dict[str, BusinessCalendar] = {}
        self._lock = threading.Lock()
        self.national = self.for_region(None)

    @classmethod
    def load(cls, db) -> "Calendars":
        try:
            with db.read() as session:
                row = session.get(Setting, SETTING_KEY)
        except Exception:  # noqa: BLE001 - before migrations the table may not exist
            return cls()
        return cls(_parse(row.value if row is not None and isinstance(row.value, dict) else {}))

    def _key(self, region_code: str | None) -> str:
        prefixes = [p for p in self._overrides if p and region_code and region_code.startswith(p)]
        return max(prefixes, key=len) if prefixes else ""

    def for_region(self, region_code: str | None) -> BusinessCalendar:
        key = self._key(region_code)
        with self._lock:
            calendar = self._cache.get(key)
            if calendar is None:
                merged: dict[date, bool] = dict(self._overrides.get("", {}))
                for prefix in sorted((p for p in self._overrides if p and key.startswith(p)), key=len):
                    merged.update(self._overrides[prefix])
                calendar = self._cache[key] = BusinessCalendar(overrides=merged)
        return calendar


def set_override(session, day: date, working: bool | None, region: str = "") -> dict:
    """Add (``working`` True/False) or remove (None) one override; returns the stored mapping."""
    if region and (not region.isdigit() or len(region) not in (2, 4, 6, 9, 12)):
        raise ValidationError("region must be a 2, 4, 6, 9 or 12 digit prefix", {"region": ["invalid"]})
    row = session.get(Setting, SETTING_KEY)
    value = dict(row.value) if row is not None and isinstance(row.value, dict) else {}
    days = dict(value.get(region, {}))
    if working is None:
        days.pop(day.isoformat(), None)
    else:
        days[day.isoformat()] = bool(working)
    value[region] = days
    if row is None:
        session.add(Setting(key=SETTING_KEY, value=value))
    else:
        row.value = value
    return value
