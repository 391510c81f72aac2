"""Workspace pages for the credit policy: a client's credit page (open alerts, the policy
form) and the debtor view's credit forms (its own limit and terms, a credit hold). Each
form calls the same use case as its API route (`behaviour/credit.py`), so page and API
refuse the same input the same way."""
from __future__ import annotations

from urllib.parse import quote, urlencode

from chalice import Blueprint

from chalicelib.behaviour import credit
from chalicelib.behaviour import credit_rules
from chalicelib.behaviour.profile_rules import SEGMENT_LABELS, SEGMENTS
from chalicelib.http import pages as edge
from chalicelib.http.access import load_client
from chalicelib.http.edge import validate
from chalicelib.http.schemas import CreditAlertIn, CreditHoldIn, CreditPolicyIn, CreditTermsIn
from chalicelib.kernel.clock import utcnow
from chalicelib.kernel.errors import ValidationFailed
from chalicelib.kernel.money import to_major
from chalicelib.workbench import pages as ws

bp = Blueprint(__name__)
CREDIT = "/w/clients/{client_id}/credit"


def _days(form: dict, name: str, field: str) -> int | None:
    raw = (form.get(name) or "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit()):
        raise ValidationFailed.one(field, "must be a whole number of days")
    return int(raw)


def _terms(form: dict, prefix: str, field: str, currency: str) -> dict:
    out = {}
    limit = ws._minor(form, f"{field}.limit_minor", currency, required=False,
                      name=f"{prefix}_limit")
    if limit is not None:
        out.update(limit_minor=limit, currency=currency)
    days = _days(form, f"{prefix}_terms", f"{field}.terms_days")
    if days is not None:
        out["terms_days"] = days
    return out


def _major(minor: int | None, currency: str | None) -> str:
    return "" if minor is None or currency is None else str(to_major(minor, currency))


def _policy_rows(policy: dict) -> list[dict]:
    """The policy form's rows: the five behaviour segments, then the client's own."""
    names = list(SEGMENTS) + sorted(k for k in policy["segments"] if k not in SEGMENTS)
    rows = []
    for name in names:
        t = policy["segments"].get(name) or {}
        rows.append({"name": name, "label": SEGMENT_LABELS.get(name, name.replace("_", " ")),
                     "band": credit_rules.BAND_LABELS.get(
                         credit_rules.SEGMENT_BANDS.get(name, ""), "the computed segment's"),
                     "limit": _major(t.get("limit_minor"), t.get("currency")),
                     "terms": "" if t.get("terms_days") is None else str(t["terms_days"])})
    return rows


def _credit_page(c, client_id: str, *, status: int = 200, errors: list | None = None,
                 form: dict | None = None):
    p = c.principal
    client = load_client(p, client_id)
    policy = credit.get_policy(p, client_id)
    alerts = credit.list_alerts(p, client_id)["items"]
    held = [r for r in credit.accounts_to_watch(client, utcnow())["accounts"] if r["on_hold"]]
    d = policy["default"]
    return ws._html("credit.html", status, **ws._ctx(
        c, client=client, policy=policy, alerts=alerts, held=held, rows=_policy_rows(policy),
        default={"limit": _major(d.get("limit_minor"), d.get("currency")),
                 "terms": "" if d.get("terms_days") is None else str(d["terms_days"])},
        errors=errors or [], form=form, is_admin=p.is_admin))


@bp.route(CREDIT, methods=["GET"])
@ws.page
def credit_page(c, client_id):
    """The client's open credit alerts and its credit policy."""
    return _credit_page(c, client_id)


@bp.route(CREDIT + "/policy", methods=["POST"], content_types=edge.FORM)
@ws.page
def save_policy(c, client_id):
    form = ws._form(c)
    client = load_client(c.principal, client_id)
    try:
        data: dict = {"default": _terms(form, "default", "default", client.currency),
                      "segments": {}}
        names = list(SEGMENTS) + [k for k in (client.settings or {}).get(
            "credit_policy", {}).get("segments", {}) if k not in SEGMENTS]
        for name in names:
            t = _terms(form, f"seg_{name}", f"segments.{name}", client.currency)
            if t:
                data["segments"][name] = t
        extra = (form.get("new_segment") or "").strip()
        if extra:
            t = _terms(form, "new_segment", f"segments.{extra}", client.currency)
            if t:
                data["segments"][extra] = t
        credit.set_policy(c.principal, client_id, validate(CreditPolicyIn, data), now=utcnow())
    except ws.REFUSED as err:
        return _credit_page(c, client_id, status=err.status, errors=ws._problems(err),
                            form=form)
    return ws._redirect(f"/w/clients/{quote(client_id)}/credit?" + urlencode(
        {"msg": "Credit policy saved: debtors owing more than its smallest limit, and those "
                "with alerts, are checked now; every debtor again at its next invoice, "
                "payment or segment change."}))


@bp.route("/w/clients/{client_id}/credit-alerts/{alert_id}", methods=["POST"],
          content_types=edge.FORM)
@ws.page
def act_on_alert(c, client_id, alert_id):
    form = ws._form(c)
    data = validate(CreditAlertIn, {"action": form.get("action") or "",
                                    **({"note": form["note"]} if form.get("note") else {})})
    out = credit.act_on_alert(c.principal, client_id, alert_id, data, now=utcnow())
    msg = f"{out['debtor_name']}: alert {out['status']}."
    if form.get("back") == "debtor":
        return ws._back_to_debtor(client_id, out["debtor_id"], msg)
    return ws._redirect(f"/w/clients/{quote(client_id)}/credit?" + urlencode({"msg": msg}))


@bp.route(ws.DEBTOR + "/credit", methods=["POST"], content_types=edge.FORM)
@ws.page
def set_override(c, client_id, debtor_id):
    """The debtor's own limit and terms (empty fields: the segment's or the client's)."""
    form = ws._form(c)
    client = load_client(c.principal, client_id)
    try:
        _, d = ws.debtors.load_debtor(c.principal, client_id, debtor_id)
        cur = d.currency or client.currency
        data = {"limit_minor": ws._minor(form, "limit_minor", cur, required=False,
                                         name="credit_limit"),
                "currency": cur, "terms_days": _days(form, "credit_terms", "terms_days")}
        if data["limit_minor"] is None:
            data["currency"] = None
        out = credit.set_override(c.principal, client_id, debtor_id,
                                  validate(CreditTermsIn, data), now=utcnow())
    except ws.REFUSED as err:
        return ws._refused(c, client_id, debtor_id, "credit", err, form)
    return ws._back_to_debtor(client_id, debtor_id,
                              f"Credit limit {out['limit_label']} ({out['limit_source_label']}), "
                              f"terms {out['terms_days']} days.")


@bp.route(ws.DEBTOR + "/credit/hold", methods=["POST"], content_types=edge.FORM)
@ws.page
def set_hold(c, client_id, debtor_id):
    form = ws._form(c)
    try:
        data = validate(CreditHoldIn, {"hold": form.get("hold") == "1",
                                       **({"note": form["note"]} if form.get("note") else {})})
        out = credit.set_hold(c.principal, client_id, debtor_id, data, now=utcnow())
    except ws.REFUSED as err:
        return ws._refused(c, client_id, debtor_id, "hold", err, form)
    return ws._back_to_debtor(client_id, debtor_id, "On credit hold: the client supplies no "
                              "new orders on credit." if out["on_hold"] else
                              "Credit hold released.")
