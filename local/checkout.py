"""The local test checkout: stands in for Stripe Checkout on the embedded stack, so a debtor
link can be paid end to end without Stripe keys. It lives in local/ because it must never
be deployed: `chalice package` ships app.py and chalicelib/ only, app.py installs this
module only in the local and test stages, and the gateway refuses it in any other stage.

Paying here posts a checkout.session.completed event, signed with the webhook secret exactly
as Stripe signs it, to our own /webhooks/stripe: the same path a real payment takes."""
from __future__ import annotations

import hashlib
import json
import logging
import secrets
import urllib.error
import urllib.request
from datetime import datetime
from typing import Any

from chalice import Blueprint, Response

from chalicelib.kernel.clock import iso
from chalicelib.kernel.money import format_money
from chalicelib.payments import stripe_gateway as gw
from chalicelib.payments import pages
from chalicelib.kernel.settings import get_settings
from chalicelib.store.models import ClaimModel
from local import templating

bp = Blueprint(__name__)
log = logging.getLogger("recoup.local_checkout")
FORM = ["application/x-www-form-urlencoded"]
_deliver: Any = None  # tests route local deliveries through their HTTP test client


def install(app: Any) -> None:
    """Serve the local checkout pages and let the gateway use this module (local stages)."""
    gw.install_local_checkout(_Provider())
    app.register_blueprint(bp)


def use_local_delivery(fn: Any) -> None:
    global _deliver
    _deliver = fn


def _key(agency_id: str, session_id: str) -> str:
    return f"{agency_id}#local-session#{session_id}"


class _Provider:
    @staticmethod
    def create_session(*, key: str, return_url: str, amount_minor: int, currency: str,
                       metadata: dict, now: datetime) -> gw.CheckoutSession:
        session_id = "cs_local_" + hashlib.sha256(key.encode()).hexdigest()[:24]
        record = {"session_id": session_id, "amount_minor": amount_minor,
                  "currency": currency, "metadata": metadata}
        ClaimModel(_key(metadata["agency_id"], session_id), status="open", result=record,
                   created_at=iso(now)).save()
        return gw.CheckoutSession(session_id, f"{return_url}/checkout/{session_id}", True)


def local_session(agency_id: str, debtor_id: str, session_id: str) -> dict | None:
    try:
        item = ClaimModel.get(_key(agency_id, session_id), consistent_read=True)
    except ClaimModel.DoesNotExist:
        return None
    if item.result.get("metadata", {}).get("debtor_id") != debtor_id:
        return None
    return {**item.result, "status": item.status}


def close_local_session(agency_id: str, session_id: str, now: datetime) -> None:
    try:
        item = ClaimModel.get(_key(agency_id, session_id), consistent_read=True)
    except ClaimModel.DoesNotExist:
        return
    item.status, item.updated_at = "paid", iso(now)
    item.save()


def completed_event(session_id: str, record: dict, now: datetime) -> str:
    """A checkout.session.completed event shaped like Stripe's."""
    session = {"id": session_id, "object": "checkout.session", "mode": "payment",
               "status": "complete", "payment_status": "paid",
               "amount_total": record["amount_minor"], "currency": record["currency"].lower(),
               "payment_intent": "pi_local_" + session_id.removeprefix("cs_local_"),
               "metadata": record["metadata"],
               "client_reference_id": record["metadata"].get("attempt_id")}
    return json.dumps({"id": "evt_local_" + secrets.token_hex(12), "object": "event",
                       "api_version": "2024-06-20", "created": int(now.timestamp()),
                       "livemode": False, "type": "checkout.session.completed",
                       "data": {"object": session}}, separators=(",", ":"))


def deliver(payload: str, now: datetime) -> int:
    """Sign `payload` as Stripe does and POST it to our own /webhooks/stripe; the status."""
    # The webhook checks the signature's time against the platform's clock (passed in by
    # its handler), so the local checkout signs on that same, possibly travelled, clock.
    header = gw.sign(payload, None, int(now.timestamp()))
    if _deliver is not None:
        return _deliver(payload, header)
    url = get_settings().public_base_url.rstrip("/") + "/webhooks/stripe"
    req = urllib.request.Request(url, data=payload.encode(), method="POST", headers={
        "Content-Type": "application/json", "Stripe-Signature": header})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - our own URL
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code


def _page(status: int = 200, **ctx: Any) -> Response:
    return templating.page("local_checkout.html", status, **ctx)


@bp.route("/d/{token}/checkout/{session_id}", methods=["GET"])
def checkout_page(token, session_id):
    def view(agency_id, client, debtor, brand, form, now):
        record = local_session(agency_id, debtor.debtor_id, session_id)
        if record is None:
            return pages.not_found()
        return _page(brand=brand, session_id=session_id, session_status=record["status"],
                     base=pages.path_base(token), csrf=pages.csrf_for(token),
                     amount=format_money(record["amount_minor"], record["currency"]))
    return pages.guard(token, view)


@bp.route("/d/{token}/checkout/{session_id}/pay", methods=["POST"], content_types=FORM)
def checkout_pay(token, session_id):
    def view(agency_id, client, debtor, brand, form, now):
        record = local_session(agency_id, debtor.debtor_id, session_id)
        if record is None or not gw.is_local():
            return pages.not_found()
        status = deliver(completed_event(session_id, record, now), now)
        if status != 200:
            log.warning("local checkout %s: webhook answered %s", session_id, status)
            return pages.page("message.html", 502, brand=brand, error=True,
                              back=pages.path_base(token), heading="Payment not confirmed",
                              text="Please try again.")
        close_local_session(agency_id, session_id, now)
        return pages.redirect(f"{pages.path_base(token)}?paid=1")
    return pages.guard(token, view, post=True)
