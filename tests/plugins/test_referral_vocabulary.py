"""The plugins, the processes and the funds name referral departments with one vocabulary
(``engine.casework.types.REFERRAL_DEPARTMENTS``): a slip a plugin suggests must be a slip the
``referral`` process and the pages know."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from engine.casework.funds import FUND_KINDS
from engine.casework.types import REFERRAL_DEPARTMENTS

ROOT = Path(__file__).resolve().parents[2]
RULES = sorted((ROOT / "plugins").glob("*/rules.py"))
PROCESSES = sorted((ROOT / "processes").glob("*.bpmn"))


def _plugin_departments(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ReferralTarget":
            for kw in node.keywords:
                if kw.arg == "department":
                    assert isinstance(kw.value, ast.Constant), f"{path}: department must be a literal code"
                    found.append(kw.value.value)
    return found


@pytest.mark.parametrize("rules", RULES, ids=lambda p: p.parent.name)
def test_every_department_a_plugin_suggests_is_in_the_vocabulary(rules):
    departments = _plugin_departments(rules)
    assert all(d in REFERRAL_DEPARTMENTS for d in departments), departments


def test_the_builtin_plugins_suggest_referrals_at_all():
    assert sum(len(_plugin_departments(p)) for p in RULES) >= 6


@pytest.mark.parametrize("bpmn", PROCESSES, ids=lambda p: p.stem)
def test_every_target_a_process_writes_is_in_the_vocabulary(bpmn):
    targets = re.findall(r'"target": "(\w+)"', bpmn.read_text(encoding="utf-8"))
    assert all(t in REFERRAL_DEPARTMENTS for t in targets), targets


def test_charity_funds_are_named_like_the_charity_departments():
    assert {k for k in FUND_KINDS if k.startswith("charity_")} <= set(REFERRAL_DEPARTMENTS)
