"""Credit policy use cases: the client's policy (in its settings, saved through
`agency.clients.update_client`, so it is versioned with the client and announced), a
debtor's override, the evaluation of one debtor (on the events that change its exposure or
its risk: `behaviour/subscribers`), the alerts it raises, and credit holds. The rules are
`behaviour.credit_rules`.

Cost of one evaluation (one debtor, whatever the size of the book): GetItem client,
GetItem debtor, Query of the debtor's invoices, GetItem of its credit record; a debtor
without a behaviour segment also reads its behaviour facts (`profiles.account_facts`).
Writes only when something changed: the credit record (under its version), any alert
raised or resolved and their timeline entries, in one transaction; a conflict re-reads.
Each alert is stored once per cause: its id is the debtor's n-th alert, and the record
that counts them is written in the same transaction, so a redelivered or racing event
finds the cause already recorded and raises nothing."""
from __future__ import annotations

import logging
from datetime import datetime

from pynamodb.exceptions import PutError, TransactWriteError

from chalicelib.agency import clients as agency_clients
from chalicelib.behaviour import credit_rules as rules
from chalicelib.behaviour import profiles
from chalicelib.behaviour.models import CreditAccountModel, CreditAlertModel
from chalicelib.behaviour.profile_rules import SEGMENTS
from chalicelib.book.invoice_rules import OWED
from chalicelib.dunning import messages
from chalicelib.http.access import load_client, require_admin, require_staff
from chalicelib.http.auth import Principal
from chalicelib.http.schemas import (ClientPatch, CreditAlertIn, CreditHoldIn, CreditPolicyIn,
                                     CreditTermsIn)
from chalicelib.kernel import events
from chalicelib.kernel.clock import iso
from chalicelib.kernel.errors import Conflict, Forbidden, NotFound
from chalicelib.kernel.field_errors import FieldError
from chalicelib.kernel.money import format_money, to_major
from chalicelib.store import accounts, timeline
from chalicelib.store.keys import client_key
from chalicelib.store.models import ClientModel, DebtorModel, InvoiceModel, TimelineModel

log = logging.getLogger("recoup.credit")
ATTEMPTS = 6
ALERTS_PER_DEBTOR = 20   # the debtor view shows this many, newest first
HOLD_LABELS = {"on_hold": "on credit hold", "released": "credit hold released"}


# --------------------------------------------------------------------------- the policy


def policy_of(client: ClientModel) -> rules.Policy:
    """The client's policy as stored (a stored policy that no longer parses is ignored,
    with a warning: a policy is checked when it is saved)."""
    try:
        return rules.parse_policy((client.settings or {}).get("credit_policy"),
                                  currency=client.currency)
    except FieldError as exc:
        log.warning("client %s: stored credit policy ignored: %s", client.client_id, exc)
        return rules.Policy()


def enabled(client: ClientModel) -> bool:
    """Credit control is on for a client once it has a credit policy (even an empty one:
    band alerts without limits)."""
    return "credit_policy" in (client.settings or {})


def _locale(client: ClientModel) -> str:
    return str(messages.client_locale(client))


def render_policy(client: ClientModel) -> dict:
    pol = policy_of(client)
    return {"client_id": client.client_id, "currency": client.currency,
            "default": pol.default.to_dict(),
            "segments": {k: v.to_dict() for k, v in sorted(pol.segments.items())},
            "behaviour_segments": list(SEGMENTS),
            "bands": {s: rules.SEGMENT_BANDS[s] for s in SEGMENTS},
            "default_terms_days": rules.DEFAULT_TERMS_DAYS,
            "version": client.version}


def get_policy(p: Principal, client_id: str) -> dict:
    require_staff(p)
    return render_policy(load_client(p, client_id))


