"""The restricted evaluator: what gateways, timers and scripts need, and what it must refuse."""

from __future__ import annotations

import copy
import os
import re
import subprocess
import tracemalloc
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engine.errors import ExpressionError
from engine.workflow import expression_rules, expressions
from engine.workflow.expressions import DEFAULT_FUNCTIONS, Limits, SafeEvaluator, is_iso_literal

SHANGHAI = timezone(timedelta(hours=8))
NOW = datetime(2026, 2, 13, 10, 0, tzinfo=SHANGHAI)


def workdays_after(start: datetime, n: int) -> datetime:
    """A stand-in calendar: weekends only (the real one lives in engine.workflow.calendar)."""
    if n < 0:
        raise ValueError("n must not be negative")
    day = start
    while n:
        day += timedelta(days=1)
        n -= day.weekday() < 5
    return day.replace(hour=23, minute=59, second=59)


@pytest.fixture
def evaluator() -> SafeEvaluator:
    return SafeEvaluator({"now": lambda: NOW, "workdays_after": workdays_after})


@pytest.fixture
def case() -> dict:
    return {
        "income": Decimal("650.50"),
        "standard": Decimal("700"),
        "members": [{"name": "韩进", "income": {"wages": "0", "business": "400"}}],
        "appeal_days": 15,
        "urgency": "urgent",
        "requested_amount": Decimal("1200.00"),
        "decision": {"approved": True},
        "hearing_at": NOW,
        "applied_on": date(2026, 2, 13),
        "score": 0.5,
        "note": None,
    }


# --- what gateways, timers and scripts need ------------------------------------------------------
def test_compares_decimal_income_with_standard(evaluator, case):
    assert evaluator.evaluate("income < standard", case) is True
    assert evaluator.evaluate("income < 700", case) is True
    assert evaluator.evaluate("income >= 650.5", case) is True  # a float literal reads as exact Decimal


def test_reads_float_literals_as_exact_decimals(evaluator):
    assert evaluator.evaluate("0.1 + 0.2 == 0.3", {}) is True
    assert evaluator.evaluate("0.1 + 0.2", {}) == Decimal("0.3")


def test_divides_whole_numbers_into_exact_decimals(evaluator):
    assert evaluator.evaluate("7 / 2", {}) == Decimal("3.5")
    assert evaluator.evaluate("2 ** -1", {}) == Decimal("0.5")
    assert evaluator.evaluate("7 // 2", {}) == 3


def test_adds_decimal_and_int(evaluator, case):
    assert evaluator.evaluate("requested_amount + 100", case) == Decimal("1300.00")
    assert evaluator.evaluate("sum([income, 1, 2])", case) == Decimal("653.50")


def test_refuses_mixing_decimal_with_float(evaluator, case):
    with pytest.raises(ExpressionError, match="cannot mix a Decimal amount with a float"):
        evaluator.evaluate("income + score", case)
    with pytest.raises(ExpressionError, match="decimal"):
        evaluator.evaluate("income < score", case)
    assert evaluator.evaluate("income + decimal(score)", case) == Decimal("651.00")


def test_computes_per_capita_income_from_member_texts(evaluator, case):
    expression = ("(decimal(members[0]['income']['wages']) + decimal(members[0]['income']['business']))"
                  " / len(members) < standard")
    assert evaluator.evaluate(expression, case) is True


def test_builds_timer_duration_with_fstring(evaluator, case):
    assert evaluator.evaluate('f"P{appeal_days}D"', case) == "P15D"
    assert evaluator.evaluate("f'PT{2 if urgency == \"especially_urgent\" else 24}H'", case) == "PT24H"


def test_formats_numbers_and_dates_in_fstrings(evaluator, case):
    assert evaluator.evaluate("f'{income:,.2f}'", case) == "650.50"
    assert evaluator.evaluate("f'{applied_on:%Y年%m月%d日}'", case) == "2026年02月13日"
    assert evaluator.evaluate("f'{applied_on}'", case) == "2026-02-13"


