"""A fifth programme installed as its own package (examples/illness) is picked up through the
``jishijiu.plugins`` entry point — nothing in jishijiu names it.

Instead of pip-installing the example into the shared venv, the test writes what an installation
leaves behind — a ``jishijiu_illness-0.1.0.dist-info`` with ``entry_points.txt`` — into a temporary
directory and puts it, and the example's source, on ``sys.path``; ``importlib.metadata`` then finds
the entry point exactly as it would after ``pip install``.
"""

from __future__ import annotations

import sys
from datetime import date
from pathlib import Path

import pytest

from engine.casework.assessment import assess_all
from engine.plugins import installed_plugin_names, load_settings, make_plugin_manager, programmes

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "illness"


@pytest.fixture
def illness_installed(tmp_path, monkeypatch):
    dist_info = tmp_path / "jishijiu_illness-0.1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: jishijiu-illness\nVersion: 0.1.0\n", encoding="utf-8")
    (dist_info / "entry_points.txt").write_text(
        "[jishijiu.plugins]\nillness = jishijiu_illness\n", encoding="utf-8")
    monkeypatch.syspath_prepend(str(EXAMPLE))
    monkeypatch.syspath_prepend(str(tmp_path))
    yield
    for name in [n for n in sys.modules if n.split(".")[0] == "jishijiu_illness"]:
        del sys.modules[name]


def test_the_example_is_not_installed_in_the_project_venv():
    assert "illness" not in installed_plugin_names()


def test_make_plugin_manager_finds_the_illness_programme_by_its_entry_point(illness_installed):
    pm = make_plugin_manager()
    assert "illness" in programmes(pm)
    loaded = {pm.get_name(plugin): dist.project_name for plugin, dist in pm.list_plugin_distinfo()}
    assert loaded["illness"] == "jishijiu-illness"
    assert load_settings(pm)["illness.medical_share_of_income"] == "0.3"


def test_the_allowlist_can_leave_the_new_programme_out(illness_installed):
    assert "illness" not in programmes(make_plugin_manager(allowlist=["dibao", "tekun"]))


def _family(build, *, wages: str):
    return build.household([build.member(born="1980-01-01", income={"wages": wages}),
                            build.member(relation="spouse", sex="F", born="1982-01-01"),
                            build.member(relation="son", born="2010-01-01",
                                         critical_illness=True)],
                           expenses_12m={"medical": "24000"})


def test_one_application_now_covers_five_programmes(illness_installed, build, jining_2022):
    pm = make_plugin_manager()
    combined = assess_all(pm, household=_family(build, wages="6600"), standard=jining_2022,
                          as_of=date(2023, 4, 1), settings=load_settings(pm))
    assert set(combined.assessments) == {"dibao", "tekun", "linshi", "charity", "illness"}
    assert not combined.assessments["dibao"].eligible
    assert combined.assessments["dibao"].marginal is None
    assert combined.assessments["illness"].covered_members == (2,)
    assert "illness.medical_assistance" in {r.code for r in combined.referrals}


def test_a_marginal_family_is_not_recognised_again_as_illness_impoverished(illness_installed,
                                                                           build, jining_2022):
    pm = make_plugin_manager()
    combined = assess_all(pm, household=_family(build, wages="6000"), standard=jining_2022,
                          as_of=date(2023, 4, 1), settings=load_settings(pm))
    assert combined.assessments["dibao"].marginal == "expenditure"  # (6000 − 2000) ÷ 3 < 1400
    assert not combined.assessments["illness"].eligible
    assert ("illness", "marginal") in {(e.programme, e.because_of) for e in combined.exclusions}
