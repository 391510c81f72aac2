"""Payment plans: a debtor proposes or a specialist sets one up; instalments are paid by
link; a missed instalment breaks the plan and hands the account back to its cadence."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from pynamodb.exceptions import PutError

from chalicelib.kernel.clock import iso
from chalicelib.payments import plan_rules as plan_domain
from chalicelib.kernel.money import format_money
from chalicelib.kernel.errors import Conflict, FieldProblem, NotFound, ValidationFailed
from chalicelib.kernel import events
from chalicelib.store import accounts, timeline
from chalicelib.store.keys import debtor_key, new_id, split_debtor_key
from chalicelib.store.models import ClientModel, DebtorModel
from chalicelib.payments.models import PLAN_CHECK_SHARD, PlanModel

LIVE = ("pending_approval", "active")


def rules_for(client: ClientModel) -> plan_domain.PlanRules:
    raw = dict((client.settings or {}).get("plan_rules") or {})
    if "allowed_intervals" in raw:
        raw["allowed_intervals"] = frozenset(raw["allowed_intervals"])
    try:
        return plan_domain.PlanRules(**raw)
    except (TypeError, plan_domain.PlanError):
        return plan_domain.PlanRules()


def schedule_of(plan: PlanModel) -> list[plan_domain.Instalment]:
    return [plan_domain.Instalment(int(i["number"]), date.fromisoformat(i["due_date"]),
                                   int(i["amount_minor"])) for i in plan.schedule]


def render(plan: PlanModel) -> dict:
    paid = plan_domain.paid_by_instalment(schedule_of(plan), int(plan.paid_minor))
    return {"id": plan.plan_id, "status": plan.status, "currency": plan.currency,
            "total_minor": int(plan.total_minor), "paid_minor": int(plan.paid_minor),
            "interval": plan.interval, "source": plan.source,
            "instalments": [{**i, "paid_minor": paid[int(i["number"])]} for i in plan.schedule],
            "broken_instalment": plan.broken_instalment, "created_at": plan.created_at}


def next_instalment(plan: PlanModel) -> tuple[int, int] | None:
    """(number, amount still owed) of the first instalment not fully paid."""
    sched = schedule_of(plan)
    paid = plan_domain.paid_by_instalment(sched, int(plan.paid_minor))
    for item in sched:
        if paid[item.number] < item.amount_minor:
            return item.number, item.amount_minor - paid[item.number]
    return None


def _set_check(plan: PlanModel) -> None:
    """Index the live plan by the day its next instalment would be missed."""
    nxt = next_instalment(plan)
    if plan.status != "active" or nxt is None:
        plan.check_shard = plan.check_sort = None
        return
    due = schedule_of(plan)[nxt[0] - 1].due_date + timedelta(days=int(plan.grace_days or 0))
    plan.check_shard = PLAN_CHECK_SHARD
    plan.check_sort = f"{due.isoformat()}#{plan.debtor_key}#{plan.plan_id}"


def live_plan(agency_id: str, client_id: str, debtor_id: str) -> PlanModel | None:
    for plan in PlanModel.query(debtor_key(agency_id, client_id, debtor_id), consistent_read=True):
        if plan.status in LIVE:
            return plan
    return None


def _save_debtor(debtor: DebtorModel, now: datetime, change) -> None:
    accounts.save_account(debtor, now, change)


def create_plan(agency_id: str, client: ClientModel, debtor: DebtorModel, *, instalments: int,
                first_due: date, interval: str, source: str, actor: str, now: datetime,
                total_minor: int | None = None, invoice_ids: list[str] | None = None) -> dict:
    """A plan over what the account owes now (or `total_minor`). A debtor's proposal is
    checked against the client's rules and auto-approved under the client's threshold."""
    client_id = client.client_id
    if live_plan(agency_id, client_id, debtor.debtor_id) is not None:
        raise Conflict("this account already has a payment plan")
    rules = rules_for(client)
    total = int(debtor.balance_minor) if total_minor is None else total_minor
    currency = debtor.currency or client.currency
    if source == "debtor":
        problems = plan_domain.validate_proposal(rules, total, currency, instalments, first_due,
                                                 interval, now.date())
        if problems:
            raise ValidationFailed("; ".join(f"{p.field}: {p.reason}" for p in problems),
                                   [FieldProblem(p.field, p.reason) for p in problems])
    try:
        sched = plan_domain.propose_schedule(total, currency, instalments, first_due, interval)
    except plan_domain.PlanError as exc:
        raise ValidationFailed.one(exc.field, exc.reason) from None
    pending = source == "debtor" and plan_domain.needs_approval(rules, total)
    plan = PlanModel(debtor_key(agency_id, client_id, debtor.debtor_id), new_id("pl"),
                     status="pending_approval" if pending else "active", currency=currency,
                     total_minor=total, interval=interval, source=source, actor=actor,
                     schedule=[{"number": i.number, "due_date": i.due_date.isoformat(),
                                "amount_minor": i.amount_minor} for i in sched],
                     invoice_ids=invoice_ids or [], created_at=iso(now), updated_at=iso(now))
    _set_check(plan)
    plan.save(condition=PlanModel.plan_id.does_not_exist())
    if not pending:
        _save_debtor(debtor, now, lambda d: setattr(d, "stopped_reason", "plan"))
    state = "awaiting approval" if pending else "active"
    timeline.record(agency_id, client_id, debtor.debtor_id, "plan_created",
                    f"Payment plan {state}: {len(sched)} {interval} instalments of "
                    f"{format_money(sched[0].amount_minor, currency)} from {first_due}",
                    actor=actor, data={"plan_id": plan.plan_id}, at=now)
    return render(plan)


def approve_plan(agency_id: str, client_id: str, debtor: DebtorModel, plan_id: str, *,
                 actor: str, now: datetime) -> dict:
    plan = _get(agency_id, client_id, debtor.debtor_id, plan_id)
    if plan.status != "pending_approval":
        raise Conflict(f"plan is {plan.status}")
    plan.status, plan.updated_at = "active", iso(now)
    _set_check(plan)
    plan.save()
    _save_debtor(debtor, now, lambda d: setattr(d, "stopped_reason", "plan"))
    timeline.record(agency_id, client_id, debtor.debtor_id, "plan_approved",
                    "Payment plan approved", actor=actor, data={"plan_id": plan_id}, at=now)
    return render(plan)


def decline_plan(agency_id: str, client_id: str, debtor: DebtorModel, plan_id: str, *,
                 actor: str, now: datetime) -> dict:
    """A plan the debtor proposed is not accepted: chasing goes on as before (a pending plan
    never paused it) and the debtor may propose another."""
    plan = _get(agency_id, client_id, debtor.debtor_id, plan_id)
    if plan.status != "pending_approval":
        raise Conflict(f"plan is {plan.status}")
    plan.status, plan.updated_at = "declined", iso(now)
    _set_check(plan)
    plan.save()
    timeline.record(agency_id, client_id, debtor.debtor_id, "plan_declined",
                    "Payment plan declined", actor=actor, data={"plan_id": plan_id}, at=now)
    return render(plan)


def _get(agency_id: str, client_id: str, debtor_id: str, plan_id: str) -> PlanModel:
    try:
        return PlanModel.get(debtor_key(agency_id, client_id, debtor_id), plan_id,
                             consistent_read=True)
    except PlanModel.DoesNotExist:
        raise NotFound("plan") from None


def list_plans(agency_id: str, client_id: str, debtor_id: str) -> list[dict]:
    return [render(p) for p in PlanModel.query(debtor_key(agency_id, client_id, debtor_id))]


def after_payment(dkey: str, plan_id: str, amount: int, now: datetime) -> PlanModel | None:
    """The plan as it will be once this payment lands (saved in the payment's transaction)."""
    try:
        plan = PlanModel.get(dkey, plan_id, consistent_read=True)
    except PlanModel.DoesNotExist:
        return None
    result = plan_domain.apply_to_plan(schedule_of(plan), int(plan.paid_minor), amount)
    plan.paid_minor = int(plan.paid_minor) + amount
    if result.completed and plan.status == "active":
        plan.status = "completed"
    plan.updated_at = iso(now)
    _set_check(plan)
    return plan


def after_commit(agency_id: str, client_id: str, debtor_id: str, plan: PlanModel,
                 now: datetime) -> None:
    if plan.status == "completed":
        timeline.record(agency_id, client_id, debtor_id, "plan_completed",
                        "Payment plan completed", actor="system",
                        data={"plan_id": plan.plan_id}, at=now,
                        entry_id=f"{iso(now)}#plan-done-{plan.plan_id}")


def check_plans(now: datetime) -> list[str]:
    """Break every active plan whose next instalment is past due (plus grace): the cadence
    resumes and a specialist gets a call task. Returns the broken plan ids."""
    today = now.date()
    broken = []
    due = PlanModel.plan_check.query(PLAN_CHECK_SHARD,
                                     PlanModel.check_sort < f"{today.isoformat()}#")
    for key in due:
        plan = PlanModel.get(key.debtor_key, key.plan_id, consistent_read=True)
        if plan.status != "active":
            continue
        paid = plan_domain.paid_by_instalment(schedule_of(plan), int(plan.paid_minor))
        status, number = plan_domain.plan_status(schedule_of(plan), paid, today,
                                                 int(plan.grace_days or 0))
        if status != "broken":
            continue
        plan.status, plan.broken_instalment, plan.updated_at = "broken", number, iso(now)
        _set_check(plan)
        try:
            plan.save()
        except PutError:
            continue  # changed meanwhile (a payment landed): the next run looks again
        agency_id, client_id, debtor_id = split_debtor_key(plan.debtor_key)
        try:
            debtor = DebtorModel.get(f"{agency_id}#{client_id}", debtor_id, consistent_read=True)
            _save_debtor(debtor, now, lambda d: setattr(d, "stopped_reason", None))
        except DebtorModel.DoesNotExist:
            pass
        timeline.record(agency_id, client_id, debtor_id, "plan_broken",
                        f"Payment plan broken: instalment {number} was not paid",
                        actor="system", data={"plan_id": plan.plan_id}, at=now,
                        entry_id=f"{iso(now)}#plan-broken-{plan.plan_id}")
        events.publish("call_task_needed", agency_id=agency_id, client_id=client_id,
                       debtor_id=debtor_id, reason="plan_broken", due_at=iso(now), at=iso(now),
                       details={"plan_id": plan.plan_id, "instalment": number})
        broken.append(plan.plan_id)
    return broken


def set_grace(agency_id: str, client_id: str, debtor_id: str, plan_id: str,
              grace_days: int) -> dict:
    plan = _get(agency_id, client_id, debtor_id, plan_id)
    plan.grace_days = grace_days
    _set_check(plan)
    plan.save()
    return render(plan)
