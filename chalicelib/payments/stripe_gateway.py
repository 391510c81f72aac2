"""Stripe: Checkout Sessions, webhook signature verification, and signing events exactly as
Stripe does.

Fail closed: the real Stripe API is used in every deployed stage, with the secret key from
STRIPE_SECRET_KEY or the SSM parameter named by STRIPE_SECRET_KEY_PARAM; a deployed stage
with neither refuses to start a payment (PaymentsUnavailable, 503). The local test checkout
(local/checkout.py, never deployed) stands in for Stripe only in the local and test stages,
decided by the stage, and only when app.py installed it there."""
from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from chalicelib.kernel.money import exponent
from chalicelib.kernel.errors import RecoupError
from chalicelib.kernel.naming import is_local_stage
from chalicelib.kernel.settings import _secret, get_settings

TOLERANCE_SECONDS = 300
_http_client: Any = None  # tests inject a stripe.HTTPClient returning Stripe-shaped bodies


class SignatureError(ValueError):
    """The webhook body or its Stripe-Signature header did not verify."""


class BadEvent(ValueError):
    """A verified webhook body that is not a Stripe event we can read (400, nothing done)."""


class PaymentsUnavailable(RecoupError):
    """A deployed stage without its Stripe secret: no payment starts (never a test path)."""

    status = 503
    code = "payments_unavailable"


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str
    local: bool


def webhook_secret() -> str:
    return _secret("STRIPE_WEBHOOK_SECRET", get_settings().stage)


# The local test checkout (local/checkout.py): installed by app.py in local stages only.
_local_checkout: Any = None


def install_local_checkout(provider: Any) -> None:
    """Let `provider.create_session(...)` stand in for Stripe Checkout. Refused outside the
    local and test stages, whatever the caller."""
    global _local_checkout
    if provider is not None and not is_local_stage(get_settings().stage):
        raise RuntimeError(f"the local test checkout cannot run in stage "
                           f"{get_settings().stage!r}")
    _local_checkout = provider


def is_local() -> bool:
    """The local test checkout is in use: a local stage with no real Stripe key set. In a
    deployed stage this is False whatever the environment holds."""
    return is_local_stage(get_settings().stage) and not os.environ.get("STRIPE_SECRET_KEY")


_secret_key_cache: dict[str, str] = {}


def secret_key() -> str:
    """Stripe's secret key, or PaymentsUnavailable: there is no fallback."""
    key = os.environ.get("STRIPE_SECRET_KEY")
    if key:
        return key
    param = os.environ.get("STRIPE_SECRET_KEY_PARAM")
    if not param:
        raise PaymentsUnavailable(
            "card payments are not configured on this server (STRIPE_SECRET_KEY_PARAM is "
            "not set); no payment was started")
    if param not in _secret_key_cache:
        try:
            value = _secret("STRIPE_SECRET_KEY", get_settings().stage)
        except Exception as exc:  # SSM unreachable, parameter missing, no permission
            raise PaymentsUnavailable(
                f"card payments are not configured on this server (the Stripe secret "
                f"{param} could not be read: {type(exc).__name__}); no payment was "
                f"started") from None
        if not value:
            raise PaymentsUnavailable(f"the Stripe secret {param} is empty")
        _secret_key_cache[param] = value
    return _secret_key_cache[param]


def use_http_client(client: Any) -> None:
    """Route Stripe API calls through `client` (tests); None restores the default."""
    global _http_client
    _http_client = client


def _client():
    import stripe  # slow to import: only where payments happen

    return stripe.StripeClient(secret_key(), http_client=_http_client)


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
                    key: str, return_url: str, now: Any, customer_email: str | None = None
                    ) -> CheckoutSession:
    """A Checkout Session for an amount the caller computed from the database."""
    amount = to_stripe_amount(amount_minor, currency)
    if is_local():
        if _local_checkout is None:
            raise PaymentsUnavailable("no Stripe key and no local test checkout installed")
        return _local_checkout.create_session(key=key, return_url=return_url,
                                              amount_minor=amount_minor, currency=currency,
                                              metadata=metadata, now=now)
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
    """The session as Stripe has it now (None locally: the signed event is the state). In a
    deployed stage Stripe is always asked, whatever the id looks like."""
    if is_local():
        return None
    return _client().v1.checkout.sessions.retrieve(session_id).to_dict()


def retrieve_payment_intent_metadata(payment_intent: str) -> dict:
    if is_local() or not payment_intent:
        return {}
    return dict(_client().v1.payment_intents.retrieve(payment_intent).metadata or {})


def verify_event(raw_body: bytes | str, signature: str | None, now: datetime) -> dict:
    """Verify Stripe-Signature over the raw body as Stripe specifies (HMAC-SHA256 of
    "{t}.{body}" with the webhook secret, any v1 may match) and that `t` is within the
    tolerance of `now` on either side: a signature dated in the future is refused too.
    SignatureError before anything changes; BadEvent for a verified body that is not an
    event object."""
    raw = raw_body.encode() if isinstance(raw_body, str) else bytes(raw_body or b"")
    try:
        payload = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SignatureError("the body is not UTF-8") from None
    stamp, candidates = _parse_signature(signature or "")
    if stamp is None or not candidates:
        raise SignatureError("no t= timestamp or v1= signature in Stripe-Signature")
    expected = hmac.new(webhook_secret().encode(), f"{stamp}.{payload}".encode(),
                        hashlib.sha256).hexdigest()
    if not any(hmac.compare_digest(expected, c) for c in candidates):
        raise SignatureError("no v1 signature matches the body")
    skew = now.timestamp() - stamp
    if skew > TOLERANCE_SECONDS:
        raise SignatureError(f"signature is older than {TOLERANCE_SECONDS} s")
    if skew < -TOLERANCE_SECONDS:
        raise SignatureError(f"signature is dated more than {TOLERANCE_SECONDS} s ahead")
    try:
        event = json.loads(payload)
    except (ValueError, RecursionError):
        raise BadEvent("the body is not JSON") from None
    if not isinstance(event, dict):
        raise BadEvent("the body is not an event object")
    return event


def _parse_signature(header: str) -> tuple[int | None, list[str]]:
    stamp, v1 = None, []
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and value.isdigit() and len(value) <= 12:
            stamp = int(value)
        elif key == "v1" and value:
            v1.append(value)
    return stamp, v1


def sign(payload: str, secret: str | None, timestamp: int) -> str:
    """A Stripe-Signature header: t=..., v1=HMAC_SHA256(secret, f"{t}.{payload}"); the
    webhook secret when `secret` is None. The caller passes the time."""
    t = int(timestamp)
    mac = hmac.new((secret or webhook_secret()).encode(), f"{t}.{payload}".encode(),
                   hashlib.sha256).hexdigest()
    return f"t={t},v1={mac}"
