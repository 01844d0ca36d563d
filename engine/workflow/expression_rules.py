"""The rules of the expression language: what may run, checked before anything runs.

:mod:`engine.workflow.expressions` interprets; this module says what it may touch.  Here are the
limits, the value kinds, the whitelisted functions and methods, the f-string format specs, the
static check of the syntax tree, and the timer-literal test — so the whitelist can be read and
reviewed in one place.  The functions receive plain values (see :func:`kind_of`) and raise
``ValueError``/``TypeError`` with a message for the process designer; the evaluator turns those into
:class:`engine.errors.ExpressionError`.
"""

from __future__ import annotations

import ast
import decimal
import math
import operator
import re
import textwrap
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class Limits:
    """Bounds on what one expression or script may cost; the defaults suit BPMN diagrams."""

    max_source_chars: int = 10_000
    max_nodes: int = 5_000
    max_depth: int = 64            # syntax-tree nesting; also bounds the interpreter's recursion
    max_power_exponent: int = 1_000
    max_string_length: int = 100_000
    max_collection_length: int = 10_000
    max_steps: int = 100_000       # nodes evaluated + elements built, copied or scanned
    max_int_bits: int = 4_096
    max_format_width: int = 100    # width and precision in an f-string format spec


class Refusal(Exception):
    """A refusal on its way to become an ExpressionError (which adds the source and element)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


#: Every Decimal operation in an expression runs in this context: 28 digits, and exponents small
#: enough that formatting a result with ``f`` can never produce a huge string.
DECIMAL_CONTEXT = decimal.Context(
    prec=28, rounding=decimal.ROUND_HALF_EVEN, Emax=9_999, Emin=-9_999,
    traps=[decimal.InvalidOperation, decimal.DivisionByZero, decimal.Overflow],
)

_KINDS: tuple[tuple[type, str], ...] = (
    (bool, "bool"), (int, "int"), (Decimal, "Decimal"), (float, "float"), (str, "str"),
    (dict, "dict"), (list, "list"), (tuple, "tuple"), (set, "set"),
    (datetime, "datetime"), (date, "date"), (timedelta, "timedelta"),
)
_EXACT = {cls: name for cls, name in _KINDS}


def kind_of(value: Any) -> str | None:
    """The name of the value kind expressions may use, or None for anything else."""
    if value is None:
        return "None"
    kind = _EXACT.get(type(value))
    if kind is None:
        kind = next((name for cls, name in _KINDS if isinstance(value, cls)), None)
    return kind


# --- functions -----------------------------------------------------------------------------------
_NUMBERS = ("bool", "int", "Decimal", "float")


def _decimal(value: Any) -> Decimal:
    """An exact amount from text, an int, a Decimal or a finite float (via its shortest text)."""
    kind = kind_of(value)
    if kind == "float":
        if not math.isfinite(value):
            raise ValueError(f"{value!r} is not an amount")
        value = repr(value)
    elif kind == "str":
        value = value.strip()
        if len(value) > 100:
            raise ValueError("the text is too long to be an amount")
    elif kind not in ("int", "Decimal"):
        raise TypeError(f"decimal() takes text or a number, not {kind or type(value).__name__}")
    try:
        result = DECIMAL_CONTEXT.copy().create_decimal(value)  # a copy: the shared one stays clean
    except decimal.InvalidOperation:
        raise ValueError(f"{value!r} is not a number") from None
    except decimal.Overflow:
        raise ValueError(f"{value!r} is too large") from None
    if not result.is_finite():
        raise ValueError(f"{value!r} is not an amount (NaN and Infinity are refused)")
    return result


def _int(value: Any) -> int:
    kind = kind_of(value)
    if kind == "str" and len(value.strip()) > 1_300:
        raise ValueError("the text has too many digits")
    if kind == "Decimal" and value.is_finite() and value.adjusted() > 1_300:
        raise ValueError("the number is too large")
    if kind not in ("str", "int", "bool", "Decimal", "float"):
        raise TypeError(f"int() takes text or a number, not {kind}")
    return int(value)


def _str(value: Any) -> str:
    kind = kind_of(value)
    if kind in ("list", "tuple", "set", "dict") or kind is None:
        raise TypeError("str() takes a single value, not a collection")
    return value.isoformat() if kind in ("date", "datetime") else str(value)


def _round(value: Any, ndigits: int | None = None) -> Any:
    if ndigits is not None and (kind_of(ndigits) != "int" or abs(ndigits) > 28):
        raise ValueError("round() takes a whole number of digits between -28 and 28")
    return round(value, ndigits)


def _sum(values: Any, start: Any = 0) -> Any:
    if kind_of(values) not in ("list", "tuple", "set") or kind_of(start) not in _NUMBERS:
        raise TypeError("sum() adds a list of numbers")
    if any(kind_of(v) not in _NUMBERS for v in values):
        raise TypeError("sum() adds numbers only")
    return sum(values, start)


def _date(*args: Any) -> date:
    """``date('2026-03-19')`` or ``date(2026, 3, 19)``; a date-time gives its date."""
    if len(args) == 1 and kind_of(args[0]) == "datetime":
        return args[0].date()
    if len(args) == 1 and kind_of(args[0]) == "str" and len(args[0]) <= 40:
        return date.fromisoformat(args[0].strip())
    if len(args) == 3 and all(kind_of(a) == "int" for a in args):
        return date(*args)
    raise TypeError("date() takes 'YYYY-MM-DD' or year, month, day")


def _datetime(text: Any) -> datetime:
    """``datetime('2026-03-19T10:00:00+08:00')``: the offset is required (time is never naive)."""
    if kind_of(text) != "str" or len(text) > 40:
        raise TypeError("datetime() takes ISO text such as '2026-03-19T10:00:00+08:00'")
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        raise ValueError(f"{text!r} has no time zone offset; add one, e.g. +08:00")
    return value


def _timedelta(*, weeks: int = 0, days: int = 0, hours: int = 0, minutes: int = 0,
               seconds: int = 0) -> timedelta:
    parts = (weeks, days, hours, minutes, seconds)
    if not all(kind_of(p) == "int" for p in parts):
        raise TypeError("timedelta() takes whole numbers: weeks=, days=, hours=, minutes=, seconds=")
    return timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)


#: The functions every expression may call; the engine adds ``now()`` and ``workdays_after()``.
#: There is no ``float()``: money is Decimal, use ``decimal()``.
DEFAULT_FUNCTIONS: Mapping[str, Callable[..., Any]] = MappingProxyType({
    "len": len, "min": min, "max": max, "sum": _sum, "round": _round, "abs": abs,
    "any": any, "all": all, "sorted": sorted, "int": _int, "str": _str, "bool": bool,
    "decimal": _decimal, "date": _date, "datetime": _datetime, "timedelta": _timedelta,
})


# --- methods and attributes ----------------------------------------------------------------------
def _join(sep: str, items: Any) -> str:
    if kind_of(items) not in ("list", "tuple") or not all(kind_of(i) == "str" for i in items):
        raise TypeError("join() takes a list of texts")
    return sep.join(items)


def _join_size(sep: str, items: Any) -> int:
    if kind_of(items) not in ("list", "tuple"):
        return 0
    return sum(len(i) for i in items if kind_of(i) == "str") + len(sep) * max(len(items) - 1, 0)


def _replace_size(text: str, old: Any, new: Any, count: int = -1) -> int:
    if kind_of(old) != "str" or kind_of(new) != "str" or kind_of(count) != "int":
        return 0
    found = text.count(old)
    return len(text) + (found if count < 0 else min(found, count)) * (len(new) - len(old))


def _quantize(value: Decimal, exp: Any, rounding: str | None = None) -> Decimal:
    """``amount.quantize(decimal('0.01'), rounding='ROUND_HALF_UP')`` rounds money to fen."""
    if kind_of(exp) != "Decimal":
        raise TypeError("quantize() takes a Decimal such as decimal('0.01')")
    if rounding is not None and rounding not in _ROUNDINGS:
        raise ValueError(f"rounding must be one of {', '.join(sorted(_ROUNDINGS))}")
    return value.quantize(exp, rounding=rounding)


_ROUNDINGS = frozenset({decimal.ROUND_HALF_UP, decimal.ROUND_HALF_EVEN, decimal.ROUND_HALF_DOWN,
                        decimal.ROUND_UP, decimal.ROUND_DOWN, decimal.ROUND_CEILING, decimal.ROUND_FLOOR})

#: Methods by receiver kind.  Deliberately small: reading dicts, tidying and testing text, rounding
#: money and reading dates.  Nothing that formats (``format``/``format_map`` reach attributes), pads
#: to a caller-chosen width, or mutates.  Each is the builtin type's own function, so a subclass in
#: the task data cannot substitute its own.
METHODS: Mapping[str, Mapping[str, Callable[..., Any]]] = MappingProxyType({
    "str": {"lower": str.lower, "upper": str.upper, "strip": str.strip, "lstrip": str.lstrip,
            "rstrip": str.rstrip, "startswith": str.startswith, "endswith": str.endswith,
            "split": str.split, "join": _join, "replace": str.replace, "isdigit": str.isdigit},
    "dict": {"get": dict.get, "keys": lambda d: list(d.keys()), "values": lambda d: list(d.values()),
             "items": lambda d: list(d.items())},
    "list": {"count": list.count, "index": list.index},
    "tuple": {"count": tuple.count, "index": tuple.index},
    "Decimal": {"quantize": _quantize},
    "date": {"isoformat": date.isoformat, "weekday": date.weekday},
    "datetime": {"isoformat": datetime.isoformat, "weekday": datetime.weekday, "date": datetime.date},
    "timedelta": {"total_seconds": timedelta.total_seconds},
})
#: For methods whose result can be much larger than their inputs: the size, computed before calling.
RESULT_SIZE: Mapping[tuple[str, str], Callable[..., int]] = MappingProxyType({
    ("str", "join"): _join_size, ("str", "replace"): _replace_size,
})


_DATE_FIELDS = ("year", "month", "day")
#: Plain attributes by receiver kind (read only).
ATTRIBUTES: Mapping[str, Mapping[str, Callable[[Any], Any]]] = MappingProxyType({
    "date": {n: operator.attrgetter(n) for n in _DATE_FIELDS},
    "datetime": {n: operator.attrgetter(n) for n in (*_DATE_FIELDS, "hour", "minute", "second")},
    "timedelta": {n: operator.attrgetter(n) for n in ("days", "seconds")},
})
MEMBER_NAMES = frozenset(name for table in (*METHODS.values(), *ATTRIBUTES.values()) for name in table)


# --- f-string format specs -----------------------------------------------------------------------
_NUMBER_SPEC = re.compile(r"(?:[^{}]?[<>=^])?[-+ ]?z?#?0?(\d+)?[,_]?(?:\.(\d+))?[bcdeEfFgGnosxX%]?\Z", re.S)
_DATE_SPEC = re.compile(r"(?=.*%)(?:%[aAbBdfHIjmMpSyYzZ%]|[^%{}])*\Z", re.S)


def check_format_spec(spec: str, kind: str | None, max_width: int) -> str | None:
    """Why ``spec`` is refused for a value of ``kind`` (None: any kind), or None if it is fine.

    Widths and precisions are bounded (``f"{x:>999999999}"`` would build a huge string); dates
    take ``strftime`` directives (``f"{day:%Y年%m月%d日}"``); nothing else is accepted.
    """
    number = _NUMBER_SPEC.match(spec)
    if number and any(n is not None and (len(n) > 9 or int(n) > max_width) for n in number.groups()):
        return f"the format spec {spec!r} asks for a width or precision above {max_width}"
    date_ok = len(spec) <= 64 and _DATE_SPEC.match(spec) is not None
    if kind in ("date", "datetime"):
        ok = date_ok
    elif kind is None:
        ok = bool(number) or date_ok
    else:
        ok = bool(number)
    return None if ok else f"the format spec {spec!r} is not supported here"


# --- the static check ----------------------------------------------------------------------------
OPERATORS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
    ast.LShift: operator.lshift, ast.RShift: operator.rshift, ast.BitOr: operator.or_,
    ast.BitXor: operator.xor, ast.BitAnd: operator.and_,
}
UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Invert: operator.invert}
COMPARE = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Is: operator.is_, ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}
_EXPRESSION_NODES = frozenset({
    ast.Expression, ast.Constant, ast.Name, ast.Load, ast.List, ast.Tuple, ast.Dict, ast.Set,
    ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.And, ast.Or, ast.Not, ast.Compare, ast.IfExp, ast.Call,
    ast.keyword, ast.Attribute, ast.Subscript, ast.Slice, ast.JoinedStr, ast.FormattedValue,
    *OPERATORS, *UNARY, *COMPARE,
})
_SCRIPT_NODES = _EXPRESSION_NODES | {ast.Module, ast.Assign, ast.AugAssign, ast.If, ast.Pass,
                                     ast.Delete, ast.Store, ast.Del}
_NO_LOOPS = "loops are not allowed: their cost cannot be bounded before running (use a service task)"
_WHY = {
    ast.Lambda: "lambda is not allowed: expressions cannot define functions",
    ast.NamedExpr: "the := operator is not allowed: expressions cannot assign",
    ast.Starred: "* and ** unpacking is not allowed",
    ast.MatMult: "the @ operator is not supported",
    ast.Expr: "a script line must be an assignment; a bare expression would have no effect",
    ast.Import: "import is not allowed: scripts work on task data only",
    ast.ImportFrom: "import is not allowed: scripts work on task data only",
    ast.FunctionDef: "defining functions is not allowed in scripts",
    ast.AsyncFunctionDef: "defining functions is not allowed in scripts",
    ast.ClassDef: "defining classes is not allowed in scripts",
    ast.AnnAssign: "annotated assignments are not allowed; write name = value",
    **dict.fromkeys((ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp),
                    "comprehensions are not allowed: expressions cannot loop (use any(), all(), sum())"),
    **dict.fromkeys((ast.For, ast.AsyncFor, ast.While), _NO_LOOPS),
}


def parse(source: str, mode: str, limits: Limits) -> ast.AST:
    """The syntax tree of ``source``, or a Refusal (too long, too deep, not valid syntax)."""
    if len(source) > limits.max_source_chars:
        raise Refusal(f"is {len(source):,} characters long; the limit is {limits.max_source_chars:,}")
    if mode == "eval":
        candidates = [source.strip()]
    else:  # XML text is often indented, and callers may have stripped only the first line
        candidates = [textwrap.dedent(source).strip("\n")]
        first, _, rest = source.strip().partition("\n")
        candidates.append(first + "\n" + textwrap.dedent(rest))
    problem: SyntaxError | None = None
    for text in candidates:
        try:
            return ast.parse(text, mode=mode)
        except SyntaxError as exc:  # includes IndentationError: then try the next reading
            problem = problem or exc
            if not isinstance(exc, IndentationError):
                break
        except (RecursionError, MemoryError, OverflowError):
            raise Refusal("is nested too deeply or is too complex to read") from None
        except ValueError as exc:  # e.g. a NUL character or an unpaired surrogate
            raise Refusal(f"is not valid text: {exc}") from None
    assert problem is not None
    where = f" at line {problem.lineno}, column {problem.offset}" if problem.lineno else ""
    raise Refusal(f"is not valid syntax: {problem.msg}{where}", problem.lineno)


def static_check(tree: ast.AST, mode: str, limits: Limits, functions: Mapping[str, Any]) -> None:
    """Refuse every construct outside the language and every size over ``limits``; runs nothing."""
    allowed = _EXPRESSION_NODES if mode == "eval" else _SCRIPT_NODES
    count, stack = 0, [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        count += 1
        line = node.lineno if isinstance(node, (ast.expr, ast.stmt)) else None
        if count > limits.max_nodes:
            raise Refusal(f"is too large: more than {limits.max_nodes:,} syntax elements")
        if depth > limits.max_depth:
            raise Refusal(f"is nested too deeply (more than {limits.max_depth} levels)", line)
        if type(node) not in allowed:
            where = "expressions" if mode == "eval" else "scripts (only assignments, if/elif/else, pass, del)"
            raise Refusal(_WHY.get(type(node), f"{type(node).__name__} is not allowed in {where}"), line)
        problem = _node_problem(node, limits, functions)
        if problem:
            raise Refusal(problem, line)
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


def _node_problem(node: ast.AST, limits: Limits, functions: Mapping[str, Any]) -> str | None:
    if isinstance(node, ast.Name) and node.id.startswith("_"):
        return f"the name '{node.id}' is not allowed: names starting with '_' are never accessible"
    if isinstance(node, ast.Attribute):
        if node.attr.startswith("_"):
            return f"'.{node.attr}' is not allowed: attributes starting with '_' are never accessible"
        if node.attr not in MEMBER_NAMES:
            return (f"'.{node.attr}' is not an allowed method or attribute "
                    f"(allowed: {', '.join(sorted(MEMBER_NAMES))})")
        if not isinstance(node.ctx, ast.Load):
            return "assigning to attributes is not allowed; assign to task data: name['key'] = value"
    if isinstance(node, ast.Call):
        if isinstance(node.func, ast.Name) and node.func.id not in functions:
            return (f"the function '{node.func.id}' is not available "
                    f"(available: {', '.join(sorted(functions))})")
        if not isinstance(node.func, (ast.Name, ast.Attribute)):
            return "only named functions and allowed methods can be called"
        if any(k.arg is None or k.arg.startswith("_") for k in node.keywords):
            return "** unpacking and keyword names starting with '_' are not allowed in calls"
    if isinstance(node, ast.Constant):
        value = node.value
        if isinstance(value, (bytes, complex)) or value is Ellipsis:
            return f"{type(value).__name__} literals are not supported"
        if isinstance(value, int) and value.bit_length() > limits.max_int_bits:
            return f"the number literal is larger than {limits.max_int_bits} bits"
        if isinstance(value, str) and len(value) > limits.max_string_length:
            return f"the text literal is longer than {limits.max_string_length:,} characters"
    if isinstance(node, ast.BinOp) and isinstance(node.right, ast.Constant):
        exponent = node.right.value
        if (isinstance(node.op, ast.Pow) and isinstance(exponent, (int, float))
                and abs(exponent) > limits.max_power_exponent):
            return f"the exponent {exponent} is larger than {limits.max_power_exponent}"
        if isinstance(node.op, ast.LShift) and isinstance(exponent, int) and exponent > limits.max_int_bits:
            return f"shifting by {exponent} bits is more than {limits.max_int_bits}"
    if isinstance(node, ast.Dict) and any(key is None for key in node.keys):
        return "** unpacking is not allowed in dict literals"
    if isinstance(node, ast.Compare):
        for op, right in zip(node.ops, node.comparators):
            fixed = isinstance(right, ast.Constant) and any(right.value is v for v in (None, True, False))
            if isinstance(op, (ast.Is, ast.IsNot)) and not fixed:
                return "'is' may only compare with None, True or False; use == for values"
    if isinstance(node, ast.FormattedValue) and node.format_spec is not None:
        parts = node.format_spec.values
        if not all(isinstance(p, ast.Constant) for p in parts):
            return "a format spec in an f-string must be fixed text, not another {field}"
        return check_format_spec("".join(p.value for p in parts), None, limits.max_format_width)
    if (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str) and node.slice.value.startswith("__")):
        return f"the key {node.slice.value!r} is not allowed: keys starting with '__' are reserved"
    if (isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice)
            and not isinstance(node.ctx, ast.Load)):
        return "assigning to or deleting a slice is not supported"
    return None


# --- timer literals ------------------------------------------------------------------------------
_N = r"\d+(?:[.,]\d+)?"
_DURATION = rf"P(?=\d|T\d)(?:{_N}Y)?(?:{_N}M)?(?:{_N}W)?(?:{_N}D)?(?:T(?=\d)(?:{_N}H)?(?:{_N}M)?(?:{_N}S)?)?"
_DATE = r"\d{4}-\d{2}-\d{2}"
_DATETIME = rf"{_DATE}T\d{{2}}:\d{{2}}(?::\d{{2}}(?:[.,]\d{{1,6}})?)?(?:Z|[+-]\d{{2}}(?::?\d{{2}})?)?"
_ISO_LITERAL = re.compile(
    rf"(?:{_DURATION}|{_DATE}|{_DATETIME}|R\d*/(?:{_DATETIME}/)?{_DURATION})\Z")
_WORKDAYS = re.compile(r"\d+\s*WD\Z", re.IGNORECASE)


def is_iso_literal(text: str) -> bool:
    """True if a timer value is a bare literal rather than an expression.

    Accepts ISO 8601 durations (``PT24H``, ``P7D``, ``P1Y2M3DT4H``), dates (``2026-03-19``),
    date-times with or without offset (``2026-03-19T10:00:00+08:00``), repeating cycles
    (``R3/PT1H``) and working days (``20WD``, ``20 WD``, any case).  Surrounding whitespace is
    ignored.  The test is on the shape: ``2026-13-45`` counts as a (bad) date, so it fails as a date
    where it is used instead of silently evaluating to 1968.
    """
    if not isinstance(text, str):
        return False
    text = text.strip()
    return bool(_ISO_LITERAL.match(text) or _WORKDAYS.match(text))