def test_reads_dict_with_get_and_default(evaluator, case):
    assert evaluator.evaluate("decision.get('approved', False)", case) is True
    assert evaluator.evaluate("decision.get('reason', 'none given')", case) == "none given"
    assert evaluator.evaluate("sorted(decision.keys())", case) == ["approved"]


def test_chooses_with_ternary_and_boolean_operators(evaluator, case):
    assert evaluator.evaluate("'urgent' if income < 500 else 'normal'", case) == "normal"
    assert evaluator.evaluate("note or 'empty'", case) == "empty"
    assert evaluator.evaluate("urgency in ('urgent', 'especially_urgent') and not note", case) is True


def test_compares_chained_and_with_none(evaluator, case):
    assert evaluator.evaluate("0 < appeal_days <= 20", case) is True
    assert evaluator.evaluate("note is None", case) is True
    assert evaluator.evaluate("urgency is not None", case) is True


def test_slices_and_indexes_lists_and_text(evaluator):
    data = {"code": "370827101201", "items": [1, 2, 3]}
    assert evaluator.evaluate("code[:6] == '370827'", data) is True
    assert evaluator.evaluate("items[-1] + items[0]", data) == 4
    assert evaluator.evaluate("items[::2]", data) == [1, 3]


def test_calls_allowed_methods_on_text(evaluator):
    data = {"name": "  Han Jin "}
    assert evaluator.evaluate("name.strip().lower()", data) == "han jin"
    assert evaluator.evaluate("name.strip().split(' ')", data) == ["Han", "Jin"]
    assert evaluator.evaluate("'-'.join(['a', 'b'])", data) == "a-b"
    assert evaluator.evaluate("name.strip().startswith('Han')", data) is True


def test_rounds_money_half_up_with_quantize(evaluator):
    data = {"amount": Decimal("2.345")}
    half_up = "amount.quantize(decimal('0.01'), rounding='ROUND_HALF_UP')"
    assert evaluator.evaluate(half_up, data) == Decimal("2.35")
    assert evaluator.evaluate("round(amount, 2)", data) == Decimal("2.34")  # banker's rounding


def test_uses_engine_functions_for_deadlines(evaluator, case):
    due = evaluator.evaluate("workdays_after(now(), 5)", case)
    assert due == datetime(2026, 2, 20, 23, 59, 59, tzinfo=SHANGHAI)
    assert evaluator.evaluate("hearing_at + timedelta(days=7) > now()", case) is True
    assert evaluator.evaluate("applied_on.year", case) == 2026


def test_parses_dates_and_date_times(evaluator):
    assert evaluator.evaluate("date('2026-03-19')", {}) == date(2026, 3, 19)
    assert evaluator.evaluate("date(2026, 3, 19).weekday()", {}) == 3
    assert evaluator.evaluate("datetime('2026-03-19T10:00:00+08:00')", {}) == datetime(
        2026, 3, 19, 10, tzinfo=SHANGHAI)


def test_refuses_a_naive_date_time(evaluator):
    with pytest.raises(ExpressionError, match="time zone"):
        evaluator.evaluate("datetime('2026-03-19T10:00:00')", {})


def test_decimal_refuses_nan_and_infinity(evaluator):
    for text in ("NaN", "Infinity", "-inf", "sNaN"):
        with pytest.raises(ExpressionError, match="NaN and Infinity"):
            evaluator.evaluate(f"decimal('{text}')", {})
    with pytest.raises(ExpressionError, match="not an amount"):
        evaluator.evaluate("decimal(x)", {"x": float("nan")})


def test_default_functions_have_no_float(evaluator):
    assert "float" not in DEFAULT_FUNCTIONS
    expected = {"len", "min", "max", "sum", "round", "abs", "decimal", "any", "all", "sorted"}
    assert expected <= set(DEFAULT_FUNCTIONS)


# --- scripts -------------------------------------------------------------------------------------
def test_script_assigns_into_nested_dicts(evaluator, case):
    evaluator.execute("decision['reason'] = 'income below standard'\n"
                      "decision['review'] = {'by': 'county', 'steps': [1]}\n"
                      "decision['review']['steps'][0] = 2\n"
                      "total = income + 100", case)
    assert case["decision"] == {"approved": True, "reason": "income below standard",
                                "review": {"by": "county", "steps": [2]}}
    assert case["total"] == Decimal("750.50")


