"""Manual sends: a specialist sends a reminder or a statement now, from the debtor view or
the API, after seeing it rendered.

One use case for both entry points (`workbench/pages.py`, `dunning/routes.py`). The send
goes through the dispatcher's own path (`dispatch.send_touch`: claim, deliver, record,
apply), with a touch built here instead of by the cadence:
- opt-outs and suppression come from `routing` (a refused channel is named with why);
- the debtor's contact window (`contact_window`, the client's policy) is kept; a business
  debtor may be written to outside it only when the client's settings allow it
  (`settings["manual_send_window_override"] is True`) and the request asks for it, and the
  timeline says so; a consumer never;
- the claim key comes from the request's idempotency key (else from the message and the
  day), so a double click or a retried request sends once;
- what the cadence has due today (the planner's decision) is marked sent by the manual
  touch (its `covers`), so the sweep does not send that step again.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import date, datetime

from chalicelib.book.debtors import load_debtor
from chalicelib.dunning import contact_window as cw
from chalicelib.dunning import dispatch, planner, sender
from chalicelib.dunning.cadence import CHASEABLE_STATUSES, PlannedTouch, Step
from chalicelib.dunning.routing import Route, routes, why_not
from chalicelib.http.access import require_staff
from chalicelib.http.auth import Principal
from chalicelib.http.schemas import SendIn
from chalicelib.kernel import claims
from chalicelib.kernel.clock import iso
from chalicelib.kernel.errors import Conflict, FieldProblem, NotFound, ValidationFailed
from chalicelib.kernel.money import to_major
from chalicelib.store.models import UserModel

KINDS = ("reminder", "statement")
CHANNELS = ("email", "sms", "letter")  # a call is a task, not a send
STATEMENT = "statement"
FIRST_CONTACT = "first_contact"
OVERRIDE_SETTING = "manual_send_window_override"
_OUTCOMES = {"sent": "sent", "already_done": "already_sent", "in_flight": "in_flight",
             "sent_unknown": "unknown", "already_unknown": "unknown"}


class SendRefused(Conflict):
    """409: the send may not happen now (the client in preview, opted out, outside the
    window, nothing owed)."""

    def __init__(self, code: str, field: str, reason: str) -> None:
        super().__init__(reason, [FieldProblem(field, reason)])
        self.code = code


@dataclass(frozen=True)
class Refusal:
    code: str  # chasing_in_preview | opted_out | sender_unverified | outside_contact_window
    #            | nothing_owed
    field: str
    reason: str


@dataclass(frozen=True)
class Plan:
    acc: dispatch.Account
    rts: dict
    touch: PlannedTouch
    route: Route
    key: str  # the claim key
    refusal: Refusal | None
    window: dict
    override: bool  # sent outside the window on the client's allowed override
    counts_as: str | None  # the cadence step due today that this send discharges


def templates(client, debtor) -> list[dict]:
    """The reminder templates a specialist may choose: the debtor's cadence steps (each
    with its tone) and the first-contact statement."""
    out, seen = [], set()
    for step in planner.cadence_for(client, debtor).steps:
        if step.channel == "call" or step.template in seen:
            continue
        seen.add(step.template)
        out.append({"template": step.template, "tone": step.tone,
                    "label": f"{step.template.replace('_', ' ')} ({step.tone}, step {step.key})"})
    if FIRST_CONTACT not in seen:
        out.append({"template": FIRST_CONTACT, "tone": "friendly",
                    "label": "first contact: statement and introduction (friendly)"})
    return out


def _live(acc: dispatch.Account) -> list:
    return sorted((i for i in acc.invoices
                   if i.status in CHASEABLE_STATUSES and int(i.balance_minor) > 0),
                  key=lambda i: (i.due_date, i.invoice_id))


def _due_today(acc: dispatch.Account, rts: dict, now: datetime) -> PlannedTouch | None:
    """The touch the cadence sends the account today, if any (the planner's decision).
    Outside the window the planner waits; what it would send in today's window counts."""
    def decide(at: datetime):
        return planner.decide(acc.client, acc.debtor, acc.invoices, at, contacts=acc.contacts,
                              channels=frozenset(rts))

    decision = decide(now)
    if decision.touch is not None or decision.reason != "outside_window":
        return decision.touch
    today = cw.local_date(now, acc.tz)
    nxt = decision.next_action_at
    if nxt is not None and cw.local_date(nxt, acc.tz) == today:
        return decide(nxt).touch  # before today's window opens
    window = cw.allowed_window(today, acc.tz, _country(acc), _policy(acc), "email")
    return decide(window[0]).touch if window is not None else None  # after it closed


def _country(acc: dispatch.Account) -> str | None:
    return acc.debtor.country or acc.client.country


def _consumer(acc: dispatch.Account) -> bool:
    return acc.debtor.kind == "consumer"


def _policy(acc: dispatch.Account) -> cw.ContactPolicy:
    return cw.effective_policy(planner.policy_for(acc.client, _consumer(acc)), _consumer(acc))


def override_allowed(client, debtor) -> bool:
    """Whether this debtor may be sent to by hand outside its contact window."""
    return cw.manual_override_allowed(debtor.kind == "consumer",
                                      (client.settings or {}).get(OVERRIDE_SETTING) is True)


def _local(at: datetime, tz: str) -> str:
    return at.astimezone(cw.zone(tz)).strftime("%a %d %b %H:%M")


def _window(acc: dispatch.Account, channel: str, now: datetime, wanted: bool
            ) -> tuple[dict, Refusal | None, bool]:
    tz = acc.tz
    policy = _policy(acc)
    open_now = cw.is_allowed(now, tz, _country(acc), policy, channel)
    allowed = override_allowed(acc.client, acc.debtor)
    nxt = None if open_now else cw.next_allowed(now, tz, _country(acc), policy, channel)
    info = {"open_now": open_now, "next_allowed_at": iso(nxt) if nxt else None,
            "timezone": tz, "override_allowed": allowed and not open_now}
    if open_now:
        return info, None, False
    if wanted and allowed:
        return info, None, True
    reason = (f"outside the debtor's contact window: it is {_local(now, tz)} in {tz}; the "
              f"next allowed time is {_local(nxt, tz)}")
    if _consumer(acc):
        reason += "; a consumer is never contacted outside it"
    elif not allowed:
        reason += f"; the client's settings do not allow an override ({OVERRIDE_SETTING})"
    else:
        reason += "; the client allows an override for this business debtor: send with " \
                  "override_window"
    return info, Refusal("outside_contact_window", "override_window", reason), False


def _money(minor: int, currency: str) -> str:
    return f"{to_major(minor, currency)} {currency}"


def plan(p: Principal, client_id: str, debtor_id: str, data: SendIn, now: datetime) -> Plan:
    """What a manual send would send, to whom, and whether it may go now."""
    require_staff(p)
    load_debtor(p, client_id, debtor_id)  # tenancy and assignment first
    acc = dispatch.load(p.agency_id, client_id, debtor_id)
    if acc is None:
        raise NotFound("debtor")
    rts = routes(p.agency_id, acc.contacts, acc.suppressed)
    live = _live(acc)
    today = cw.local_date(now, acc.tz)
    overdue = [i for i in live if date.fromisoformat(i.due_date) < today]
    due = _due_today(acc, rts, now) if live else None
    if data.kind == STATEMENT:
        template, tone = data.template or STATEMENT, data.tone or "friendly"
        if template != STATEMENT:
            raise ValidationFailed.one("template", "a statement uses the statement template")
        invoice_ids = [i.invoice_id for i in live]
    else:
        choices = {c["template"]: c["tone"] for c in templates(acc.client, acc.debtor)}
        default = due.template if due is not None and due.template in choices else \
            next(iter(choices))
        template = data.template or default
        if template not in choices:
            raise ValidationFailed.one("template", "must be one of " + ", ".join(choices))
        tone = data.tone or (due.tone if due is not None and template == due.template
                             else choices[template])
        invoice_ids = list(due.invoice_ids) if due is not None else \
            [i.invoice_id for i in (overdue or live)]
    if tone != "friendly" and not overdue:
        raise ValidationFailed.one("tone", "nothing is overdue yet: only a friendly message "
                                           "may be sent")
    total = sum(int(i.balance_minor) for i in live)
    if tone == "final" and total < planner.final_notice_min(acc.client):
        raise ValidationFailed.one("tone", "below the client's final-notice threshold of "
                                   + _money(planner.final_notice_min(acc.client),
                                            acc.debtor.currency))
    channel = data.channel
    refusal = None
    if planner.chasing_mode(acc.client) == planner.PREVIEW:
        refusal = Refusal("chasing_in_preview", "kind",
                          "the client's chasing is in preview (the dry run): nothing is sent "
                          "until an admin activates it")
    elif not live:
        refusal = Refusal("nothing_owed", "kind", "the account has no open invoice to send")
    elif acc.debtor.stopped_reason == "opted_out_all":
        refusal = Refusal("opted_out", "channel", "the debtor opted out of all contact")
    elif channel not in rts:
        refusal = Refusal("opted_out", "channel",
                          f"{channel} may not be used: "
                          + why_not(p.agency_id, acc.contacts, channel))
    elif channel == "email" and not sender.ready(acc.client, now):
        refusal = _sender_refusal(acc.client)
    window, window_refusal, override = _window(acc, channel, now, data.override_window)
    refusal = refusal or window_refusal
    route = rts.get(channel) or Route(channel, acc.contacts[0] if acc.contacts else None, None)
    if data.idempotency_key:
        idem = "k-" + hashlib.sha256(data.idempotency_key.encode()).hexdigest()[:16]
    else:  # the same message on the same local day is the same send
        facts = "\n".join([data.kind, channel, template, tone, today.isoformat(), *invoice_ids])
        idem = "d-" + hashlib.sha256(facts.encode()).hexdigest()[:16]
    touch = PlannedTouch(
        step=Step("manual", 0, channel, template, tone), occurrence=0,
        occurrence_key="manual", channel=channel, tone=tone, template=template,
        invoice_ids=tuple(invoice_ids), covers=tuple(due.covers) if due is not None else (),
        passed=(), claim_key=f"manual@{idem}",
        first_contact=bool(due is not None and due.first_contact))
    return Plan(acc, rts, touch, route, dispatch.touch_claim_key(acc, touch.claim_key),
                refusal, window, override,
                due.occurrence_key if due is not None else None)


def _sender_refusal(client) -> Refusal:
    return Refusal("sender_unverified", "channel",
                   f"the client's sender {client.sender_email} is not verified in SES "
                   f"({client.sender_status or 'unknown'}): email waits until it is")


def _summary(pl: Plan) -> dict:
    t = pl.touch
    return {"kind": STATEMENT if t.template == STATEMENT else "reminder", "channel": t.channel,
            "template": t.template, "tone": t.tone, "to": pl.route.address,
            "invoice_ids": list(t.invoice_ids), "counts_as_step": pl.counts_as,
            "window": pl.window, "window_override": pl.override}


def preview(p: Principal, client_id: str, debtor_id: str, data: SendIn, *,
            now: datetime) -> dict:
    """The message as it would be sent now, and whether it may be (nothing is sent)."""
    pl = plan(p, client_id, debtor_id, data, now)
    _, out = dispatch.compose(pl.acc, pl.touch, pl.route, now)
    refusal = pl.refusal
    return {**_summary(pl), "subject": out.subject, "text": out.text, "html": out.html,
            "attachments": [a.filename for a in out.attachments],
            "may_send": refusal is None,
            "refusal": {"code": refusal.code, "field": refusal.field, "reason": refusal.reason}
            if refusal else None,
            "templates": templates(pl.acc.client, pl.acc.debtor)}


def _name(p: Principal) -> str:
    try:
        return UserModel.get(p.agency_id, p.user_id).name or p.user_id
    except UserModel.DoesNotExist:
        return p.user_id


def send(p: Principal, client_id: str, debtor_id: str, data: SendIn, *, now: datetime) -> dict:
    """Send it now, once: refused (409 naming why) when opted out or outside the window
    without an allowed override; a replay of a send already made answers already_sent."""
    pl = plan(p, client_id, debtor_id, data, now)
    touch = pl.touch
    existing = claims.lookup(pl.key)
    if existing is not None and existing.status != "failed":
        # A retry of a send already made: nothing is sent; what it discharged is applied
        # (a crash between the send and the account write is finished here).
        stored = existing.result or {}
        touch = replace(touch, covers=tuple(stored.get("covers") or ()),
                        channel=stored.get("channel") or touch.channel)
    elif pl.refusal is not None:
        raise SendRefused(pl.refusal.code, pl.refusal.field, pl.refusal.reason)
    notes = []
    if pl.counts_as:
        notes.append(f"counts as cadence step {pl.counts_as}")
    if pl.override:
        notes.append("sent outside the contact window (override for a business debtor, "
                     "allowed by the client's settings)")
    kind = _summary(pl)["kind"]
    origin = dispatch.Origin(actor=p.user_id, manual=kind, by=_name(p), notes=tuple(notes),
                             data={"manual": kind, "sent_by": p.user_id,
                                   "window_override": pl.override,
                                   "counts_as": pl.counts_as})
    try:
        outcome = dispatch.send_touch(pl.acc, touch, pl.rts, pl.key, now, origin)
    except dispatch.DispatchFailed as exc:
        raise SendRefused("send_failed", "channel",
                          f"not sent: {exc}; the same request may be retried") from None
    if outcome == "held_sender_unverified":  # SES refused the sender as we sent
        r = _sender_refusal(pl.acc.client)
        raise SendRefused(r.code, r.field, r.reason)
    if outcome == "redecide":
        failed = claims.lookup(pl.key)
        error = (failed.result or {}).get("error") if failed is not None else None
        raise SendRefused("send_failed", "channel",
                          f"{touch.channel} to {pl.route.address} was refused for good "
                          f"({error}); that channel is now closed for this contact")
    return {**_summary(pl), "outcome": _OUTCOMES.get(outcome, outcome)}