def set_policy(p: Principal, client_id: str, data: CreditPolicyIn, *, now: datetime) -> dict:
    """Replace the client's credit policy (admins). Checked by the rules first (422 naming
    the field); saved in the client's settings under its version."""
    require_admin(p)
    client = load_client(p, client_id)
    raw = data.model_dump()
    policy = rules.parse_policy(raw, currency=client.currency)
    agency_clients.update_client(p, client_id, ClientPatch(
        settings={"credit_policy": policy.to_dict()}), now=now)
    return render_policy(load_client(p, client_id))


# ------------------------------------------------------------------------ the evaluation


def _account(ckey: str, debtor_id: str, consistent: bool = True) -> CreditAccountModel:
    try:
        return CreditAccountModel.get(ckey, debtor_id, consistent_read=consistent)
    except CreditAccountModel.DoesNotExist:
        return CreditAccountModel(ckey, debtor_id)


def _override(acct: CreditAccountModel) -> rules.Terms | None:
    o = acct.override or None
    if not o:
        return None
    return rules.Terms(o.get("limit_minor"), o.get("currency"), o.get("terms_days"))


def _band(debtor: DebtorModel, now: datetime, invoices: list[InvoiceModel]) -> rules.Band:
    if debtor.segment in rules.SEGMENT_BANDS:
        return rules.band_for(debtor.segment, debtor.segment_reason)
    f = profiles.account_facts(debtor, now, invoices=invoices)  # a client's own bucket
    return rules.band_for(debtor.segment, computed=f.segment.name,
                          computed_reason=f.segment.reason)


def _position(client: ClientModel, debtor: DebtorModel, acct: CreditAccountModel,
              invoices: list[InvoiceModel], now: datetime):
    eff = rules.effective(policy_of(client), debtor.segment, _override(acct))
    exp = rules.exposure(((int(i.balance_minor), i.currency) for i in invoices
                          if i.status in OWED), eff.currency or debtor.currency
                         or client.currency)
    return eff, exp, _band(debtor, now, invoices)


def _open_alerts_of(ckey: str, debtor_id: str) -> list[CreditAlertModel]:
    return [a for a in CreditAlertModel.query(ckey, CreditAlertModel.alert_id.startswith(
        f"{debtor_id}."), consistent_read=True) if a.status != "resolved"]


def _resolve(alert: CreditAlertModel, by: str, why: str, now: datetime) -> None:
    alert.status, alert.resolved_by, alert.resolved_at = "resolved", by, iso(now)
    alert.resolution, alert.open_key, alert.open_sort = why, None, None


def evaluate_many(agency_id: str, client_id: str, debtors: list[tuple[str, str]],
                  now: datetime) -> int:
    """Evaluate these (debtor id, cause) of one client (an import part, a batch of segment
    moves): the client read once; nothing more when it has no credit control. Returns how
    many were evaluated."""
    try:
        client = ClientModel.get(agency_id, client_id)
    except ClientModel.DoesNotExist:
        return 0
    if not enabled(client):
        return 0
    n = 0
    for debtor_id, cause in debtors:
        evaluate(agency_id, client_id, debtor_id, now, cause=cause, client=client)
        n += 1
    return n


