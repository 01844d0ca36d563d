"""Joining parallel branches: each branch contributes what it changed, not its stale copies.

SpiffWorkflow 3.2 merges the branches at a parallel or inclusive join by laying each branch's whole
data over the others, the branch that arrives last on top.  A branch carries a copy of everything
that was known at the split, so the last branch's *unchanged* copy of a value overwrites what an
earlier branch found: an investigation corrects ``income`` while the information check (arriving
second) still holds the declared figure, and the declared figure goes on to the assessment.  The
second round of a loop always has such stale copies (``tests/engine/test_parallel_data.py``).

Here the join starts from the data at the split and applies each branch's own changes — new and
changed keys, deleted keys — in the order the branches arrived (nested dicts key by key).  Where two
branches changed the same value, the later one wins, as before.
"""

from __future__ import annotations

from copy import deepcopy

from SpiffWorkflow.bpmn.specs.defaults import InclusiveGateway, ParallelGateway
from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.util.task import TaskState

_MISSING = object()


def apply_changes(base: dict, target: dict, branch: dict) -> None:
    """Apply what ``branch`` changed relative to ``base`` onto ``target`` (in place)."""
    for key, value in branch.items():
        before = base.get(key, _MISSING)
        if before is not _MISSING and before == value:
            continue
        current = target.get(key, _MISSING)
        if isinstance(value, dict) and isinstance(before, dict) and isinstance(current, dict):
            apply_changes(before, current, value)
        else:
            target[key] = deepcopy(value)
    for key in base:
        if key not in branch:
            target.pop(key, None)


def _ancestors(task) -> list:
    chain = []
    while task is not None:
        chain.append(task)
        task = task.parent
    return chain


def _split_of(tasks: list):
    """The nearest task all the given tasks descend from (the split, once the tree is pruned)."""
    common = None
    for task in tasks:
        chain = _ancestors(task.parent)
        if common is None:
            common = chain
        else:
            ids = {t.id for t in chain}
            common = [t for t in common if t.id in ids]
    return common[0] if common else None


def merge_branches(spec, my_task) -> None:
    """The data of a join task that fires: the split's data plus every arrived branch's changes."""
    arrived = sorted((t for t in my_task.workflow.tasks.values()
                      if t.task_spec == spec and t is not my_task and t.has_state(TaskState.FINISHED_MASK)
                      and not my_task.is_descendant_of(t)), key=lambda t: t.last_state_change)
    split = _split_of(arrived + [my_task]) if arrived else None
    if split is None:  # nothing else arrived (a split, or an inclusive join on one path)
        my_task._inherit_data()
        return
    merged = deepcopy(split.data)
    for task in arrived + [my_task]:
        apply_changes(split.data, merged, task.parent.data)
    for task in arrived:
        if task.has_state(TaskState.COMPLETED):  # as SpiffWorkflow does (a reset inside a branch)
            task._drop_children(force=True)
    my_task.data = merged


class BranchChangesParallelGateway(ParallelGateway):
    def _run_hook(self, my_task):
        merge_branches(self, my_task)
        return True


class BranchChangesInclusiveGateway(InclusiveGateway):
    def _run_hook(self, my_task):
        # SpiffWorkflow's InclusiveGateway._run_hook with the join part replaced
        merge_branches(self, my_task)
        matches, defaults = self._get_matching_outputs(my_task)
        if len(matches + defaults) == 0:
            raise WorkflowTaskException("No conditions satisfied on gateway", task=my_task)
        my_task._sync_children(matches or defaults, TaskState.FUTURE)
        for child in my_task.children:
            child.task_spec._predict(child, mask=TaskState.FUTURE | TaskState.PREDICTED_MASK)
        return True
