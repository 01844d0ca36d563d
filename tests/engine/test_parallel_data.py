"""What parallel branches found reaches the join: each branch contributes its own changes, and a
branch's unchanged copy of a value known before the split never overwrites another branch's finding
(``engine.workflow.spiff.joins``)."""

from __future__ import annotations

from engine.workflow.spiff.joins import apply_changes
from tests.engine.conftest import CASEWORKER, VILLAGE, deploy


def decide_data(engine, order: list[tuple[str, dict]], seed: dict) -> dict:
    view = engine.start("parallel", actor=CASEWORKER, region_code=VILLAGE, data=seed)
    for bpmn_id, form in order:
        [task] = [t for t in view.open_tasks if t.bpmn_id == bpmn_id]
        view = engine.complete(task.id, CASEWORKER, form)
    [decide] = view.open_tasks
    assert decide.bpmn_id == "decide"
    return engine.task_data(decide.id, CASEWORKER)


def test_a_finding_of_the_branch_that_finished_first_survives_the_join(engine):
    deploy(engine, "parallel.bpmn")
    seed = {"income": "申报 800", "housing": "申报 自有", "members": 3}
    data = decide_data(engine, [("check_income", {"income": "核实 1200"}),
                                ("check_housing", {"housing": "核实 租住"})], seed)
    assert data["income"] == "核实 1200"       # SpiffWorkflow alone kept "申报 800" (housing's stale copy)
    assert data["housing"] == "核实 租住" and data["members"] == 3


def test_either_order_gives_the_same_data(engine):
    deploy(engine, "parallel.bpmn")
    seed = {"income": "申报", "housing": "申报", "notes": {"income": "", "housing": ""}}
    income = ("check_income", {"income": "核实", "notes": {"income": "工资流水", "housing": ""}})
    housing = ("check_housing", {"housing": "核实", "notes": {"income": "", "housing": "租赁合同"}})
    first = decide_data(engine, [income, housing], seed)
    second = decide_data(engine, [housing, income], seed)
    for data in (first, second):
        assert data["income"] == data["housing"] == "核实"
        assert data["notes"] == {"income": "工资流水", "housing": "租赁合同"}   # nested keys merge one by one
    assert {k: v for k, v in first.items() if k != "case_id"} == {k: v for k, v in second.items() if k != "case_id"}


def test_when_both_branches_change_a_value_the_later_one_wins(engine):
    deploy(engine, "parallel.bpmn")
    data = decide_data(engine, [("check_housing", {"remark": "住房组意见"}),
                                ("check_income", {"remark": "收入组意见"})], {"remark": ""})
    assert data["remark"] == "收入组意见"


def test_apply_changes_adds_changes_and_deletes_what_the_branch_deleted():
    base = {"a": 1, "b": 2, "gone": 0, "nested": {"x": 1, "y": 1}}
    target = {"a": 10, "b": 2, "gone": 0, "nested": {"x": 5, "y": 1}, "other": "kept"}
    branch = {"a": 1, "b": 3, "new": [1], "nested": {"x": 1, "y": 7}}
    apply_changes(base, target, branch)
    assert target == {"a": 10, "b": 3, "new": [1], "nested": {"x": 5, "y": 7}, "other": "kept"}
