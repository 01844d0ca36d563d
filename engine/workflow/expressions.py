"""The restricted evaluator for BPMN conditions, timer expressions and script tasks.

SpiffWorkflow's own script engine hands diagram text to the builtin evaluator with full builtins, so
whoever edits a diagram could run code on the server (DESIGN.md, decision 3).  Here the text is
parsed with :mod:`ast` and the tree is interpreted node by node:

* before anything runs, :func:`~engine.workflow.expression_rules.static_check` refuses every
  construct outside a small language (no loops, imports, definitions, ``_`` names, unknown functions
  or methods) and bounds the source length, node count, nesting depth and constant sizes.  It runs at
  deploy time (:meth:`SafeEvaluator.check`) and again, cached, before every evaluation;
* while running, the interpreter keeps a step budget and checks int sizes, power exponents, shifts
  and the size of every string and collection *before* building it.

Money is ``Decimal``.  A float literal in the source (``700.5``) is read as the exact ``Decimal`` of
its text; ``int / int`` gives a ``Decimal``; mixing a ``Decimal`` with a float from the task data is
refused (convert it with ``decimal(x)`` first).  Scripts are transactional: assignments go to private
copies and reach the task data only when the whole script succeeded.  The whitelist itself lives in
:mod:`engine.workflow.expression_rules`.
"""

from __future__ import annotations

import ast
import decimal
import difflib
import itertools
import re
import textwrap
from collections.abc import Callable, Mapping, MutableMapping
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal

from engine.errors import ExpressionError
from engine.workflow.expression_rules import (
    ATTRIBUTES, COMPARE, DECIMAL_CONTEXT, DEFAULT_FUNCTIONS, METHODS, OPERATORS, RESULT_SIZE, UNARY,
    Limits, Refusal, check_format_spec, is_iso_literal, kind_of, parse, static_check,
)

__all__ = ["DEFAULT_FUNCTIONS", "Limits", "SafeEvaluator", "is_iso_literal"]

_SEQUENCES = ("str", "list", "tuple")
_SCALARS = frozenset({"None", "bool", "int", "Decimal", "float", "str", "date", "datetime", "timedelta"})
_CONVERSIONS = {-1: None, ord("s"): str, ord("r"): repr, ord("a"): ascii}
_ID_NUMBER = re.compile(r"(?<![0-9A-Za-z])(\d{6})\d{8}(\d{3}[0-9Xx])(?![0-9A-Za-z])")


