"""The dry run: for the next days, exactly which messages the real planner would send to
whom, on which day and channel, with the rendered text, and the counts per day and step.

Nothing is written. Each account is copied in memory and walked forward from now with the
planner's own decision (`planner.decide(simulate=True)`), the dispatcher's own rendering
(`dispatch.compose`) and the same record of a touch (`planner.record_touch`), so the
preview cannot drift from what chasing does. It assumes nobody pays, replies or promises
during the period, and every address stays deliverable."""
from __future__ import annotations

import copy
from collections import Counter, defaultdict
from datetime import datetime, timedelta

from chalicelib.dunning import cadence as cad
from chalicelib.dunning import contact_window as cw
from chalicelib.dunning import planner
from chalicelib.dunning.dispatch import Account, compose
from chalicelib.dunning.routing import marker_reads, routes, suppressed_among, suppression_keys
from chalicelib.http.access import load_client, require_staff
from chalicelib.http.auth import Principal
from chalicelib.http.schemas import PreviewIn
from chalicelib.kernel.clock import iso
from chalicelib.kernel.errors import NotFound, ValidationFailed
from chalicelib.store import accounts, batch
from chalicelib.store.keys import client_key, debtor_key
from chalicelib.store.models import ClientModel, ContactModel, DebtorModel

MAX_DAYS = 31
# Rendered messages returned; the counts always cover every account.
DEFAULT_MESSAGES, MAX_MESSAGES = 100, 500
_STEPS_PER_ACCOUNT = 60  # a cadence that loops is cut here, never forever
ASSUMES = ("Nobody pays, replies or promises during the period; every address stays "
           "deliverable; messages go when the contact window opens in the debtor's zone.")


def _touches(client: ClientModel, debtor: DebtorModel, contacts: list[ContactModel],
             now: datetime, until: datetime, cadence: cad.Cadence | None,
             invoices: list, suppressed: frozenset[str] | None = None):
    """(instant, touch, account copy as of that touch) for one account, in order."""
    agency_id = debtor.client_key.split("#", 1)[0]
    rts = routes(agency_id, contacts, suppressed)
    sim = copy.deepcopy(debtor)
    acc = Account(client, sim, invoices, contacts, suppressed)
    tz = acc.tz
    at = now
    for _ in range(_STEPS_PER_ACCOUNT):
        decision = planner.decide(client, sim, invoices, at, contacts=contacts,
                                  channels=frozenset(rts), cadence=cadence, simulate=True)
        if decision.touch is not None:
            yield at, decision.touch, acc, rts
            planner.record_touch(sim, decision.touch, at, tz)
            continue
        nxt = decision.next_action_at
        if nxt is None or nxt > until:
            return
        at = max(nxt, at + timedelta(seconds=1))


def preview(client: ClientModel, now: datetime, *, days: int = 14,
            cadence: cad.Cadence | None = None, messages_limit: int = DEFAULT_MESSAGES,
            debtor_id: str | None = None) -> dict:
    until = now + timedelta(days=days)
    ckey = client_key(client.agency_id, client.client_id)
    if debtor_id:
        debtors = [DebtorModel.get(ckey, debtor_id)]
        invoices = {debtor_id: accounts.debtor_invoices(debtors[0])}
    else:  # the whole book: its invoices in one read, not a Query per account
        debtors = list(DebtorModel.query(ckey))
        invoices = accounts.client_invoices_by_debtor(ckey)
    debtors.sort(key=lambda d: d.name.lower())
    contacts = {d.debtor_id: list(ContactModel.query(
        debtor_key(client.agency_id, client.client_id, d.debtor_id))) for d in debtors}
    # every address's suppression marker in batch reads (100 a request), not one each
    marks = {d: suppression_keys(client.agency_id, cs) for d, cs in contacts.items()}
    found = batch.get_many([key for ks in marks.values() for key in marker_reads(ks)])
    suppressed = {d: suppressed_among(ks, found) for d, ks in marks.items()}
    per_day: dict[str, Counter] = defaultdict(Counter)
    per_day_step: dict[str, Counter] = defaultdict(Counter)
    per_step: Counter = Counter()
    per_channel: Counter = Counter()
    out: list[dict] = []
    total = reached = 0
    for debtor in debtors:
        touched = False
        for at, touch, acc, rts in _touches(client, debtor, contacts[debtor.debtor_id], now,
                                            until, cadence,
                                            invoices.get(debtor.debtor_id, []),
                                            suppressed[debtor.debtor_id]):
            day = cw.local_date(at, client.timezone).isoformat()
            step = "first-contact" if touch.first_contact else touch.step.key
            per_day[day][touch.channel] += 1
            per_day_step[day][step] += 1
            per_step[step] += 1
            per_channel[touch.channel] += 1
            total += 1
            touched = True
            if len(out) >= messages_limit:
                continue
            route = rts[touch.channel]
            item = {"at": iso(at), "day": day, "debtor_id": debtor.debtor_id,
                    "debtor_name": debtor.name, "channel": touch.channel, "step": step,
                    "occurrence": touch.occurrence_key, "tone": touch.tone,
                    "template": touch.template, "first_contact": touch.first_contact,
                    "fallback": touch.fallback, "to": route.address,
                    "local_time": at.astimezone(cw.zone(acc.tz)).strftime("%a %d %b %H:%M"),
                    "tz": acc.tz, "invoice_ids": list(touch.invoice_ids),
                    # dispatch holds email while the sender is not verified (dunning.sender)
                    "held": "sender not verified" if touch.channel == "email"
                    and client.sender_status != "verified" else None}
            if touch.channel == "call":
                item.update(subject=f"Call task ({touch.tone})", text="", html="")
            else:
                _, rendered = compose(acc, touch, route, at)
                item.update(subject=rendered.subject, text=rendered.text, html=rendered.html)
            out.append(item)
        reached += touched
    day_rows = []
    cursor = cw.local_date(now, client.timezone)
    last = cw.local_date(until, client.timezone)
    while cursor <= last:
        key = cursor.isoformat()
        day_rows.append({"date": key, "messages": sum(per_day[key].values()),
                         "by_channel": dict(per_day[key]), "by_step": dict(per_day_step[key])})
        cursor += timedelta(days=1)
    return {"client_id": client.client_id, "chasing": planner.chasing_mode(client),
            "sender_email": client.sender_email,
            "sender_status": client.sender_status or "unknown",
            "from": iso(now), "to": iso(until), "days": day_rows,
            "by_step": dict(per_step), "by_channel": dict(per_channel),
            "accounts": len(debtors), "accounts_contacted": reached,
            "messages_total": total, "messages": out, "truncated": total > len(out),
            "proposed_cadence": cadence is not None, "assumes": ASSUMES}


def proposed_cadence(raw: dict | None) -> cad.Cadence | None:
    """A cadence someone proposes (API body, page form): 422 naming `cadence.<field>`."""
    if raw is None:
        return None
    try:
        return cad.from_dict(raw)
    except cad.CadenceError as exc:
        raise ValidationFailed.one(f"cadence.{exc.field}", exc.reason) from None


def for_principal(p: Principal, client_id: str, data: PreviewIn, *, now: datetime) -> dict:
    """The dry run as the API and the workspace ask for it (staff of the client)."""
    require_staff(p)
    client = load_client(p, client_id)
    proposed = proposed_cadence(data.cadence)
    try:
        return preview(client, now, days=data.days, cadence=proposed,
                       messages_limit=data.messages, debtor_id=data.debtor_id)
    except DebtorModel.DoesNotExist:
        raise NotFound("debtor") from None
