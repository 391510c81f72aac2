"""Stripe webhooks: the raw body and Stripe-Signature go to fulfilment untouched."""
from __future__ import annotations

from chalice import Blueprint, Response

from chalicelib.kernel.clock import utcnow

bp = Blueprint(__name__)


def _json(body: dict, status: int) -> Response:
    return Response(body=body, status_code=status, headers={"Content-Type": "application/json"})


@bp.route("/webhooks/stripe", methods=["POST"],
          content_types=["application/json", "application/json; charset=utf-8"])
def stripe_webhook():
    from chalicelib.payments import fulfilment
    from chalicelib.payments.stripe_gateway import BadEvent, SignatureError

    req = bp.current_request
    raw = req.raw_body or b""
    try:
        result = fulfilment.handle(raw, req.headers.get("stripe-signature"), utcnow())
    except SignatureError as exc:
        return _json({"error": {"code": "bad_signature",
                                "message": f"signature verification failed: {exc}"}}, 400)
    except BadEvent as exc:
        return _json({"error": {"code": "bad_event", "message": str(exc)}}, 400)
    except fulfilment.Busy:
        return _json({"error": {"code": "in_progress",
                                "message": "this event is being handled; retry later"}}, 409)
    return _json(result, 200)
