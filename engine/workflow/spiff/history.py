"""Keep SpiffWorkflow's task tree to what the running case still needs.

SpiffWorkflow keeps every task it ever ran: a loop adds its tasks under the last ones, round after
round, so the tree of a long case grows without end and gets deeper with every round.  Three things
follow, all measured (``bench/state_size.py``): each step costs more than the one before (SpiffWorkflow
walks the whole tree several times per step), the saved state grows with the history, and past 1,000
levels SpiffWorkflow 3.2 stops seeing tasks at all (``TaskIterator(max_depth=1000)``, also inside
``Workflow.is_completed``): a case looping 250 times through four elements was reported *completed*
while its next task was ready.

The history belongs in the audit trail (every completion, decision, timer and cancellation is an
event there), not in the live tree.  After each step :func:`prune` drops the finished tasks that no
running task depends on and keeps:

- the root (SpiffWorkflow's entry point into the tree) and the last completed task (its data is
  what the case shows, ``runtime.final_data``);
- every unfinished task (ready, waiting, started, in error, or predicted) and every task whose
  subprocess is still running;
- the parent of each of those, which holds the data a predicted task will inherit when it becomes
  ready, and which a parallel or inclusive join reads (``task.parent.state``/``task_spec``);
- every branch point: a finished task with unfinished work under two or more of its children
  (an open parallel split), so joins still see which branches are descendants of which.

A finished task between two kept tasks is cut out and its only kept descendant hangs from the nearest
kept ancestor (being a descendant of a kept task stays true, which is what the joins ask); a finished
branch with nothing unfinished under it is dropped whole, with any subprocess it ran.  Data is not
lost: every task holds its own copy, and the serializer writes a reparented task's data against its
new parent.  Finished (sub)workflows are left alone: they run no more steps.
"""

from __future__ import annotations

from SpiffWorkflow.util.task import TaskState

_DONE = TaskState.COMPLETED | TaskState.CANCELLED


def prune(workflow) -> int:
    """Drop the finished tasks no unfinished task depends on, in the workflow and its running
    subprocesses; the number of tasks removed."""
    removed = _prune_one(workflow, workflow)
    for sub in list(workflow.subprocesses.values()):
        if workflow.subprocesses.get(sub.parent_task_id) is sub:  # not deleted by an outer prune
            removed += _prune_one(sub, workflow)
    return removed


def _running_subprocess(task, top) -> bool:
    sub = top.subprocesses.get(task.id)
    return sub is not None and any(not t.state & _DONE for t in sub.tasks.values())


def _prune_one(wf, top) -> int:
    tasks = wf.tasks
    root = wf.task_tree
    live = [t for t in tasks.values() if not t.state & _DONE or _running_subprocess(t, top)]
    if not live or root is None:
        return 0
    # the last completed task stays too: its data is what the case shows (runtime.final_data)
    last = [wf.last_task] if wf.last_task is not None and wf.last_task.id in tasks else []
    needed: set = set()
    for task in live + last:
        node = task
        while node is not None and node.id not in needed:
            needed.add(node.id)
            node = node.parent
    keep = {root.id, *(task.id for task in last)}
    for task in live:
        keep.add(task.id)
        if task._parent is not None:
            keep.add(task._parent)
    for tid in needed:
        if sum(1 for child in tasks[tid]._children if child in needed) >= 2:
            keep.add(tid)
    if len(keep) == len(tasks):
        return 0

    # New shape: each kept task under its nearest kept ancestor, siblings in their old order.
    children: dict = {tid: [] for tid in keep}
    stack = [(root, None)]
    while stack:
        node, anchor = stack.pop()
        if node.id in keep:
            if anchor is not None:
                children[anchor].append(node.id)
            anchor = node.id
        elif node.id not in needed:
            continue  # a finished branch with nothing unfinished under it: dropped whole
        for child in reversed(node.children):
            stack.append((child, anchor))

    gone = [tid for tid in tasks if tid not in keep]
    for tid in gone:
        if tid in top.subprocesses:
            top.delete_subprocess(tasks[tid])
    for tid in gone:
        tasks.pop(tid)
        top.event_manager.tasks.pop(tid, None)
    for tid, kids in children.items():
        task = tasks[tid]
        task._children = kids
        for kid in kids:
            tasks[kid]._parent = tid
    return len(gone)