def evaluate(agency_id: str, client_id: str, debtor_id: str, now: datetime, *,
             cause: str = "", client: ClientModel | None = None) -> rules.Decision | None:
    """Evaluate one debtor against its client's credit policy and record what changed
    (`client`, when the caller has just read it)."""
    ckey = client_key(agency_id, client_id)
    if client is None:
        try:
            client = ClientModel.get(agency_id, client_id)
        except ClientModel.DoesNotExist:
            return None
    if not enabled(client):
        return None  # no credit control for this client: one GetItem, nothing written
    locale = _locale(client)
    for _ in range(ATTEMPTS):
        try:
            debtor = DebtorModel.get(ckey, debtor_id, consistent_read=True)
        except DebtorModel.DoesNotExist:
            return None
        acct = _account(ckey, debtor_id)
        invoices = accounts.debtor_invoices(debtor, consistent=True)
        eff, exp, band = _position(client, debtor, acct, invoices, now)
        prev = rules.State.from_dict(acct.state) if acct.state else None
        d = rules.decide(prev, band, eff, exp, locale=locale)
        if prev == d.state and not d.changed:
            return d
        saves: list = []
        entries: list[TimelineModel] = []
        if d.resolve:
            kinds = dict(d.resolve)
            for a in _open_alerts_of(ckey, debtor_id):
                if a.kind not in kinds:
                    continue
                if a.kind == rules.BAND_CHANGED and not rules.band_alert_resolved(
                        (a.data or {}).get("from"), band.name):
                    continue
                _resolve(a, "system", kinds[a.kind], now)
                saves.append((a, None))
        acct.state, acct.evaluated_at, acct.updated_at = d.state.to_dict(), iso(now), iso(now)
        for r in d.raised:
            acct.seq = int(acct.seq or 0) + 1
            alert_id = f"{debtor_id}.{acct.seq:05d}"
            saves.append((CreditAlertModel(
                ckey, alert_id, debtor_id=debtor_id, debtor_name=debtor.name, kind=r.kind,
                status="open", message=r.message, recommendation=r.recommendation,
                data={**r.data, "cause": cause}, raised_at=iso(now), open_key=ckey,
                open_sort=f"{iso(now)}#{alert_id}"),
                CreditAlertModel.alert_id.does_not_exist()))
            entries.append(timeline.entry(
                agency_id, client_id, debtor_id, "credit_alert", r.message, actor="system",
                at=now, data={"alert_id": alert_id, "kind": r.kind,
                              "recommendation": r.recommendation},
                entry_id=f"{iso(now)}#credit-{alert_id}"))
        if d.summary:
            entries.append(timeline.entry(
                agency_id, client_id, debtor_id, "credit_changed", d.summary, actor="system",
                at=now, data=d.state.to_dict(),
                entry_id=f"{iso(now)}#credit-{debtor_id}-v{int(acct.version or 0) + 1}"))
        saves.insert(0, (acct, None))
        saves += [(e, TimelineModel.entry_id.does_not_exist()) for e in entries]
        try:
            events.commit(saves, [])
        except TransactWriteError:
            continue  # the record or an alert changed meanwhile: read again
        return d
    raise Conflict("the debtor's credit record keeps changing; retry")


def recheck_client(agency_id: str, client_id: str, now: datetime) -> int:
    """After the policy changed: evaluate the debtors it may concern, the ones owing more
    than its smallest limit (one paged Query of the client's debtors, their ids and
    balances only) and the ones with unresolved alerts (the `open_alerts` index), so a new
    limit raises its alerts and a raised one resolves them without waiting for each
    debtor's next event. Returns how many were evaluated. (The position's balance is in
    the debtor's currency; `evaluate` compares in the limit's.)"""
    try:
        client = ClientModel.get(agency_id, client_id)
    except ClientModel.DoesNotExist:
        return 0
    if not enabled(client):
        return 0
    pol = policy_of(client)
    ckey = client_key(agency_id, client_id)
    todo = {a.debtor_id for a in _open_alerts(client)}
    limits = [t.limit_minor for t in (pol.default, *pol.segments.values())
              if t.limit_minor is not None]
    if limits:
        for d in DebtorModel.query(ckey, filter_condition=DebtorModel.balance_minor > min(limits),
                                   attributes_to_get=["debtor_id"]):
            todo.add(d.debtor_id)
    for debtor_id in sorted(todo):
        evaluate(agency_id, client_id, debtor_id, now, cause="policy")
    return len(todo)


# ------------------------------------------------------------------------------ overrides


def _load(p: Principal, client_id: str, debtor_id: str, *, for_reports: bool = False):
    client = load_client(p, client_id, for_reports=for_reports)
    try:
        return client, DebtorModel.get(client_key(p.agency_id, client_id), debtor_id)
    except DebtorModel.DoesNotExist:
        raise NotFound("debtor") from None


