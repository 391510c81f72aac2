"""Stripe: Checkout Sessions (real API when STRIPE_SECRET_KEY is set, a local test checkout
otherwise), webhook signature verification, and signing events exactly as Stripe does."""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from dataclasses import dataclass
from typing import Any

from chalicelib.domain.money import exponent
from chalicelib.settings import _secret, get_settings

TOLERANCE_SECONDS = 300
_http_client: Any = None  # tests inject a stripe.HTTPClient returning Stripe-shaped bodies


class SignatureError(ValueError):
    """The webhook body or its Stripe-Signature header did not verify."""


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str
    local: bool


def webhook_secret() -> str:
    return _secret("STRIPE_WEBHOOK_SECRET", get_settings().stage)


def is_local() -> bool:
    return not os.environ.get("STRIPE_SECRET_KEY")


def use_http_client(client: Any) -> None:
    """Route Stripe API calls through `client` (tests); None restores the default."""
    global _http_client
    _http_client = client


def _client():
    import stripe  # slow to import: only where payments happen

    return stripe.StripeClient(os.environ["STRIPE_SECRET_KEY"], http_client=_http_client)


def to_stripe_amount(minor: int, currency: str) -> int:
    """Our minor units are Stripe's units: zero-decimal currencies (JPY) are not multiplied.
    Stripe takes three-decimal currencies in thousandths but only in multiples of ten."""
    if exponent(currency) == 3 and minor % 10:
        raise ValueError(f"{currency} amounts must end in 0 for card payments")
    return minor


def idempotency_key(debtor_key: str, invoice_ids: list[str], amount_minor: int, currency: str,
                    attempt_id: str) -> str:
    raw = "\x1f".join([debtor_key, ",".join(sorted(invoice_ids)), str(amount_minor), currency,
                       attempt_id])
    return "recoup-checkout-" + hashlib.sha256(raw.encode()).hexdigest()[:40]


def create_checkout(*, amount_minor: int, currency: str, description: str, metadata: dict,
                    key: str, return_url: str, customer_email: str | None = None
                    ) -> CheckoutSession:
    """A Checkout Session for an amount the caller computed from the database."""
    amount = to_stripe_amount(amount_minor, currency)
    if is_local():
        session_id = "cs_local_" + hashlib.sha256(key.encode()).hexdigest()[:24]
        return CheckoutSession(session_id, f"{return_url}/checkout/{session_id}", True)
    params: dict[str, Any] = {
        "mode": "payment",
        "line_items": [{"quantity": 1, "price_data": {
            "currency": currency.lower(), "unit_amount": amount,
            "product_data": {"name": description[:250]}}}],
        "metadata": metadata,
        "payment_intent_data": {"metadata": metadata},
        "client_reference_id": metadata.get("attempt_id"),
        "success_url": f"{return_url}?paid=1",
        "cancel_url": return_url,
    }
    if customer_email:
        params["customer_email"] = customer_email
    session = _client().v1.checkout.sessions.create(params=params,
                                                     options={"idempotency_key": key})
    return CheckoutSession(session.id, session.url, False)


def retrieve_session(session_id: str) -> dict | None:
    """The session as Stripe has it now (None locally: the signed event is the state)."""
    if is_local() or session_id.startswith("cs_local_"):
        return None
    return _client().v1.checkout.sessions.retrieve(session_id).to_dict()


def retrieve_payment_intent_metadata(payment_intent: str) -> dict:
    if is_local() or not payment_intent or payment_intent.startswith("pi_local_"):
        return {}
    return dict(_client().v1.payment_intents.retrieve(payment_intent).metadata or {})


def verify_event(raw_body: bytes | str, signature: str | None) -> dict:
    """Verify Stripe-Signature over the raw body (300 s tolerance); the event as a dict."""
    import stripe

    payload = raw_body.decode("utf-8") if isinstance(raw_body, bytes) else raw_body
    try:
        event = stripe.Webhook.construct_event(payload, signature or "", webhook_secret(),
                                               tolerance=TOLERANCE_SECONDS)
    except (stripe.SignatureVerificationError, ValueError) as exc:
        raise SignatureError(str(exc)) from None
    return event.to_dict() if hasattr(event, "to_dict") else json.loads(payload)


def sign(payload: str, secret: str | None = None, timestamp: int | None = None) -> str:
    """A Stripe-Signature header: t=..., v1=HMAC_SHA256(secret, f"{t}.{payload}")."""
    t = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new((secret or webhook_secret()).encode(), f"{t}.{payload}".encode(),
                   hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"


# --- the local test checkout -------------------------------------------------------------
_deliver: Any = None  # tests route local deliveries through their HTTP test client


def use_local_delivery(fn: Any) -> None:
    global _deliver
    _deliver = fn


def local_completed_event(session_id: str, record: dict, now: int | None = None) -> str:
    """A checkout.session.completed event shaped like Stripe's, for the local checkout."""
    import secrets

    t = int(time.time()) if now is None else now
    session = {"id": session_id, "object": "checkout.session", "mode": "payment",
               "status": "complete", "payment_status": "paid",
               "amount_total": record["amount_minor"], "currency": record["currency"].lower(),
               "payment_intent": "pi_local_" + session_id.removeprefix("cs_local_"),
               "metadata": record["metadata"],
               "client_reference_id": record["metadata"].get("attempt_id")}
    return json.dumps({"id": "evt_local_" + secrets.token_hex(12), "object": "event",
                       "api_version": "2024-06-20", "created": t, "livemode": False,
                       "type": "checkout.session.completed", "data": {"object": session}},
                      separators=(",", ":"))


def deliver_local(payload: str) -> int:
    """Sign `payload` with the webhook secret exactly as Stripe does and POST it to our own
    /webhooks/stripe; returns the HTTP status."""
    header = sign(payload)
    if _deliver is not None:
        return _deliver(payload, header)
    import urllib.error
    import urllib.request

    url = get_settings().public_base_url.rstrip("/") + "/webhooks/stripe"
    req = urllib.request.Request(url, data=payload.encode(), method="POST", headers={
        "Content-Type": "application/json", "Stripe-Signature": header})
    try:
        with urllib.request.urlopen(req, timeout=30) as resp:  # noqa: S310 - our own URL
            return resp.status
    except urllib.error.HTTPError as exc:
        return exc.code
