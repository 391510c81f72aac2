"""Hosted debtor pages: server-rendered, no login, reached by a signed link (/d/{token}).
The local test checkout adds its pages through `guard` (local/checkout.py, local stages only)."""
from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qs

from chalice import Blueprint, Response

from chalicelib.kernel import templating
from chalicelib.kernel.clock import utcnow
from chalicelib.kernel.money import format_money
from chalicelib.kernel.errors import Conflict, RecoupError, ValidationFailed
from chalicelib.payments import debtor_page
from chalicelib.payments import links, plans
from chalicelib.kernel.settings import get_settings

bp = Blueprint(__name__)
log = logging.getLogger("recoup.debtor_pages")
FORM = ["application/x-www-form-urlencoded"]


def page_headers(nonce: str, content_type: str = "text/html; charset=utf-8") -> dict:
    csp = ("default-src 'none'; "
           f"style-src 'nonce-{nonce}'; img-src https: data:; "
           "form-action 'self' https://checkout.stripe.com; frame-ancestors 'none'; "
           "base-uri 'none'")
    return {"Content-Type": content_type, "Content-Security-Policy": csp,
            "Referrer-Policy": "no-referrer", "X-Content-Type-Options": "nosniff",
            "X-Frame-Options": "DENY", "Cache-Control": "no-store"}


def page(template: str, status: int = 200, **ctx: Any) -> Response:
    nonce = secrets.token_urlsafe(16)
    body = templating.render(f"debtor/{template}", nonce=nonce, **ctx)
    return Response(body=body, status_code=status, headers=page_headers(nonce))


def not_found() -> Response:
    """The one page for tampered, expired, unknown and revoked links (byte-identical)."""
    return Response(body=_not_found_body(), status_code=404, headers=page_headers("nf"))


@lru_cache(maxsize=1)
def _not_found_body() -> str:
    return templating.render("debtor/not_found.html", nonce="nf", brand=None)


def redirect(url: str) -> Response:
    return Response(body="", status_code=303,
                    headers={**page_headers("r"), "Location": url})


def csrf_for(token: str) -> str:
    key = get_settings().link_secret.encode()
    return hmac.new(key, b"csrf:" + links.link_id_of(token).encode(),
                    hashlib.sha256).hexdigest()[:32]


def _form() -> dict:
    raw = bp.current_request.raw_body or b""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    parsed = parse_qs(text, keep_blank_values=True)
    form: dict = {k: v[0] for k, v in parsed.items()}
    form["invoice_ids"] = parsed.get("invoice_ids", [])
    return form


def _client_ip() -> str:
    ctx = bp.current_request.context or {}
    return (ctx.get("identity") or {}).get("sourceIp") or "unknown"


def _base(token: str) -> str:
    return f"{get_settings().public_base_url.rstrip('/')}/d/{token}"


def path_base(token: str) -> str:
    return f"/d/{token}"


def _money(currency: str):
    return lambda minor: format_money(int(minor), currency)


def guard(token: str, view, *, post: bool = False) -> Response:
    """Rate limit, open the link, check CSRF on posts, run the view; every link fault is
    the same 404, every refusal a page."""
    now = utcnow()
    try:
        links.check_rate(_client_ip(), token, now)
    except links.RateLimited as exc:
        limited = page("rate_limited.html", 429, brand=None)
        limited.headers["Retry-After"] = str(exc.retry_after)
        return limited
    try:
        agency_id, client, debtor = links.open_link(token, now)
    except links.LinkNotFound:
        return not_found()
    brand = debtor_page.brand(client)
    form = _form() if post else {}
    if post and not hmac.compare_digest(form.get("csrf", ""), csrf_for(token)):
        return page("message.html", 403, brand=brand, error=True, back=path_base(token),
                     heading="This form has expired", text="Please go back and try again.")
    try:
        return view(agency_id, client, debtor, brand, form, now)
    except (ValidationFailed, Conflict) as err:
        return page("message.html", err.status, brand=brand, error=True,
                     back=path_base(token), heading="Please check and try again",
                     text="; ".join(f.reason for f in err.fields) or err.message)
    except RecoupError as err:
        return page("message.html", err.status, brand=brand, error=True,
                     back=path_base(token), heading="Something went wrong", text=err.message)