def set_override(p: Principal, client_id: str, debtor_id: str, data: CreditTermsIn, *,
                 now: datetime) -> dict:
    """Set (or clear, with all fields null) this debtor's own limit and terms; the debtor
    is evaluated at once."""
    require_staff(p)
    client, debtor = _load(p, client_id, debtor_id)
    terms = rules.parse_terms(data.model_dump(), "body",
                              fallback_currency=debtor.currency or client.currency)
    ckey = client_key(p.agency_id, client_id)
    locale = _locale(client)
    for _ in range(ATTEMPTS):
        acct = _account(ckey, debtor_id)
        if (acct.override or None) == (None if terms.empty else terms.to_dict()):
            break
        acct.override = None if terms.empty else terms.to_dict()
        acct.updated_at = iso(now)
        try:
            acct.save()
        except PutError:
            continue
        said = ("Credit limit and terms for this account cleared: the segment's or the "
                "client's apply" if terms.empty else "Credit for this account set: " + ", ".join(
                    x for x in (
                        f"limit {format_money(terms.limit_minor, terms.currency, locale)}"
                        if terms.limit_minor is not None else None,
                        f"terms {terms.terms_days} days" if terms.terms_days is not None
                        else None) if x))
        timeline.record(p.agency_id, client_id, debtor_id, "credit_override", said,
                        actor=p.user_id, at=now, data={"override": acct.override},
                        entry_id=f"{iso(now)}#credit-override-v{acct.version}")
        break
    else:
        raise Conflict("the debtor's credit record changed meanwhile; retry")
    evaluate(p.agency_id, client_id, debtor_id, now, cause="override")
    return debtor_credit(client, DebtorModel.get(ckey, debtor_id), now)


# ---------------------------------------------------------------------------- the views


def render_alert(a: CreditAlertModel, locale: str = "en_GB") -> dict:
    return {"id": a.alert_id, "debtor_id": a.debtor_id, "debtor_name": a.debtor_name,
            "kind": a.kind, "kind_label": rules.KIND_LABELS.get(a.kind, a.kind),
            "status": a.status, "message": a.message, "recommendation": a.recommendation,
            "recommendation_label": rules.RECOMMENDATION_LABELS.get(a.recommendation,
                                                                    a.recommendation),
            "raised_at": a.raised_at, "acknowledged_by": a.acknowledged_by,
            "acknowledged_at": a.acknowledged_at, "resolved_at": a.resolved_at,
            "resolution": a.resolution, "note": a.note, "data": dict(a.data or {})}


