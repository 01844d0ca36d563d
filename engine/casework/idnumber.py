"""Resident identity numbers (居民身份证号码, GB 11643-1999).

An 18-character number: 6-digit address code, 8-digit birth date, 3-digit sequence (odd for men,
even for women) and a check character computed with ISO 7064 MOD 11-2.  Only the masked form
(``370827********1234``) may appear in pages, logs and error messages (DESIGN.md decision 10), so
nothing in this module puts the number itself into an exception text.
"""

from __future__ import annotations

import re
from datetime import date

_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_CHECK_CHARS = "10X98765432"

# Provincial-level codes of the national administrative division code (GB/T 2260), plus 71/81/82
# (Taiwan, Hong Kong, Macao) and 83 (used on residence permits for Taiwan residents).
_PROVINCES = frozenset({
    "11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
    "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
    "65", "71", "81", "82", "83",
})


def normalize(id_number: str) -> str:
    """Strip surrounding spaces and upper-case a trailing ``x``."""
    return id_number.strip().upper()


def check_character(first17: str) -> str:
    """The check character (``0``–``9`` or ``X``) for the first 17 digits."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("need exactly 17 digits")
    total = sum(int(digit) * weight for digit, weight in zip(first17, _WEIGHTS))
    return _CHECK_CHARS[total % 11]


def problems(id_number: object) -> list[str]:
    """Everything wrong with ``id_number``, as field messages; an empty list means valid."""
    if not isinstance(id_number, str):
        return ["must be a string of 18 characters"]
    value = normalize(id_number)
    if len(value) != 18:
        return ["must have 18 characters"]
    if not value[:17].isdigit() or not (value[17].isdigit() or value[17] == "X"):
        return ["must be 17 digits followed by a digit or X"]
    found = []
    if value[:2] not in _PROVINCES:
        found.append("address code does not start with a province code")
    try:
        born = _birth_date(value)
    except ValueError:
        found.append("birth date part is not a valid date")
    else:
        if born.year < 1880:
            found.append("birth date part is not a valid date")
    if check_character(value[:17]) != value[17]:
        found.append("check digit is wrong")
    return found


def is_valid(id_number: object) -> bool:
    return not problems(id_number)


def birth_date(id_number: str) -> date:
    """The birth date encoded in characters 7–14."""
    return _birth_date(normalize(id_number))


def sex(id_number: str) -> str:
    """``"M"`` when the sequence number (character 17) is odd, else ``"F"``."""
    return "M" if int(normalize(id_number)[16]) % 2 else "F"


def mask(id_number: str) -> str:
    """``370827198001011232`` → ``370827********1232``: region and last four only."""
    value = normalize(id_number)
    if len(value) <= 10:
        return "*" * len(value)
    return value[:6] + "*" * (len(value) - 10) + value[-4:]


#: anything shaped like an ID number (17 digits and a check character) inside free text, valid or not
IN_TEXT = re.compile(r"(?<![0-9])[0-9]{17}[0-9Xx](?![0-9A-Za-z])")


def mask_in_text(text: str) -> str:
    """Every ID number inside ``text`` masked like :func:`mask` (logs, API errors, audit payloads)."""
    return IN_TEXT.sub(lambda m: mask(m.group(0)), text)


def make(prefix6: str, born: date, sequence: int) -> str:
    """Build a valid number (test fixtures, demo data): region, birth date, 3-digit sequence."""
    first17 = f"{prefix6}{born:%Y%m%d}{sequence:03d}"
    return first17 + check_character(first17)


def _birth_date(value: str) -> date:
    return date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