def test_script_runs_if_elif_else(evaluator):
    script = ("if amount > 5000:\n    level = 'county'\nelif amount > 1000:\n    level = 'township'\n"
              "else:\n    level = 'village'\n    checked = True")
    for amount, level in (("6000", "county"), ("1200", "township"), ("10", "village")):
        data = {"amount": Decimal(amount)}
        evaluator.execute(script, data)
        assert data["level"] == level


def test_script_augments_unpacks_and_deletes(evaluator):
    data = {"count": 1, "tally": {"yes": 2}, "draft": "x"}
    evaluator.execute("count += 1\ntally['yes'] += 1\nlow, high = 1, 2\ndel draft\npass", data)
    assert data == {"count": 2, "tally": {"yes": 3}, "low": 1, "high": 2}


def test_script_is_atomic_when_a_later_line_fails(evaluator):
    data = {"decision": {"approved": False}, "n": 1}
    before = copy.deepcopy(data)
    with pytest.raises(ExpressionError, match=r"\[approve\] division by zero \(script line 3: x = n / 0\)"):
        evaluator.execute("decision['approved'] = True\nn = 2\nx = n / 0", data, element_id="approve")
    assert data == before


def test_script_assignment_copies_values_instead_of_sharing_them(evaluator):
    data = {"original": {"a": 1}}
    evaluator.execute("alias = original\nalias['a'] = 2", data)
    assert data == {"original": {"a": 1}, "alias": {"a": 2}}
    assert data["alias"] is not data["original"]


def test_script_accepts_indented_text_from_xml(evaluator):
    xml_text = "\n        a = 1\n        if a == 1:\n            b = 2\n    "
    data: dict = {}
    evaluator.execute(xml_text, data)
    evaluator.execute(xml_text.strip(), data)  # only the first line lost its indentation
    assert data == {"a": 1, "b": 2}


# --- messages for the process designer -----------------------------------------------------------
def test_names_element_and_expression_when_a_name_is_missing(evaluator, case):
    with pytest.raises(ExpressionError) as info:
        evaluator.evaluate("incme < 700", case, element_id="gw_income")
    assert str(info.value).startswith("[gw_income] name 'incme' is not defined in the task data")
    assert "did you mean 'income'?" in str(info.value)
    assert str(info.value).endswith("(expression: incme < 700)")
    assert info.value.element_id == "gw_income" and info.value.expression == "incme < 700"


def test_suggests_get_for_a_missing_key(evaluator, case):
    with pytest.raises(ExpressionError, match=r"key 'reason' is not in the dict .* \.get\('reason', default\)"):
        evaluator.evaluate("decision['reason']", case)


def test_masks_identity_numbers_quoted_in_messages(evaluator):
    data = {"member": {"id_number": "370827198001011232"}}
    with pytest.raises(ExpressionError) as info:
        evaluator.evaluate("date(member['id_number'])", data)
    assert "370827********1232" in str(info.value)
    assert "198001011" not in str(info.value)


def test_says_which_function_is_unknown_at_deploy_time(evaluator):
    with pytest.raises(ExpressionError, match="the function 'workdays' is not available") as info:
        evaluator.check("workdays(now(), 3)", element_id="timer_1")
    assert "workdays_after" in str(info.value)


def test_check_accepts_valid_expressions_and_scripts_without_running_them(evaluator):
    evaluator.check("undefined_name > 3")
    evaluator.check("x = 1\nif x:\n    y = x / 0", mode="exec")


def test_check_computes_constant_parts_so_a_designer_sees_their_errors_at_deploy(evaluator):
    with pytest.raises(ExpressionError, match="division by zero"):
        evaluator.check("1 / 0")
    with pytest.raises(ExpressionError):
        evaluator.check("income < 9 ** 9 ** 9")