def debtor_credit(client: ClientModel, debtor: DebtorModel, now: datetime, *,
                  invoices: list[InvoiceModel] | None = None) -> dict:
    """What the debtor view and the API show: limit, terms and where they come from,
    exposure, headroom, risk band, hold, and the debtor's latest alerts."""
    ckey = client_key(client.agency_id, client.client_id)
    acct = _account(ckey, debtor.debtor_id, consistent=False)
    if invoices is None:
        invoices = accounts.debtor_invoices(debtor)
    eff, exp, band = _position(client, debtor, acct, invoices, now)
    locale = _locale(client)
    comparable = eff.limit_minor is not None and eff.currency == exp.currency
    over = comparable and exp.minor > (eff.limit_minor or 0)
    alerts = [render_alert(a, locale) for a in CreditAlertModel.query(
        ckey, CreditAlertModel.alert_id.startswith(f"{debtor.debtor_id}."),
        scan_index_forward=False, limit=ALERTS_PER_DEBTOR)][:ALERTS_PER_DEBTOR]
    hold = dict(acct.hold) if acct.hold else None
    on_hold = bool(hold and hold.get("status") == "on_hold")
    money = lambda m, c: format_money(m, c, locale)  # noqa: E731
    return {
        "debtor_id": debtor.debtor_id, "debtor_name": debtor.name,
        "enabled": enabled(client),
        **eff.to_dict(),
        "limit_label": (money(eff.limit_minor, eff.currency) if eff.limit_minor is not None
                        else "no limit"),
        "limit_source_label": rules.SOURCE_LABELS[eff.limit_source],
        "terms_source_label": rules.SOURCE_LABELS[eff.terms_source],
        "override": dict(acct.override) if acct.override else None,
        "override_limit_text": (str(to_major(acct.override["limit_minor"],
                                              acct.override["currency"]))
                                if acct.override and acct.override.get("limit_minor")
                                is not None else None),
        "exposure_minor": exp.minor, "exposure_currency": exp.currency,
        "exposure_label": money(exp.minor, exp.currency),
        "other_currencies": [{"currency": c, "minor": m, "label": money(m, c)}
                             for c, m in exp.other.items()],
        "over_limit": over,
        "headroom_minor": (eff.limit_minor - exp.minor) if comparable else None,
        "headroom_label": (money(eff.limit_minor - exp.minor, exp.currency)
                           if comparable else None),
        "band": band.name, "band_label": band.label, "band_reason": band.reason,
        "hold": hold, "on_hold": on_hold,
        "hold_recommended": not on_hold and any(
            a["status"] != "resolved" and a["recommendation"] == rules.HOLD_RECOMMENDED
            for a in alerts),
        "alerts": alerts, "evaluated_at": acct.evaluated_at,
    }


def get_debtor_credit(p: Principal, client_id: str, debtor_id: str, *, now: datetime) -> dict:
    require_staff(p)
    client, debtor = _load(p, client_id, debtor_id)
    return debtor_credit(client, debtor, now)


def _open_alerts(client: ClientModel) -> list[CreditAlertModel]:
    """The client's unresolved alerts: one Query of the sparse `open_alerts` index."""
    return list(CreditAlertModel.open_alerts.query(
        client_key(client.agency_id, client.client_id)))


def list_alerts(p: Principal, client_id: str) -> dict:
    require_staff(p)
    client = load_client(p, client_id)
    locale = _locale(client)
    return {"items": [render_alert(a, locale) for a in _open_alerts(client)],
            "next_cursor": None}


def act_on_alert(p: Principal, client_id: str, alert_id: str, data: CreditAlertIn, *,
                 now: datetime) -> dict:
    """Acknowledge (seen; it stays on the list until resolved) or resolve an alert. A
    resolved alert stays resolved (a retry answers it as it is)."""
    require_staff(p)
    client = load_client(p, client_id)
    ckey = client_key(p.agency_id, client_id)
    for _ in range(ATTEMPTS):
        try:
            a = CreditAlertModel.get(ckey, alert_id, consistent_read=True)
        except CreditAlertModel.DoesNotExist:
            raise NotFound("credit alert") from None
        if a.status == "resolved" or (data.action == "acknowledge" and a.status != "open"):
            return render_alert(a, _locale(client))
        if data.action == "acknowledge":
            a.status, a.acknowledged_by, a.acknowledged_at = "acknowledged", p.user_id, iso(now)
            said = f"Credit alert acknowledged: {a.message}"
        else:
            _resolve(a, p.user_id, "resolved by the agency", now)
            said = f"Credit alert resolved: {a.message}"
        if data.note:
            a.note = data.note
        try:
            a.save()
        except PutError:
            continue
        timeline.record(p.agency_id, client_id, a.debtor_id, f"credit_alert_{a.status}",
                        said + (f" ({data.note})" if data.note else ""), actor=p.user_id,
                        at=now, data={"alert_id": alert_id},
                        entry_id=f"{iso(now)}#credit-{alert_id}-{a.status}")
        return render_alert(a, _locale(client))
    raise Conflict("the alert changed meanwhile; retry")


# ---------------------------------------------------------------------------- credit hold


