"""The restricted evaluator for BPMN conditions, timer expressions and script tasks.

SpiffWorkflow's own script engine hands diagram text to the builtin evaluator with full builtins, so
whoever edits a diagram could run code on the server (DESIGN.md, decision 3).  This module parses the
text with :mod:`ast` and interprets the tree itself:

* :meth:`SafeEvaluator.check` refuses, before anything runs, every construct outside a small
  language (no loops, imports, definitions, ``_``-names, unknown functions or methods) and bounds the
  source length, node count, nesting depth and constant sizes.  It runs at deploy time and again
  before every evaluation.
* the interpreter bounds the rest at run time: a step budget, int sizes, power exponents, shifts and
  the size of every string and collection *before* it is built.

Money is ``Decimal``.  A float literal in the source (``700.5``) is read as the exact ``Decimal`` of
its text; ``int / int`` gives a ``Decimal``; mixing a ``Decimal`` with a float value from the task
data is refused (convert it with ``decimal(x)`` first).  Scripts are transactional: assignments go
to a private copy of what they touch and reach ``data`` only when the whole script succeeded.
"""

from __future__ import annotations

import ast
import decimal
import difflib
import itertools
import operator
import textwrap
from collections.abc import Callable, Mapping, MutableMapping
from dataclasses import dataclass
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal

from engine.errors import ExpressionError
from engine.workflow.expression_library import (
    ATTRIBUTES, DECIMAL_CONTEXT, DEFAULT_FUNCTIONS, MEMBER_NAMES, METHODS, RESULT_SIZE, check_format_spec,
    is_iso_literal, kind_of,
)

__all__ = ["DEFAULT_FUNCTIONS", "Limits", "SafeEvaluator", "is_iso_literal"]


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