def _snippet(text: str, limit: int = 160) -> str:
    text = " ".join(text[: limit * 4].split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class SafeEvaluator:
    """Evaluates expressions and runs simple scripts over task data, refusing anything unsafe.

    ``functions`` are extra whitelisted callables merged over :data:`DEFAULT_FUNCTIONS` (the engine
    adds ``now()`` and ``workdays_after(start, n)``).  They receive and must return plain values.
    One instance is safe to share between threads.
    """

    def __init__(self, functions: Mapping[str, Callable[..., Any]] | None = None, *,
                 limits: Limits | None = None) -> None:
        merged = {**DEFAULT_FUNCTIONS, **(functions or {})}
        for name, fn in merged.items():
            if not name.isidentifier() or name.startswith("_") or not callable(fn):
                raise ValueError(f"cannot whitelist {name!r}: needs a public name and a callable")
        self.functions: Mapping[str, Callable[..., Any]] = MappingProxyType(merged)
        self.limits = limits or Limits()
        self._trees: dict[tuple[str, str], ast.AST] = {}

    # --- public ---------------------------------------------------------------------------------
    def check(self, source: str, *, mode: Literal["eval", "exec"] = "eval",
              element_id: str | None = None) -> None:
        """Refuse ``source`` unless it is inside the allowed language and limits.

        Runs nothing from the task data; constant sub-expressions (``9**9**9``, ``'a' * 10**10``) are
        computed under the run-time limits, so a bomb is refused at deploy, not when a case reaches it.
        """
        tree = self._tree(source, mode, element_id)
        for node in ast.walk(tree):
            if isinstance(node, (ast.BinOp, ast.UnaryOp)) and _constant_only(node):
                run = _Run(self, {})
                self._guard(lambda n=node, r=run: r.value(n), source, mode, element_id, run)

    def evaluate(self, expression: str, data: Mapping[str, Any], *, element_id: str | None = None) -> Any:
        """The value of ``expression`` with the names in ``data`` and the whitelisted functions."""
        tree = self._tree(expression, "eval", element_id)
        run = _Run(self, data)
        return self._guard(lambda: run.value(tree.body), expression, "eval", element_id, run)

    def execute(self, script: str, data: MutableMapping[str, Any], *, element_id: str | None = None) -> None:
        """Run the assignments of ``script`` into ``data``; on any failure ``data`` is left unchanged."""
        tree = self._tree(script, "exec", element_id)
        run = _Run(self, data)
        self._guard(lambda: run.block(tree.body), script, "exec", element_id, run)
        for name in run.deleted:
            data.pop(name, None)
        data.update(run.changes)

    # --- internals -------------------------------------------------------------------------------
    def _tree(self, source: str, mode: str, element_id: str | None) -> Any:
        if mode not in ("eval", "exec"):
            raise ValueError(f"mode must be 'eval' or 'exec', not {mode!r}")
        if not isinstance(source, str):
            raise ExpressionError(f"expected text, got {type(source).__name__}", element_id=element_id)
        tree = self._trees.get((mode, source))
        if tree is None:
            try:
                tree = parse(source, mode, self.limits)
                static_check(tree, mode, self.limits, self.functions)
            except Refusal as exc:
                raise self._error(str(exc), source, mode, element_id, exc.line) from None
            if len(self._trees) >= 1024:
                self._trees.clear()
            self._trees[(mode, source)] = tree
        return tree

    # --- turning failures into ExpressionError --------------------------------------------------
    def _guard(self, action: Callable[[], Any], source: str, mode: str, element_id: str | None,
               run: _Run) -> Any:
        try:
            with decimal.localcontext(DECIMAL_CONTEXT):
                return action()
        except ExpressionError:
            raise
        except Refusal as exc:
            message, line = str(exc), exc.line or run.line
        except (ArithmeticError, TypeError, ValueError, LookupError) as exc:
            message, line = _describe(exc), run.line
        except (RecursionError, MemoryError):
            message, line = "is too complex to evaluate (nested too deeply or too large)", run.line
        raise self._error(message, source, mode, element_id, line)

    @staticmethod
    def _error(message: str, source: str, mode: str, element_id: str | None,
               line: int | None = None) -> ExpressionError:
        if mode == "exec" and line:
            lines = textwrap.dedent(source).strip("\n").splitlines()
            text = lines[line - 1] if 0 < line <= len(lines) else ""
            where = f"script line {line}: {_snippet(text)}"
        else:
            where = f"{'expression' if mode == 'eval' else 'script'}: {_snippet(source)}"
        if message.startswith(("is ", "does ")):
            message = f"the {'expression' if mode == 'eval' else 'script'} {message}"
        # Messages may quote task data; identity numbers only ever appear masked (DESIGN.md, 10).
        text = _ID_NUMBER.sub(r"\1********\2", f"{message} ({where})")
        return ExpressionError(text, expression=source, element_id=element_id)


_CONSTANT_NODES = (ast.BinOp, ast.UnaryOp, ast.Constant, ast.List, ast.Tuple, ast.operator, ast.unaryop,
                   ast.expr_context)


def _constant_only(node: ast.AST) -> bool:
    return all(isinstance(n, _CONSTANT_NODES) for n in ast.walk(node))


class _Run:
    """One evaluation: the step budget, and the script's pending changes to the task data."""

    def __init__(self, evaluator: SafeEvaluator, data: Mapping[str, Any]) -> None:
        self.limits, self.functions, self.data = evaluator.limits, evaluator.functions, data
        self.changes: dict[str, Any] = {}   # private copies; written back to data on success
        self.deleted: set[str] = set()
        self.steps = 0
        self.line: int | None = None

    def tick(self, cost: int = 1) -> None:
        self.steps += cost
        if self.steps > self.limits.max_steps:
            raise Refusal(f"does too much work: the budget of {self.limits.max_steps:,} steps is used up")

    # --- statements -----------------------------------------------------------------------------
    def block(self, statements: list[ast.stmt]) -> None:
        for stmt in statements:
            self.line = stmt.lineno
            self.tick()
            if isinstance(stmt, ast.Assign):
                value = self.value(stmt.value)
                for target in stmt.targets:
                    self.store(target, value)
            elif isinstance(stmt, ast.AugAssign):
                if isinstance(stmt.target, ast.Name):
                    current = self.lookup(stmt.target.id)
                    self.store(stmt.target, self.binop(stmt.op, current, self.value(stmt.value)))
                else:
                    container, key = self.slot(stmt.target)
                    result = self.binop(stmt.op, self.item(container, key), self.value(stmt.value))
                    container[key] = self.copy(result)
            elif isinstance(stmt, ast.If):
                self.block(stmt.body if self.value(stmt.test) else stmt.orelse)
            elif isinstance(stmt, ast.Delete):
                for target in stmt.targets:
                    self.delete(target)

    def store(self, target: ast.expr, value: Any) -> None:
        if isinstance(target, ast.Name):
            self.changes[target.id] = self.copy(value)
            self.deleted.discard(target.id)
        elif isinstance(target, ast.Subscript):
            container, key = self.slot(target)
            container[key] = self.copy(value)
        elif isinstance(target, (ast.Tuple, ast.List)):
            if kind_of(value) not in ("list", "tuple") or len(value) != len(target.elts):
                raise Refusal(f"cannot unpack {kind_of(value)} into {len(target.elts)} names")
            for element, item in zip(target.elts, value):
                self.store(element, item)

    def delete(self, target: ast.expr) -> None:
        if isinstance(target, ast.Name):
            self.lookup(target.id)
            self.changes.pop(target.id, None)
            self.deleted.add(target.id)
        elif isinstance(target, ast.Subscript):
            container, key = self.slot(target)
            self.item(container, key)
            del container[key]
        else:
            raise Refusal("only names and name['key'] can be deleted")

    def slot(self, target: ast.Subscript) -> tuple[Any, Any]:
        """The container and key that ``target`` assigns into (a private copy of the data)."""
        container = self.writable(target.value)
        if kind_of(container) not in ("dict", "list"):
            raise Refusal(f"can only assign into a dict or list, not into {kind_of(container)}")
        return container, self.value(target.slice)

    def writable(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Name):
            if node.id not in self.changes:
                self.changes[node.id] = self.copy(self.lookup(node.id))
            return self.changes[node.id]
        if isinstance(node, ast.Subscript) and not isinstance(node.slice, ast.Slice):
            return self.item(self.writable(node.value), self.value(node.slice))
        raise Refusal("can only assign into task data: name = value or name['key'] = value")

    def copy(self, value: Any) -> Any:
        """A private deep copy, so a script never shares (or half-changes) the caller's objects."""
        self.tick()
        kind = kind_of(value)
        if kind == "dict":
            return {key: self.copy(item) for key, item in value.items()}
        if kind == "list":
            return [self.copy(item) for item in value]
        if kind == "tuple":
            return tuple(self.copy(item) for item in value)
        if kind == "set":  # members are hashable, so immutable
            self.tick(len(value))
            return set(value)
        return value

    # --- expressions ----------------------------------------------------------------------------
    def value(self, node: ast.expr) -> Any:
        self.tick()
        return _DISPATCH[type(node)](self, node)

    def lookup(self, name: str) -> Any:
        if name not in self.deleted:
            if name in self.changes:
                return self.changes[name]
            if name in self.data:
                return self.allowed(self.data[name], name)
        if name in self.functions:
            raise Refusal(f"'{name}' is a function; call it, e.g. {name}(...)")
        known = [k for k in itertools.islice(self.data, 1000) if isinstance(k, str)] + list(self.changes)
        close = difflib.get_close_matches(name, known, n=1) if len(name) <= 64 else []
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise Refusal(f"name '{name}' is not defined in the task data{hint}")

    @staticmethod
    def allowed(value: Any, where: Any) -> Any:
        if kind_of(value) is None:
            raise Refusal(f"{_snippet(str(where), 60)} is a {type(value).__name__}, "
                          "which expressions cannot use")
        return value

    def sized(self, value: Any) -> Any:
        """Charge for a value just built and refuse it if it is too big."""
        kind = kind_of(value)
        if kind is None:
            raise Refusal(f"the result is a {type(value).__name__}, which expressions cannot use")
        if kind == "str":
            self.tick(len(value) // 64)
            if len(value) > self.limits.max_string_length:
                raise Refusal(f"the text would be longer than {self.limits.max_string_length:,} characters")
        elif kind in ("list", "tuple", "dict", "set"):
            self.tick(len(value))
            if len(value) > self.limits.max_collection_length:
                raise Refusal(f"the {kind} would have more than {self.limits.max_collection_length:,} items")
        elif kind == "int" and value.bit_length() > self.limits.max_int_bits:
            raise Refusal(f"the number would be larger than {self.limits.max_int_bits} bits")
        return value

    def binop(self, op: ast.operator, a: Any, b: Any) -> Any:
        ka, kb, limits = kind_of(a), kind_of(b), self.limits
        _no_float_money(ka, kb)
        if isinstance(op, ast.Add) and ka == kb and ka in _SEQUENCES:
            self.sized_ahead(ka, len(a) + len(b))
        elif isinstance(op, ast.Mult) and (ka in _SEQUENCES or kb in _SEQUENCES):
            seq, count = (a, b) if ka in _SEQUENCES else (b, a)
            if isinstance(count, int) and kind_of(seq) != "str":
                self.tick(len(seq))
                if any(kind_of(item) not in _SCALARS for item in seq):
                    raise Refusal("only lists of single values can be repeated with *")
            if isinstance(count, int):
                self.sized_ahead(kind_of(seq), len(seq) * max(count, 0))
        elif isinstance(op, ast.Pow):
            if isinstance(b, (int, Decimal, float)) and abs(b) > limits.max_power_exponent:
                raise Refusal(f"the exponent {b} is larger than {limits.max_power_exponent}")
            if ka == kb == "int":
                if abs(a) > 1 and a.bit_length() * b > limits.max_int_bits:
                    raise Refusal(f"{a} ** {b} would be larger than {limits.max_int_bits} bits")
                if b < 0:
                    a = Decimal(a)
        elif isinstance(op, ast.LShift) and ka in ("int", "bool") and kb in ("int", "bool"):
            if b > limits.max_int_bits or a.bit_length() + b > limits.max_int_bits:
                raise Refusal(f"shifting by {b} bits would give a number larger than "
                              f"{limits.max_int_bits} bits")
        elif isinstance(op, ast.Mod) and ka == "str":
            raise Refusal("'%' formatting of text is not supported; use an f-string")
        elif isinstance(op, ast.Div) and ka in ("int", "bool") and kb in ("int", "bool"):
            a, b = Decimal(a), Decimal(b)  # exact, like money: 7 / 2 == Decimal("3.5")
        elif isinstance(op, ast.BitOr) and ka == kb and ka in ("dict", "set"):
            self.sized_ahead(ka, len(a) + len(b))
        return self.sized(OPERATORS[type(op)](a, b))

    def sized_ahead(self, kind: str | None, size: int) -> None:
        limit = self.limits.max_string_length if kind == "str" else self.limits.max_collection_length
        if size > limit:
            noun = "text" if kind == "str" else kind
            raise Refusal(f"the {noun} would have {size:,} {'characters' if kind == 'str' else 'items'}; "
                          f"the limit is {limit:,}")

    def _constant(self, node: ast.Constant) -> Any:
        if isinstance(node.value, float):
            return Decimal(repr(node.value))  # the exact number the designer wrote
        return node.value

    def _name(self, node: ast.Name) -> Any:
        return self.lookup(node.id)

    def _list(self, node: ast.List) -> Any:
        return [self.value(item) for item in node.elts]

    def _tuple(self, node: ast.Tuple) -> Any:
        return tuple(self.value(item) for item in node.elts)

    def _set(self, node: ast.Set) -> Any:
        return {self.value(item) for item in node.elts}

    def _dict(self, node: ast.Dict) -> Any:
        return {self.value(key): self.value(item) for key, item in zip(node.keys, node.values)}

    def _binop(self, node: ast.BinOp) -> Any:
        return self.binop(node.op, self.value(node.left), self.value(node.right))

    def _unaryop(self, node: ast.UnaryOp) -> Any:
        operand = self.value(node.operand)
        if isinstance(node.op, ast.Not):
            return not operand
        return self.sized(UNARY[type(node.op)](operand))

    def _boolop(self, node: ast.BoolOp) -> Any:
        result = None
        for item in node.values:
            result = self.value(item)
            if bool(result) == isinstance(node.op, ast.Or):
                break
        return result

    def _compare(self, node: ast.Compare) -> bool:
        left = self.value(node.left)
        for op, right_node in zip(node.ops, node.comparators):
            right = self.value(right_node)
            _no_float_money(kind_of(left), kind_of(right))
            if isinstance(op, (ast.In, ast.NotIn)) and kind_of(right) in (*_SEQUENCES, "set", "dict"):
                self.tick(len(right) // (64 if kind_of(right) == "str" else 1))
            if not COMPARE[type(op)](left, right):
                return False
            left = right
        return True

    def _ifexp(self, node: ast.IfExp) -> Any:
        return self.value(node.body if self.value(node.test) else node.orelse)

    def _call(self, node: ast.Call) -> Any:
        size_of = None
        if isinstance(node.func, ast.Name):
            name, fn, prefix = node.func.id, self.functions[node.func.id], ()
        else:
            receiver = self.value(node.func.value)
            kind, name = kind_of(receiver), node.func.attr
            fn = METHODS.get(kind, {}).get(name)
            if fn is None:
                allowed = ", ".join(sorted(METHODS.get(kind, {}))) or "none"
                raise Refusal(f"{kind} values have no allowed method '{name}' (allowed: {allowed})")
            size_of = RESULT_SIZE.get((kind, name))
            prefix, name = (receiver,), f"{kind}.{name}"
        args = [*prefix, *(self.value(arg) for arg in node.args)]
        kwargs = {k.arg: self.value(k.value) for k in node.keywords}
        for arg in (*args, *kwargs.values()):
            if kind_of(arg) in ("list", "tuple", "set", "dict"):
                self.tick(len(arg))
            elif kind_of(arg) == "str":
                self.tick(len(arg) // 64)
        if size_of is not None:
            self.sized_ahead("str", size_of(*args, **kwargs))
        try:
            result = fn(*args, **kwargs)
        except Refusal:
            raise
        except ExpressionError as exc:
            raise Refusal(f"{name}() failed: {exc.message}") from exc
        except Exception as exc:  # noqa: BLE001 - whitelisted functions report to the designer
            raise Refusal(f"{name}() failed: {_describe(exc)}") from exc
        return self.sized(self.allowed(result, f"the result of {name}()"))

    def _attribute(self, node: ast.Attribute) -> Any:
        receiver = self.value(node.value)
        kind = kind_of(receiver)
        getter = ATTRIBUTES.get(kind, {}).get(node.attr)
        if getter is None:
            if node.attr in METHODS.get(kind, {}):
                raise Refusal(f"'.{node.attr}' is a method; call it: .{node.attr}(...)")
            raise Refusal(f"{kind} values have no attribute '{node.attr}'")
        return getter(receiver)

    def _subscript(self, node: ast.Subscript) -> Any:
        container = self.value(node.value)
        if isinstance(node.slice, ast.Slice):
            if kind_of(container) not in _SEQUENCES:
                raise Refusal(f"cannot slice {kind_of(container)}")
            bounds = [None if part is None else self.value(part)
                      for part in (node.slice.lower, node.slice.upper, node.slice.step)]
            if any(kind_of(b) not in ("None", "int") for b in bounds):
                raise Refusal("slice bounds must be whole numbers")
            return self.sized(container[slice(*bounds)])
        return self.item(container, self.value(node.slice))

    def item(self, container: Any, key: Any) -> Any:
        kind = kind_of(container)
        if kind not in ("dict", "list", "tuple", "str"):
            raise Refusal(f"cannot look up [{_snippet(repr(key), 60)}] in {kind}")
        try:
            value = container[key]
        except KeyError:
            keys = _snippet(", ".join(repr(k) for k in itertools.islice(container, 10)), 100)
            shown = _snippet(repr(key), 60)
            raise Refusal(f"key {shown} is not in the dict (keys: {keys or 'none'}); "
                          f"use .get({shown}, default)") from None
        except IndexError:
            raise Refusal(f"index {key!r} is out of range: the {kind} has {len(container)} items") from None
        if kind_of(value) is None:
            raise Refusal(f"[{_snippet(repr(key), 60)}] is a {type(value).__name__}, "
                          "which expressions cannot use")
        return value

    def _joinedstr(self, node: ast.JoinedStr) -> str:
        parts: list[str] = []
        total = 0
        for part in node.values:
            text = part.value if isinstance(part, ast.Constant) else self._formatted(part)
            total += len(text)
            self.sized_ahead("str", total)
            parts.append(text)
        return self.sized("".join(parts))

    def _formatted(self, node: ast.FormattedValue) -> str:
        value = self.value(node.value)
        kind = kind_of(value)
        if kind not in _SCALARS:
            raise Refusal(f"only single values can be put into text, not a {kind}")
        convert = _CONVERSIONS[node.conversion]
        if convert is not None:
            value = convert(value)
        if node.format_spec is None:
            return self.sized(value if isinstance(value, str) else format(value))
        spec = "".join(part.value for part in node.format_spec.values)
        problem = check_format_spec(spec, kind_of(value), self.limits.max_format_width)
        if problem:
            raise Refusal(problem)
        return self.sized(format(value, spec))


def _describe(exc: Exception) -> str:
    if isinstance(exc, ZeroDivisionError):
        return "division by zero"
    if isinstance(exc, ArithmeticError):  # decimal signals carry no readable message
        return f"the calculation has no valid result or the number is too large ({type(exc).__name__})"
    return str(exc) or type(exc).__name__


def _no_float_money(ka: str | None, kb: str | None) -> None:
    if {ka, kb} == {"Decimal", "float"}:
        raise Refusal("cannot mix a Decimal amount with a float: money is exact; "
                      "convert the float with decimal(x) first")


_DISPATCH: dict[type, Callable[[_Run, Any], Any]] = {
    ast.Constant: _Run._constant, ast.Name: _Run._name, ast.List: _Run._list,
    ast.Tuple: _Run._tuple, ast.Set: _Run._set, ast.Dict: _Run._dict, ast.BinOp: _Run._binop,
    ast.UnaryOp: _Run._unaryop, ast.BoolOp: _Run._boolop, ast.Compare: _Run._compare,
    ast.IfExp: _Run._ifexp, ast.Call: _Run._call, ast.Attribute: _Run._attribute,
    ast.Subscript: _Run._subscript, ast.JoinedStr: _Run._joinedstr,
}