def _done(token: str, brand: dict, heading: str, text: str) -> Response:
    return page("message.html", 200, brand=brand, error=False, back=path_base(token),
                 heading=heading, text=text)


@bp.route("/d/{token}", methods=["GET"])
def account(token):
    def view(agency_id, client, debtor, brand, form, now):
        q = bp.current_request.query_params or {}
        flash = "Thank you: your payment has been received." if q.get("paid") else None
        return page("account.html", brand=brand, v=debtor_page.view(agency_id, client, debtor, now),
                     base=path_base(token), csrf=csrf_for(token), flash=flash,
                     attempt_id=debtor_page.new_attempt_id(), money=_money(debtor.currency),
                     rules=plans.rules_for(client))
    return guard(token, view)


@bp.route("/d/{token}/pay", methods=["POST"], content_types=FORM)
def pay(token):
    def view(agency_id, client, debtor, brand, form, now):
        return redirect(debtor_page.start_checkout(agency_id, client, debtor, form, _base(token),
                                               now))
    return guard(token, view, post=True)


@bp.route("/d/{token}/plan", methods=["POST"], content_types=FORM)
def propose_plan(token):
    def view(agency_id, client, debtor, brand, form, now):
        plan = debtor_page.propose_plan(agency_id, client, debtor, form, now)
        text = ("Your plan is active. You can pay each instalment from this page."
                if plan["status"] == "active" else
                "Thank you. We will review your proposal and get back to you.")
        return _done(token, brand, "Payment plan received", text)
    return guard(token, view, post=True)


@bp.route("/d/{token}/promise", methods=["POST"], content_types=FORM)
def promise(token):
    def view(agency_id, client, debtor, brand, form, now):
        when = debtor_page.promise(agency_id, client, debtor, form, now)
        return _done(token, brand, "Thank you for your promise",
                     f"We will not chase you before {when}.")
    return guard(token, view, post=True)


@bp.route("/d/{token}/dispute", methods=["POST"], content_types=FORM)
def dispute(token):
    def view(agency_id, client, debtor, brand, form, now):
        number = debtor_page.dispute(agency_id, client, debtor, form, now)
        return _done(token, brand, "Dispute received",
                     f"We have paused reminders for invoice {number} while we look into it.")
    return guard(token, view, post=True)


@bp.route("/d/{token}/question", methods=["POST"], content_types=FORM)
def question(token):
    def view(agency_id, client, debtor, brand, form, now):
        debtor_page.question(agency_id, client, debtor, form, now)
        return _done(token, brand, "Question sent", "Someone will get back to you soon.")
    return guard(token, view, post=True)


@bp.route("/d/{token}/opt-out", methods=["POST"], content_types=FORM)
def opt_out(token):
    def view(agency_id, client, debtor, brand, form, now):
        channel = debtor_page.opt_out(agency_id, client, debtor, form, now)
        return _done(token, brand, "Done",
                     f"We will no longer contact you by {debtor_page.CHANNELS[channel].lower()}.")
    return guard(token, view, post=True)


@bp.route("/d/{token}/statement.csv", methods=["GET"])
def statement(token):
    def view(agency_id, client, debtor, brand, form, now):
        body = debtor_page.statement_csv(agency_id, client, debtor, now)
        headers = page_headers("csv", "text/csv; charset=utf-8")
        safe = re.sub(r"[^A-Za-z0-9_-]", "_", debtor.account_ref[:40])
        headers["Content-Disposition"] = f"attachment; filename=statement-{safe}.csv"
        return Response(body=body, status_code=200, headers=headers)
    return guard(token, view)