def test_refuses_values_of_unknown_types_in_task_data(evaluator):
    with pytest.raises(ExpressionError, match="module, which expressions cannot use"):
        evaluator.evaluate("os", {"os": os})
    with pytest.raises(ExpressionError, match="cannot use"):
        evaluator.evaluate("d['f']", {"d": {"f": print}})


def test_turns_errors_of_engine_functions_into_expression_errors(evaluator):
    with pytest.raises(ExpressionError, match=r"workdays_after\(\) failed: n must not be negative"):
        evaluator.evaluate("workdays_after(now(), -1)", {})


def test_refuses_to_whitelist_a_private_name():
    with pytest.raises(ValueError):
        SafeEvaluator({"_hidden": len})


def test_limits_are_configurable():
    small = SafeEvaluator(limits=Limits(max_steps=50))
    with pytest.raises(ExpressionError, match="budget of 50 steps"):
        small.evaluate(" + ".join(["1"] * 40), {})
    with pytest.raises(ExpressionError, match="nested too deeply"):
        SafeEvaluator(limits=Limits(max_depth=5)).check("[[[[[1]]]]]")


# --- timer literals ------------------------------------------------------------------------------
@pytest.mark.parametrize("text", [
    "PT24H", "P7D", "P1Y2M3DT4H", "PT2H30M", "P2W", "PT0.5S", "2026-03-19", "2026-03-19T10:00:00+08:00",
    "2026-03-19T10:00:00Z", "2026-03-19T10:00", "R3/PT1H", "20WD", "20 WD", " 5wd ", "\n P3D \n",
])
def test_recognises_iso_literals(text):
    assert is_iso_literal(text)


@pytest.mark.parametrize("text", [
    "P", "PT", "P1DT", "PT1H2", "p7d", '"PT24H"', "f'P{appeal_days}D'", "appeal_days", "20", "WD",
    "20WDX", "2026-3-19", "workdays_after(now(), 20)", "", "PT24H + 1",
])
def test_treats_everything_else_as_an_expression(text):
    assert not is_iso_literal(text)


# --- the hostile corpus --------------------------------------------------------------------------
@dataclass(frozen=True)
class Payload:
    mode: str       # "eval" or "exec"
    when: str       # "static": check() refuses it; "runtime": refused while running
    what: str
    source: str


def _load_payloads() -> list[Payload]:
    text = (Path(__file__).parent / "escape_payloads.txt").read_text(encoding="utf-8")
    payloads: list[Payload] = []
    for block in re.split(r"^(?=### )", text, flags=re.M)[1:]:
        header, _, body = block.partition("\n")
        _, mode, when, what = header.split(" ", 3)
        assert mode in ("eval", "exec") and when in ("static", "runtime"), header
        payloads.append(Payload(mode, when, what, body.rstrip("\n")))
    generated = [
        ("eval", "static", "a 1-million-character expression", "x+" * 500_000 + "x"),
        ("eval", "static", "1000 nested parentheses", "(" * 1000 + "1" + ")" * 1000),
        ("eval", "static", "150 nested negations (parses, too deep)", "-(" * 150 + "1" + ")" * 150),
        ("eval", "static", "unary minus chain that exhausts the parser", "-" * 9_999 + "1"),
        ("eval", "static", "a left-deep chain of additions", "+".join(["x"] * 3_000)),
        ("eval", "static", "too many nodes", "[" + ",".join(["x"] * 3_000) + "]"),
        ("eval", "static", "a format width with 5000 digits", 'f"{x:>' + "9" * 5_000 + '}"'),
        ("exec", "static", "a 1-million-character script", "x = 1\n" * 200_000),
        ("exec", "static", "ifs nested 100 deep",
         "".join(" " * i + "if x:\n" for i in range(100)) + " " * 100 + "y = 1"),
    ]
    payloads += [Payload(*item) for item in generated]
    return payloads


PAYLOADS = _load_payloads()


def hostile_data() -> dict:
    return {"x": 1, "s": "abc", "d": {"a": 1}, "lst": [1, 2, 3], "amount": Decimal("1.50"),
            "day": date(2026, 3, 19), "score": 0.5}


def test_corpus_has_at_least_sixty_distinct_payloads():
    sources = [p.source for p in PAYLOADS]
    assert len(set(sources)) == len(sources)
    assert len(PAYLOADS) >= 60


