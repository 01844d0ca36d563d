"""Moving running cases to another version of their process (a mixin of WorkflowEngine)."""

from __future__ import annotations

import logging
from typing import Iterable

from engine.actors import Actor
from engine.errors import NotAllowed
from engine.workflow import audit
from engine.workflow.spiff import runtime
from engine.workflow.views import _NoChange

log = logging.getLogger("jishijiu.engine")


class MigrationOperations:
    # --- migration of running cases to another version -----------------------------------------
    def migrate(self, instance_ids: Iterable[int], *, to_version: int, actor: Actor,
                dry_run: bool = True) -> list[dict]:
        """Preview (``dry_run``) or move running cases to another version of their process.

        Each case moves in its own transaction.  A case that waits at an element the new version
        does not have is never moved (its preview says why).  Waiting branches restart on the new
        version, so their timers start again — the preview says that too.
        """
        if actor.role not in ("designer", "admin"):
            raise NotAllowed("only a designer or an admin may migrate running cases")
        results = []
        for instance_id in instance_ids:
            with self.db.read() as session:
                row = self._visible_instance(session, instance_id, actor)
                info = self.definitions.get_info(session, row.definition_id)
                target = self.definitions.by_version(session, info.key, to_version)
            preview = {"case_id": instance_id, "process": info.key, "from_version": info.version,
                       "to_version": target.version, "migrated": False}
            if row.status != "active":
                results.append({**preview, "ok": False, "blocking": [f"the case is {row.status}"]})
                continue
            holder: dict = {}

            def action(ctx, parsed, workflow, target=target, holder=holder):
                new = self.definitions.parsed(ctx.session, target.id)
                diff, diffs = runtime.diff_for_migration(workflow, new, self.serializer.registry)
                holder["diff"] = diff
                if dry_run or not diff.ok or target.id == ctx.instance.definition_id:
                    raise _NoChange()
                ctx.instance.definition_id = target.id
                audit.append(ctx.session, chain=audit.case_chain(ctx.instance.id), actor=ctx.actor.username,
                             action="instance.migrated", object_type="instance", object_id=ctx.instance.id,
                             at=ctx.now, before={"version": info.version},
                             after={"version": target.version, "restarted": diff.current})
                self._step(ctx, new, workflow, lambda: runtime.apply_migration(workflow, new, diffs))

            try:
                self._operate(instance_id, actor, action, holder, operation="migrate")
                migrated = True
            except _NoChange:
                migrated = False
            diff = holder.get("diff")
            results.append({**preview, "migrated": migrated, "ok": diff.ok if diff else False,
                            "current": diff.current if diff else [], "removed": diff.removed if diff else [],
                            "changed": diff.changed if diff else [], "added": diff.added if diff else [],
                            "blocking": diff.blocking if diff else [],
                            "restarts": diff.current if diff else []})
        return results