def set_hold(p: Principal, client_id: str, debtor_id: str, data: CreditHoldIn, *,
             now: datetime) -> dict:
    """Record a credit hold (the client stops supplying this debtor on credit) or its
    release, as the agency (a specialist records the client's decision). Chasing is not
    changed."""
    require_staff(p)
    return _record_hold(p, client_id, debtor_id, data, now, viewer=False)


def hold_as_client(p: Principal, client_id: str, debtor_id: str, data: CreditHoldIn, *,
                   now: datetime) -> dict:
    """The client's viewer approves the recommended hold (or releases it) in its portal."""
    if p.role != "client_viewer":
        raise Forbidden("the client's viewer decides in the portal")
    return _record_hold(p, client_id, debtor_id, data, now, viewer=True)


def _record_hold(p: Principal, client_id: str, debtor_id: str, data: CreditHoldIn,
                 now: datetime, *, viewer: bool) -> dict:
    client, debtor = _load(p, client_id, debtor_id, for_reports=viewer)
    want = "on_hold" if data.hold else "released"
    ckey = client_key(p.agency_id, client_id)
    for _ in range(ATTEMPTS):
        acct = _account(ckey, debtor_id)
        current = (acct.hold or {}).get("status")
        if current == want or (want == "released" and current is None):
            break
        acct.hold = {"status": want, "by": p.user_id, "role": p.role, "at": iso(now),
                     "note": data.note}
        acct.hold_key, acct.hold_sort = ((ckey, f"{iso(now)}#{debtor_id}") if data.hold
                                         else (None, None))
        acct.updated_at = iso(now)
        try:
            acct.save()
        except PutError:
            continue
        who = "the client" if viewer else "the agency"
        said = (f"Credit hold {'approved' if viewer else 'recorded'} by {who}: no new orders "
                "on credit" if data.hold else f"Credit hold released by {who}")
        timeline.record(p.agency_id, client_id, debtor_id, "credit_hold",
                        said + (f" ({data.note})" if data.note else ""), actor=p.user_id,
                        at=now, data={"status": want, "role": p.role},
                        entry_id=f"{iso(now)}#credit-hold-v{acct.version}")
        break
    else:
        raise Conflict("the debtor's credit record changed meanwhile; retry")
    return debtor_credit(client, debtor, now)


# -------------------------------------------------------------------- the client's portal


def for_viewer(p: Principal, client_id: str, *, now: datetime) -> dict:
    """The client's own view: its accounts with open credit alerts or on credit hold
    (exposure, limit, band, hold), in its locale. One Query of the open alerts and one of
    the accounts on hold (both sparse indexes), then per account listed its credit record,
    debtor and invoices."""
    client = load_client(p, client_id, for_reports=True)
    return {"client_id": client.client_id, **accounts_to_watch(client, now)}


def accounts_to_watch(client: ClientModel, now: datetime) -> dict:
    locale = _locale(client)
    ckey = client_key(client.agency_id, client.client_id)
    by_debtor: dict[str, list[CreditAlertModel]] = {}
    for a in _open_alerts(client):
        by_debtor.setdefault(a.debtor_id, []).append(a)
    for held in CreditAccountModel.on_hold.query(ckey):
        by_debtor.setdefault(held.debtor_id, [])
    rows = []
    for debtor_id, alerts in by_debtor.items():
        try:
            debtor = DebtorModel.get(ckey, debtor_id)
        except DebtorModel.DoesNotExist:
            continue
        view = debtor_credit(client, debtor, now)
        view["open_alerts"] = [render_alert(a, locale) for a in alerts]
        rows.append(view)
    rows.sort(key=lambda r: (not r["hold_recommended"], not r["over_limit"], r["on_hold"],
                             r["debtor_name"]))
    return {"accounts": rows, "alerts": sum(len(r["open_alerts"]) for r in rows),
            "on_hold": sum(1 for r in rows if r["on_hold"])}