@pytest.fixture
def no_processes(monkeypatch):
    started: list = []

    def record(*args, **kwargs):
        started.append(args)
        raise AssertionError(f"a payload started a process: {args!r}")

    for module, name in ((os, "system"), (os, "popen"), (subprocess, "Popen"), (os, "execv")):
        monkeypatch.setattr(module, name, record)
    return started


@pytest.mark.parametrize("payload", PAYLOADS, ids=[f"{p.mode}-{p.what}" for p in PAYLOADS])
def test_refuses_escape_payload(payload, evaluator, tmp_path, no_processes):
    canary = tmp_path / "canary"
    source = payload.source.replace("CANARY", str(canary))
    data = hostile_data()
    before = copy.deepcopy(data)
    run = evaluator.evaluate if payload.mode == "eval" else evaluator.execute

    tracemalloc.start()
    try:
        with pytest.raises(ExpressionError) as info:
            run(source, data, element_id="hostile")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert type(info.value) is ExpressionError
    assert info.value.message.startswith("[hostile] ") and len(info.value.message) > len("[hostile] ") + 10
    assert data == before, "the task data changed"
    assert not canary.exists(), "the payload created a file"
    assert no_processes == []
    # Refused before the expensive part was built: nothing near the sizes the payloads ask for.
    assert peak < 16 * 2**20, f"refusing it allocated {peak:,} bytes"


@pytest.mark.parametrize("payload", PAYLOADS, ids=[f"{p.mode}-{p.what}" for p in PAYLOADS])
def test_static_check_refuses_exactly_the_static_payloads(payload, evaluator):
    source = payload.source.replace("CANARY", "/tmp/never")
    if payload.when == "static":
        with pytest.raises(ExpressionError):
            evaluator.check(source, mode=payload.mode, element_id="hostile")
    else:
        evaluator.check(source, mode=payload.mode, element_id="hostile")


def test_product_code_never_names_the_builtin_evaluators():
    for module in (expressions, expression_rules):
        text = Path(module.__file__).read_text(encoding="utf-8")
        assert not re.search(r"\b(eval|exec|getattr|setattr|__import__)\(", text), module.__name__
        assert not re.search(r"(?<![.\w])compile\(", text), module.__name__


# --- random text ---------------------------------------------------------------------------------
TOKENS = [
    "x", "s", "d", "lst", "amount", "day", "score", "income", "len", "sum", "decimal", "date", "max",
    "sorted", "now", "workdays_after", "(", ")", "[", "]", "{", "}", ",", ":", ".", "'", '"', "f'",
    "{x}", "{s!r:>5}", "+", "-", "*", "**", "/", "//", "%", "<<", ">>", "&", "|", "^", "~", "==",
    "<", ">=", " in ", " not ", " is ", " and ", " or ", " if ", " else ", "None", "True", "0", "1",
    "7", "10", "1e309", "0.1", "-1", "'a'", "'%s'", "get", "keys", "items", "split", "join",
    "replace", "quantize", "year", "__class__", "_x", "lambda", "for", "=", "+=", "\n", "    ",
    "del ", "pass", "if x:\n    ", "else:\n    ", "'0.01'", "\\", "#", ";", "@",
]
random_sources = st.one_of(
    st.text(max_size=80),
    st.lists(st.sampled_from(TOKENS), max_size=25).map("".join),
)


@pytest.mark.filterwarnings("ignore::SyntaxWarning")
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(source=random_sources)
def test_random_text_raises_only_expression_errors(source):
    evaluator = SafeEvaluator({"now": lambda: NOW, "workdays_after": workdays_after})
    for mode in ("eval", "exec"):
        data = hostile_data()
        try:
            evaluator.check(source, mode=mode)
        except ExpressionError as exc:
            assert exc.message
        try:
            if mode == "eval":
                evaluator.evaluate(source, data)
            else:
                evaluator.execute(source, data)
        except ExpressionError as exc:
            assert exc.message
            assert data == hostile_data(), "a failed evaluation changed the data"