class _Refused(Exception):
    """Internal: a refusal on its way to become an ExpressionError with the source attached."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.line = line


_OPERATORS = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
    ast.FloorDiv: operator.floordiv, ast.Mod: operator.mod, ast.Pow: operator.pow,
    ast.LShift: operator.lshift, ast.RShift: operator.rshift, ast.BitOr: operator.or_,
    ast.BitXor: operator.xor, ast.BitAnd: operator.and_,
}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Invert: operator.invert}
_COMPARE = {
    ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt, ast.LtE: operator.le,
    ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Is: operator.is_, ast.IsNot: operator.is_not,
    ast.In: lambda a, b: a in b, ast.NotIn: lambda a, b: a not in b,
}
_EXPRESSION_NODES = frozenset({
    ast.Expression, ast.Constant, ast.Name, ast.Load, ast.List, ast.Tuple, ast.Dict, ast.Set,
    ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.And, ast.Or, ast.Not, ast.Compare, ast.IfExp, ast.Call,
    ast.keyword, ast.Attribute, ast.Subscript, ast.Slice, ast.JoinedStr, ast.FormattedValue,
    *_OPERATORS, *_UNARY, *_COMPARE,
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
_SEQUENCES = ("str", "list", "tuple")
_SCALARS = frozenset({"None", "bool", "int", "Decimal", "float", "str", "date", "datetime", "timedelta"})
_CONVERSIONS = {-1: None, ord("s"): str, ord("r"): repr, ord("a"): ascii}


def _snippet(text: str, limit: int = 160) -> str:
    text = " ".join(text.split())
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
        """Refuse ``source`` unless it is inside the allowed language and limits (runs nothing)."""
        self._tree(source, mode, element_id)

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

    # --- parsing and the static check -----------------------------------------------------------
    def _tree(self, source: str, mode: str, element_id: str | None) -> Any:
        if not isinstance(source, str):
            raise ExpressionError(f"expected text, got {type(source).__name__}", element_id=element_id)
        tree = self._trees.get((mode, source))
        if tree is None:
            try:
                tree = self._parse(source, mode)
                self._static_check(tree, mode)
            except _Refused as exc:
                raise self._error(str(exc), source, mode, element_id, exc.line) from None
            if len(self._trees) >= 1024:
                self._trees.clear()
            self._trees[(mode, source)] = tree
        return tree

    def _parse(self, source: str, mode: str) -> ast.AST:
        if len(source) > self.limits.max_source_chars:
            raise _Refused(f"is {len(source):,} characters long; the limit is "
                           f"{self.limits.max_source_chars:,}")
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
            except (ValueError, RecursionError, MemoryError, OverflowError):
                raise _Refused("is nested too deeply or is too complex to read") from None
        assert problem is not None
        where = f" at line {problem.lineno}, column {problem.offset}" if problem.lineno else ""
        raise _Refused(f"is not valid syntax: {problem.msg}{where}", problem.lineno)

    def _static_check(self, tree: ast.AST, mode: str) -> None:
        allowed = _EXPRESSION_NODES if mode == "eval" else _SCRIPT_NODES
        limits, count, stack = self.limits, 0, [(tree, 1)]
        while stack:
            node, depth = stack.pop()
            count += 1
            line = getattr(node, "lineno", None)
            if count > limits.max_nodes:
                raise _Refused(f"is too large: more than {limits.max_nodes:,} syntax elements")
            if depth > limits.max_depth:
                raise _Refused(f"is nested too deeply (more than {limits.max_depth} levels)", line)
            if type(node) not in allowed:
                where = "expressions" if mode == "eval" else "scripts (only assignments, if/elif/else, pass, del)"
                raise _Refused(_WHY.get(type(node), f"{type(node).__name__} is not allowed in {where}"), line)
            problem = self._node_problem(node)
            if problem:
                raise _Refused(problem, line)
            stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))

    def _node_problem(self, node: ast.AST) -> str | None:
        limits = self.limits
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
            if isinstance(node.func, ast.Name) and node.func.id not in self.functions:
                return (f"the function '{node.func.id}' is not available "
                        f"(available: {', '.join(sorted(self.functions))})")
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
        if isinstance(node, (ast.Assign, ast.Delete)):
            for target in node.targets:
                if isinstance(target, ast.Subscript) and isinstance(target.slice, ast.Slice):
                    return "assigning to or deleting a slice is not supported"
        return None

    # --- turning failures into ExpressionError --------------------------------------------------
    def _guard(self, action: Callable[[], Any], source: str, mode: str, element_id: str | None,
               run: _Run) -> Any:
        try:
            with decimal.localcontext(DECIMAL_CONTEXT):
                return action()
        except ExpressionError:
            raise
        except _Refused as exc:
            message, line = str(exc), exc.line or run.line
        except ZeroDivisionError:
            message, line = "division by zero", run.line
        except (ArithmeticError, OverflowError) as exc:
            message, line = f"the arithmetic failed ({type(exc).__name__}: the number is invalid or too large)", run.line
        except (TypeError, ValueError, LookupError) as exc:
            message, line = str(exc) or type(exc).__name__, run.line
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
        return ExpressionError(f"{message} ({where})", expression=source, element_id=element_id)


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
            raise _Refused(f"does too much work: the budget of {self.limits.max_steps:,} steps is used up")

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
                raise _Refused(f"cannot unpack {kind_of(value)} into {len(target.elts)} names")
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
            raise _Refused("only names and name['key'] can be deleted")

    def slot(self, target: ast.Subscript) -> tuple[Any, Any]:
        """The container and key that ``target`` assigns into (a private copy of the data)."""
        container = self.writable(target.value)
        if kind_of(container) not in ("dict", "list"):
            raise _Refused(f"can only assign into a dict or list, not into {kind_of(container)}")
        return container, self.value(target.slice)

    def writable(self, node: ast.expr) -> Any:
        if isinstance(node, ast.Name):
            if node.id not in self.changes:
                self.changes[node.id] = self.copy(self.lookup(node.id))
            return self.changes[node.id]
        if isinstance(node, ast.Subscript) and not isinstance(node.slice, ast.Slice):
            return self.item(self.writable(node.value), self.value(node.slice))
        raise _Refused("can only assign into task data: name = value or name['key'] = value")

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
            raise _Refused(f"'{name}' is a function; call it, e.g. {name}(...)")
        known = [k for k in list(self.data)[:1000] if isinstance(k, str)] + list(self.changes)
        close = difflib.get_close_matches(name, known, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise _Refused(f"name '{name}' is not defined in the task data{hint}")

    @staticmethod
    def allowed(value: Any, where: Any) -> Any:
        if kind_of(value) is None:
            raise _Refused(f"{_snippet(str(where), 60)} is a {type(value).__name__}, which expressions cannot use")
        return value

    def sized(self, value: Any) -> Any:
        """Charge for a value just built and refuse it if it is too big."""
        kind = kind_of(value)
        if kind is None:
            raise _Refused(f"the result is a {type(value).__name__}, which expressions cannot use")
        if kind == "str":
            self.tick(len(value) // 64)
            if len(value) > self.limits.max_string_length:
                raise _Refused(f"the text would be longer than {self.limits.max_string_length:,} characters")
        elif kind in ("list", "tuple", "dict", "set"):
            self.tick(len(value))
            if len(value) > self.limits.max_collection_length:
                raise _Refused(f"the {kind} would have more than {self.limits.max_collection_length:,} items")
        elif kind == "int" and value.bit_length() > self.limits.max_int_bits:
            raise _Refused(f"the number would be larger than {self.limits.max_int_bits} bits")
        return value

    def binop(self, op: ast.operator, a: Any, b: Any) -> Any:
        ka, kb, limits = kind_of(a), kind_of(b), self.limits
        _no_float_money(ka, kb)
        if isinstance(op, ast.Add) and ka == kb and ka in _SEQUENCES:
            self.sized_ahead(ka, len(a) + len(b))
        elif isinstance(op, ast.Mult) and (ka in _SEQUENCES or kb in _SEQUENCES):
            seq, count = (a, b) if ka in _SEQUENCES else (b, a)
            if isinstance(count, int) and kind_of(seq) != "str":
                if any(kind_of(item) not in _SCALARS for item in seq):
                    raise _Refused("only lists of single values can be repeated with *")
            if isinstance(count, int):
                self.sized_ahead(kind_of(seq), len(seq) * max(count, 0))
        elif isinstance(op, ast.Pow):
            if isinstance(b, (int, Decimal, float)) and abs(b) > limits.max_power_exponent:
                raise _Refused(f"the exponent {b} is larger than {limits.max_power_exponent}")
            if ka == kb == "int":
                if abs(a) > 1 and a.bit_length() * b > limits.max_int_bits:
                    raise _Refused(f"{a} ** {b} would be larger than {limits.max_int_bits} bits")
                if b < 0:
                    a = Decimal(a)
        elif isinstance(op, ast.LShift) and ka in ("int", "bool") and kb in ("int", "bool"):
            if b > limits.max_int_bits or a.bit_length() + b > limits.max_int_bits:
                raise _Refused(f"shifting by {b} bits would give a number larger than {limits.max_int_bits} bits")
        elif isinstance(op, ast.Mod) and ka == "str":
            raise _Refused("'%' formatting of text is not supported; use an f-string")
        elif isinstance(op, ast.Div) and ka in ("int", "bool") and kb in ("int", "bool"):
            a, b = Decimal(a), Decimal(b)  # exact, like money: 7 / 2 == Decimal("3.5")
        elif isinstance(op, ast.BitOr) and ka == kb and ka in ("dict", "set"):
            self.sized_ahead(ka, len(a) + len(b))
        return self.sized(_OPERATORS[type(op)](a, b))

    def sized_ahead(self, kind: str | None, size: int) -> None:
        limit = self.limits.max_string_length if kind == "str" else self.limits.max_collection_length
        if size > limit:
            noun = "text" if kind == "str" else kind
            raise _Refused(f"the {noun} would have {size:,} {'characters' if kind == 'str' else 'items'}; "
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
        return self.sized(_UNARY[type(node.op)](operand))

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
            if isinstance(op, (ast.In, ast.NotIn)) and kind_of(right) in ("list", "tuple", "set", "dict", "str"):
                self.tick(len(right) // (64 if kind_of(right) == "str" else 1))
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True

    def _ifexp(self, node: ast.IfExp) -> Any:
        return self.value(node.body if self.value(node.test) else node.orelse)

    def _call(self, node: ast.Call) -> Any:
        if isinstance(node.func, ast.Name):
            name, fn, prefix = node.func.id, self.functions[node.func.id], ()
        else:
            receiver = self.value(node.func.value)
            kind, name = kind_of(receiver), node.func.attr
            fn = METHODS.get(kind, {}).get(name)
            if fn is None:
                allowed = ", ".join(sorted(METHODS.get(kind, {}))) or "none"
                raise _Refused(f"{kind} values have no allowed method '{name}' (allowed: {allowed})")
            size_of = RESULT_SIZE.get((kind, name))
            prefix, name = (receiver,), f"{kind}.{name}"
        args = [*prefix, *(self.value(arg) for arg in node.args)]
        kwargs = {k.arg: self.value(k.value) for k in node.keywords}
        for arg in (*args, *kwargs.values()):
            if kind_of(arg) in ("list", "tuple", "set", "dict"):
                self.tick(len(arg))
            elif kind_of(arg) == "str":
                self.tick(len(arg) // 64)
        if prefix and size_of is not None:
            self.sized_ahead("str", size_of(*args, **kwargs))
        try:
            result = fn(*args, **kwargs)
        except _Refused:
            raise
        except ExpressionError as exc:
            raise _Refused(f"{name}() failed: {exc.message}") from exc
        except Exception as exc:  # noqa: BLE001 - whitelisted functions report to the designer
            raise _Refused(f"{name}() failed: {exc}") from exc
        return self.sized(self.allowed(result, f"the result of {name}()"))

    def _attribute(self, node: ast.Attribute) -> Any:
        receiver = self.value(node.value)
        kind = kind_of(receiver)
        getter = ATTRIBUTES.get(kind, {}).get(node.attr)
        if getter is None:
            if node.attr in METHODS.get(kind, {}):
                raise _Refused(f"'.{node.attr}' is a method; call it: .{node.attr}(...)")
            raise _Refused(f"{kind} values have no attribute '{node.attr}'")
        return getter(receiver)

    def _subscript(self, node: ast.Subscript) -> Any:
        container = self.value(node.value)
        if isinstance(node.slice, ast.Slice):
            if kind_of(container) not in _SEQUENCES:
                raise _Refused(f"cannot slice {kind_of(container)}")
            bounds = [None if part is None else self.value(part)
                      for part in (node.slice.lower, node.slice.upper, node.slice.step)]
            if any(kind_of(b) not in ("None", "int") for b in bounds):
                raise _Refused("slice bounds must be whole numbers")
            return self.sized(container[slice(*bounds)])
        return self.item(container, self.value(node.slice))

    def item(self, container: Any, key: Any) -> Any:
        kind = kind_of(container)
        if kind not in ("dict", "list", "tuple", "str"):
            raise _Refused(f"cannot look up [{key!r}] in {kind}")
        try:
            return self.allowed(container[key], f"[{key!r}]")
        except KeyError:
            keys = _snippet(", ".join(repr(k) for k in itertools.islice(container, 10)), 100)
            shown = _snippet(repr(key), 60)
            raise _Refused(f"key {shown} is not in the dict (keys: {keys or 'none'}); "
                           f"use .get({shown}, default)") from None
        except IndexError:
            raise _Refused(f"index {key!r} is out of range: the {kind} has {len(container)} items") from None

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
            raise _Refused(f"only single values can be put into text, not a {kind}")
        convert = _CONVERSIONS[node.conversion]
        if convert is not None:
            value = convert(value)
        if node.format_spec is None:
            return self.sized(value if isinstance(value, str) else format(value))
        spec = "".join(part.value for part in node.format_spec.values)
        problem = check_format_spec(spec, kind_of(value), self.limits.max_format_width)
        if problem:
            raise _Refused(problem)
        return self.sized(format(value, spec))


def _no_float_money(ka: str | None, kb: str | None) -> None:
    if {ka, kb} == {"Decimal", "float"}:
        raise _Refused("cannot mix a Decimal amount with a float: money is exact; "
                       "convert the float with decimal(x) first")


_DISPATCH: dict[type, Callable[[_Run, Any], Any]] = {
    ast.Constant: _Run._constant, ast.Name: _Run._name, ast.List: _Run._list,
    ast.Tuple: _Run._tuple, ast.Set: _Run._set, ast.Dict: _Run._dict, ast.BinOp: _Run._binop,
    ast.UnaryOp: _Run._unaryop, ast.BoolOp: _Run._boolop, ast.Compare: _Run._compare,
    ast.IfExp: _Run._ifexp, ast.Call: _Run._call, ast.Attribute: _Run._attribute,
    ast.Subscript: _Run._subscript, ast.JoinedStr: _Run._joinedstr,
}
