"""Late charges and early-payment discounts as client policy: each due charge is claimed
once (keyed by Charge.key) and kept as its own entry, never folded into the principal."""
from __future__ import annotations

import hashlib
import logging
from datetime import date, datetime, timedelta
from decimal import Decimal

from pynamodb.exceptions import PutError

from chalicelib.kernel.clock import iso
from chalicelib.payments import charge_rules as charge_domain
from chalicelib.kernel.money import format_money
from chalicelib.kernel.errors import NotFound, ValidationFailed
from chalicelib.store import timeline
from chalicelib.store.keys import client_key, debtor_key
from chalicelib.store.models import (
    AgencyModel,
    ClaimModel,
    ClientModel,
    DebtorModel,
    InvoiceModel,
    PaymentModel,
)

log = logging.getLogger("recoup.charges")
RATE_KEYS = ("reference_rate_override", "base_rates", "base_rates_known_through")


def base_rates_for(settings: dict) -> charge_domain.BaseRateTable:
    """Bank Rate table: the built-in one, extended by the client's settings.

    `base_rates` ({"YYYY-MM-DD": "3.75", ...}) with `base_rates_known_through` adds changes;
    `reference_rate_override` ("3.75") is the rate for every date after the known table,
    so statutory interest keeps working past BOE_KNOWN_THROUGH (e.g. in 2026).
    """
    changes = dict(charge_domain.BOE_BASE_RATES)
    known = charge_domain.BOE_KNOWN_THROUGH
    for day, rate in (settings.get("base_rates") or {}).items():
        changes[date.fromisoformat(day)] = Decimal(str(rate))
    if settings.get("base_rates_known_through"):
        known = max(known, date.fromisoformat(settings["base_rates_known_through"]))
    if settings.get("reference_rate_override") is not None:
        changes[known + timedelta(days=1)] = Decimal(str(settings["reference_rate_override"]))
        known = date(9999, 12, 31)
    return charge_domain.BaseRateTable.from_mapping(changes, known)


def policy_for(client: ClientModel) -> charge_domain.ChargePolicy | None:
    raw = dict((client.settings or {}).get("charges") or {})
    for k in RATE_KEYS:
        raw.pop(k, None)
    if not raw:
        return None
    try:
        return charge_domain.ChargePolicy.from_dict(raw)
    except charge_domain.ChargeError as exc:
        log.warning("client %s: bad charge policy (%s)", client.client_id, exc)
        return None


def _chargeable(inv: InvoiceModel, consumer: bool) -> charge_domain.ChargeableInvoice:
    return charge_domain.ChargeableInvoice(inv.invoice_id, date.fromisoformat(inv.issue_date),
                                           date.fromisoformat(inv.due_date),
                                           int(inv.balance_minor), inv.currency, consumer)


def discount_for(policy: charge_domain.ChargePolicy, inv: InvoiceModel, today: date) -> int:
    return charge_domain.early_discount(policy, _chargeable(inv, False), today)


def charge_id_for(charge_key: str) -> str:
    return "c" + hashlib.sha256(charge_key.encode()).hexdigest()[:24]


def render(p: PaymentModel) -> dict:
    a = p.allocations or {}
    return {"id": p.payment_id, "key": a.get("key"), "invoice_id": a.get("invoice_id"),
            "kind": a.get("kind"), "amount_minor": int(p.amount_minor), "currency": p.currency,
            "description": a.get("description"), "status": a.get("status", "due"),
            "period_start": a.get("period_start"), "period_end": a.get("period_end"),
            "waived": a.get("waived")}


def list_charges(agency_id: str, client_id: str, debtor_id: str) -> list[dict]:
    return [render(p) for p in PaymentModel.query(debtor_key(agency_id, client_id, debtor_id),
                                                  consistent_read=True) if p.kind == "charge"]


