"""Engine-level service operations: what every process may call besides the programmes' own.

``case.decide``, ``payment.pay``, ``payment.schedule``, ``referral.create``, ``notify.send``,
``case.open_duplicate``, ``case.conflicts``, ``committee.members`` (``case.start`` lives in the
workflow engine itself).  Each runs inside the step's transaction and writes to the case's audit chain.
"""

from __future__ import annotations

from datetime import date
from typing import Any, Mapping

from sqlalchemy import select

from engine import accounts
from engine import plugins as plugin_loader
from engine.casework import documents, funds, payments, referrals
from engine.casework.benefits import entitlements
from engine.casework.types import Notification
from engine.clock import to_local
from engine.errors import NotFound, ValidationError
from engine.workflow import audit
from engine.workflow.models import ProcessInstance

DEFAULT_REFERRAL_DUE = "5WD"  # [A] DOMAIN §3.6: referral feedback due, configurable (REFERRAL_DUE)


def _chain(ctx) -> str:
    return audit.case_chain(ctx.instance.id)


def _require(params: Mapping[str, Any], *names: str) -> None:
    missing = {n: ["required"] for n in names if params.get(n) in (None, "")}
    if missing:
        raise ValidationError(f"missing parameter(s): {', '.join(missing)}", missing)


def register(services) -> None:
    engine = services.engine
    registry = services.services

    def monthly_programmes() -> tuple[str, ...]:
        """The programmes paid every month, as their plugins declare them (``benefit == "monthly"``)."""
        if services.pm is None:
            return entitlements.MONTHLY_PROGRAMMES
        return tuple(code for code, info in plugin_loader.programmes(services.pm).items()
                     if info.benefit == "monthly")

    def decide(params, data, ctx):
        _require(params, "programme", "decision")
        today = to_local(ctx.now).date()
        row = payments.record_decision(
            ctx.session, instance_id=ctx.instance.id, household_id=ctx.instance.household_id,
            programme=str(params["programme"]), decision=str(params["decision"]), at=ctx.now,
            actor=ctx.actor.username, decided_on=today, monthly_amount=params.get("monthly_amount"),
            one_off_amount=params.get("one_off_amount"), from_month=params.get("from_month"),
            reasons=params.get("reasons"), justification_code=params.get("justification_code"))
        audit.append(ctx.session, chain=_chain(ctx), actor=ctx.actor.username, action="decision.recorded",
                     object_type="decision", object_id=row.id, at=ctx.now,
                     after={"programme": row.programme, "decision": row.decision,
                            "monthly_amount": params.get("monthly_amount"), "from_month": row.from_month,
                            "justification_code": row.justification_code})
        # A confirmed decision is what pays: it creates or changes the household's entitlement.
        ent = entitlements.from_decision(ctx.session, row, region_code=ctx.instance.region_code,
                                         settings=services.settings or {}, actor=ctx.actor.username,
                                         at=ctx.now, data={**(data or {}), **dict(params)},
                                         monthly_programmes=monthly_programmes())
        # ... and the family gets it in writing: an approval notice, or a refusal with reasons
        notice = documents.issue_for_decision(ctx.session, row, at=ctx.now, actor=ctx.actor.username,
                                              names=documents.programme_names(services))
        out = {"decision_id": row.id, "from_month": row.from_month}
        if ent is not None:
            out["entitlement_id"] = ent.id
        if notice is not None:
            out["document_id"] = notice.id
        return out

    def pay(params, data, ctx):
        _require(params, "amount", "fund")
        key = f"case:{ctx.instance.id}:{getattr(ctx, 'element_id', None) or 'task'}"
        if params.get("key"):
            key += f":{params['key']}"
        fund = funds.resolve(ctx.session, str(params["fund"]), ctx.instance.region_code)
        payment, created = payments.pay(
            ctx.session, key=key, instance_id=ctx.instance.id, household_id=ctx.instance.household_id,
            fund=fund, amount=params["amount"], purpose=params.get("purpose"), programme=params.get("programme"),
            at=ctx.now, actor=ctx.actor.username)
        if created:
            audit.append(ctx.session, chain=_chain(ctx), actor=ctx.actor.username, action="payment.paid",
                         object_type="payment", object_id=payment.id, at=ctx.now,
                         after={"amount": f"{payment.amount:.2f}", "fund": fund.code, "idempotency_key": key,
                                "purpose": payment.purpose})
        return {"payment_id": payment.id, "idempotency_key": key, "amount": f"{payment.amount:.2f}",
                "fund": fund.code, "paid_at": payment.paid_at.isoformat() if payment.paid_at else None}

    def schedule(params, data, ctx):
        _require(params, "programme", "monthly_amount", "from_month")
        key = f"case:{ctx.instance.id}:{params['programme']}:{params['from_month']}"
        payment, created = payments.schedule(
            ctx.session, key=key, instance_id=ctx.instance.id, household_id=ctx.instance.household_id,
            programme=str(params["programme"]), amount=params["monthly_amount"], month=str(params["from_month"]),
            at=ctx.now, actor=ctx.actor.username)
        if created:
            audit.append(ctx.session, chain=_chain(ctx), actor=ctx.actor.username, action="payment.scheduled",
                         object_type="payment", object_id=payment.id, at=ctx.now,
                         after={"amount": f"{payment.amount:.2f}", "month": payment.month,
                                "programme": payment.programme})
        return {"payment_id": payment.id, "month": payment.month}

    def referral(params, data, ctx):
        _require(params, "target")
        spec = str(params.get("due") or services.config.get("REFERRAL_DUE", DEFAULT_REFERRAL_DUE))
        due_at = engine.parse_due(spec, ctx.now, ctx.instance.region_code)
        row = referrals.create_referral(
            ctx.session, instance_id=ctx.instance.id, household_id=ctx.instance.household_id,
            region_code=ctx.instance.region_code, target=str(params["target"]),
            reason=str(params.get("reason") or ""), due_at=due_at, at=ctx.now, actor=ctx.actor.username)
        audit.append(ctx.session, chain=_chain(ctx), actor=ctx.actor.username, action="referral.created",
                     object_type="referral", object_id=row.id, at=ctx.now,
                     after={"target": row.target, "reason": row.reason, "due_at": due_at.isoformat()})
        try:
            engine.newest(ctx.session, "referral")
        except NotFound:
            return {"referral_id": row.id, "due_at": due_at.isoformat(), "case_id": None}
        if ctx.instance.process_key == "referral":
            row.case_id = ctx.instance.id  # the referral process made its own slip: it tracks it
        else:
            child = engine.start_child(ctx, "referral", {
                "referral_id": row.id, "target": row.target, "reason": row.reason, "due": spec,
                "due_at": due_at.isoformat()})
            row.case_id = child.id
        return {"referral_id": row.id, "due_at": due_at.isoformat(), "case_id": row.case_id}

    def notify(params, data, ctx):
        from engine import plugins as plugin_loader

        kind = str(params.get("kind") or "policy_notice")
        programmes = list(params.get("programmes") or [])
        text = str(params.get("text") or "")
        note = Notification(kind=kind, channel=str(params.get("channel") or "inbox"),
                            recipient=f"household:{ctx.instance.household_id}", subject=kind,
                            body=text, case_id=ctx.instance.id, data={"programmes": programmes})
        deliveries = plugin_loader.notify(services.pm, note, services.settings) if services.pm else []
        record = referrals.NotificationRecord(
            instance_id=ctx.instance.id, household_id=ctx.instance.household_id, kind=kind,
            programmes=programmes, text=text,
            deliveries=[{"channel": d.channel, "plugin": d.plugin, "status": d.status} for d in deliveries],
            created_at=ctx.now)
        ctx.session.add(record)
        ctx.session.flush()
        audit.append(ctx.session, chain=_chain(ctx), actor=ctx.actor.username, action="notification.sent",
                     object_type="notification", object_id=record.id, at=ctx.now,
                     after={"kind": kind, "programmes": programmes, "deliveries": len(deliveries)})
        return {"notification_ids": [record.id], "deliveries": len(deliveries)}

    def open_duplicate(params, data, ctx):
        process = str(params.get("process") or ctx.instance.process_key)
        if ctx.instance.household_id is None:
            return {"duplicate": False, "case_id": None}
        other = ctx.session.execute(select(ProcessInstance.id).where(
            ProcessInstance.household_id == ctx.instance.household_id, ProcessInstance.process_key == process,
            ProcessInstance.status == "active", ProcessInstance.id != ctx.instance.id)
            .order_by(ProcessInstance.id).limit(1)).scalar()
        return {"duplicate": other is not None, "case_id": other}

    def conflicts(params, data, ctx):
        users = referrals.relatives_of(ctx.session, ctx.instance.household_id)
        return {"has_conflict": bool(users), "users": users}

    def committee(params, data, ctx):
        region = str(params.get("region") or ctx.instance.region_code[:6])
        rows = ctx.session.execute(select(accounts.UserAccount).where(
            accounts.UserAccount.role == "committee", accounts.UserAccount.active.is_(True))
            .order_by(accounts.UserAccount.username)).scalars()
        members = {u.username: {"username": u.username, "name": u.display_name or u.username} for u in rows
                   if region.startswith(u.region) or u.region.startswith(region)}
        excluded = set(referrals.relatives_of(ctx.session, ctx.instance.household_id))
        return {"members": {k: v for k, v in members.items() if k not in excluded}}

    for name, func in (("case.decide", decide), ("payment.pay", pay), ("payment.schedule", schedule),
                       ("referral.create", referral), ("notify.send", notify),
                       ("case.open_duplicate", open_duplicate), ("case.conflicts", conflicts),
                       ("committee.members", committee)):
        registry.register(name, func)
    engine.hooks.excluded_users = lambda session, instance: referrals.relatives_of(session, instance.household_id)

    def record_slip_feedback(ctx, workflow) -> None:
        """A referral case that ends with an outcome records it on its slip (件件有反馈)."""
        if ctx.instance.process_key != "referral" or ctx.instance.status != "completed":
            return
        from engine.workflow.spiff import runtime

        data = runtime.final_data(workflow)
        referral_id, outcome = data.get("referral_id"), data.get("outcome")
        if not referral_id or outcome not in referrals.OUTCOMES:
            return
        row = ctx.session.get(referrals.Referral, int(referral_id))
        if row is None or row.status != "open":
            return
        referrals.give_feedback(ctx.session, row, outcome=outcome, at=ctx.now, actor=ctx.actor.username,
                                feedback=str(data.get("feedback") or "").strip() or "（无文字反馈）")
        audit.append(ctx.session, chain=_chain(ctx), actor=ctx.actor.username, action="referral.answered",
                     object_type="referral", object_id=row.id, at=ctx.now,
                     after={"outcome": outcome, "feedback": row.feedback})

    engine.hooks.after_step.append(record_slip_feedback)


def today(services) -> date:
    return to_local(services.clock.now()).date()
