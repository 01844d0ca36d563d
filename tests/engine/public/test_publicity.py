"""The publicity board (码上公示): masked entries under publicity, the results list after
confirmation, and an objection from the public taking the objection path."""

from __future__ import annotations

from datetime import timedelta

import pytest

from engine.casework.public import publicity
from engine.errors import NotFound, ValidationError
from tests.processes.conftest import (
    LIGE_VILLAGE, YUTAI_VILLAGE, approver, assistant, caseworker, create_household, han_jin, start, tick,
)

NAMES = {"dibao": "最低生活保障", "tekun": "特困人员救助供养"}


def under_publicity(world):
    household_id = create_household(world, han_jin())
    case = start(world, "application", household_id, YUTAI_VILLAGE)
    case.complete("accept", caseworker(YUTAI_VILLAGE), {"accepted": True})
    case.complete("info_check", approver(YUTAI_VILLAGE), {"checked": True})
    case.complete("investigate", caseworker(YUTAI_VILLAGE), {"investigators": ["张三", "李四"], "findings": "属实"})
    case.complete("opinion", caseworker(YUTAI_VILLAGE), {"opinion": "拟同意"})
    return case


def test_names_keep_only_the_family_name():
    assert [publicity.mask_name(n) for n in ("韩进", "欧阳娜娜", "", "李")] == ["韩*", "欧***", "*", "李*"]


def test_the_board_lists_the_family_masked_with_size_programme_amount_and_deadline(world):
    case = under_publicity(world)
    [entry] = publicity.board(world.db, world.engine, YUTAI_VILLAGE, programmes=NAMES)
    assert (entry.name, entry.size, entry.programme, entry.amount) == ("韩*", 4, "最低生活保障", "2800.00")
    assert entry.task_id == case.task("publicity").id and entry.objection_until == case.task("publicity").due_at
    assert publicity.board(world.db, world.engine, LIGE_VILLAGE, programmes=NAMES) == []


def test_after_confirmation_the_result_is_published(world, clock):
    case = under_publicity(world)
    clock.advance(timedelta(days=7, seconds=1))
    tick(world)
    case.complete("confirm", approver(YUTAI_VILLAGE), {"confirmed": True})
    assert publicity.board(world.db, world.engine, YUTAI_VILLAGE, programmes=NAMES) == []
    with world.db.read() as s:
        [result] = publicity.results(s, YUTAI_VILLAGE, programmes=NAMES)
    assert (result.name, result.size, result.programme, result.amount) == ("韩*", 4, "最低生活保障", "2800.00")


def test_a_public_objection_opens_the_objection_path_even_when_the_assistant_claimed_the_task(world):
    case = under_publicity(world)
    task_id = case.task("publicity").id
    world.engine.claim(task_id, assistant(YUTAI_VILLAGE))
    with pytest.raises(ValidationError):
        publicity.object_to(world.db, world.engine, village=YUTAI_VILLAGE, task_id=task_id, text="x",
                            ip="i", now=world.clock.now())
    with pytest.raises(NotFound):  # not an entry of that village
        publicity.object_to(world.db, world.engine, village=LIGE_VILLAGE, task_id=task_id,
                            text="有经营收入未申报", ip="i", now=world.clock.now())
    publicity.object_to(world.db, world.engine, village=YUTAI_VILLAGE, task_id=task_id,
                        text="有经营收入未申报", ip="i", now=world.clock.now())
    assert case.open_ids() == ["objection_review"]
    actions = [(a, d.get("assignee") if a == "task.unclaimed" else None) for a, d in case.audit()[-3:]]
    assert ("task.unclaimed", None) in actions
    with pytest.raises(NotFound):  # no longer under publicity
        publicity.object_to(world.db, world.engine, village=YUTAI_VILLAGE, task_id=task_id,
                            text="再次提出异议", ip="i", now=world.clock.now())