def accrue_for_client(agency_id: str, client: ClientModel, now: datetime) -> list[str]:
    """Claim and record every charge now due on the client's open invoices; returns the
    keys newly charged. Safe to run any number of times."""
    policy = policy_for(client)
    if policy is None or policy.kind == "none":
        return []
    rates = base_rates_for((client.settings or {}).get("charges") or {})
    today = now.date()
    latest_due = (today - timedelta(days=policy.grace_days + 1)).isoformat()
    ckey = client_key(agency_id, client.client_id)
    due = InvoiceModel.open_by_due.query(ckey, InvoiceModel.due_sort < latest_due + "#\uffff")
    made: list[str] = []
    kinds: dict[str, bool] = {}
    charged: dict[str, list[dict]] = {}
    for inv in due:
        if inv.status == "disputed":
            continue  # a disputed invoice is not chased
        if inv.debtor_id not in kinds:
            try:
                kinds[inv.debtor_id] = DebtorModel.get(ckey, inv.debtor_id).kind == "consumer"
            except DebtorModel.DoesNotExist:
                continue
        dkey = inv.debtor_key
        if inv.debtor_id not in charged:
            charged[inv.debtor_id] = list_charges(agency_id, client.client_id, inv.debtor_id)
        already = frozenset(c["key"] for c in charged[inv.debtor_id]
                            if c["invoice_id"] == inv.invoice_id and c["key"])
        try:
            found = charge_domain.due_charges(policy, _chargeable(inv, kinds[inv.debtor_id]),
                                              today, already, rates)
        except charge_domain.ChargeError as exc:
            log.warning("invoice %s: %s", inv.invoice_id, exc)
            continue
        for charge in found:
            if _record(agency_id, client.client_id, inv, dkey, charge, now):
                made.append(charge.key)
    return made


def _record(agency_id: str, client_id: str, inv: InvoiceModel, dkey: str,
            charge: charge_domain.Charge, now: datetime) -> bool:
    claim = f"{agency_id}#{client_id}#charge#{charge.key}"
    try:
        ClaimModel(claim, status="done", result={"invoice_id": inv.invoice_id},
                   created_at=iso(now)).save(condition=ClaimModel.claim_key.does_not_exist())
    except PutError:
        pass  # claimed before: the conditional put below decides (crash-safe, never twice)
    item = PaymentModel(dkey, charge_id_for(charge.key), kind="charge", source="policy",
                        amount_minor=charge.amount_minor, currency=charge.currency,
                        received_on=charge.period_end.isoformat(),
                        allocations={**charge.to_dict(), "status": "due"},
                        external_ref=inv.number, created_at=iso(now))
    try:
        item.save(condition=PaymentModel.payment_id.does_not_exist())
    except PutError:
        return False
    timeline.record(agency_id, client_id, inv.debtor_id, "charge",
                    f"{charge.description}: {format_money(charge.amount_minor, charge.currency)} "
                    f"on invoice {inv.number}", actor="system",
                    data={"charge_id": item.payment_id, "invoice_id": inv.invoice_id}, at=now)
    return True


def waive(agency_id: str, client_id: str, debtor_id: str, charge_id: str, *, reason: str,
          actor: str, now: datetime) -> dict:
    try:
        item = PaymentModel.get(debtor_key(agency_id, client_id, debtor_id), charge_id,
                                consistent_read=True)
    except PaymentModel.DoesNotExist:
        raise NotFound("charge") from None
    if item.kind != "charge":
        raise NotFound("charge")
    a = dict(item.allocations or {})
    if a.get("status") == "waived":
        return render(item)
    if not reason.strip():
        raise ValidationFailed.one("reason", "say why the charge is waived")
    a.update(status="waived", waived={"by": actor, "at": iso(now), "reason": reason})
    item.allocations = a
    item.save()
    timeline.record(agency_id, client_id, debtor_id, "charge_waived",
                    f"Charge waived: {format_money(int(item.amount_minor), item.currency)} "
                    f"({reason})", actor=actor, data={"charge_id": charge_id}, at=now)
    return render(item)


def accrue_all(now: datetime) -> int:
    """The periodic job: every client of every agency. The agency directory is read with a
    Scan (a handful of tenant items, never the books); everything else is a Query."""
    count = 0
    for agency in AgencyModel.scan(attributes_to_get=["agency_id"]):
        for client in ClientModel.query(agency.agency_id):
            if not client.archived:
                count += len(accrue_for_client(agency.agency_id, client, now))
    return count
