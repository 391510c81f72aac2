"""Hosted debtor pages: server-rendered, no login, reached by a signed link (/d/{token}).
The local test checkout adds its pages through `guard` (local/checkout.py, local stages only)."""
from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

from chalice import Blueprint, Response

from chalicelib.http import pages as edge
from chalicelib.kernel import templating
from chalicelib.kernel.clock import utcnow
from chalicelib.kernel.errors import Conflict, RecoupError, ValidationFailed
from chalicelib.payments import debtor_page
from chalicelib.payments import links, plans
from chalicelib.workbench import disputes, promises  # one promise, one dispute for all
from chalicelib.kernel.settings import get_settings

bp = Blueprint(__name__)
log = logging.getLogger("recoup.debtor_pages")
FORM = ["application/x-www-form-urlencoded"]
# RFC 8058: a mail provider's one-click POST may come as either form encoding.
ONE_CLICK = FORM + ["multipart/form-data"]


def page_headers(nonce: str, content_type: str = "text/html; charset=utf-8") -> dict:
    """The page edge's headers, with forms allowed to Stripe Checkout and https images
    (client logos)."""
    return edge.headers(nonce, content_type=content_type, img_src="https: data:",
                        form_action="'self' https://checkout.stripe.com")


def page(template: str, status: int = 200, **ctx: Any) -> Response:
    nonce = edge.new_nonce()
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
    return edge.csrf_token(get_settings().link_secret, "debtor", links.link_id_of(token))


def _form() -> dict:
    parsed = edge.form_lists(bp.current_request)
    form: dict = {k: v[0] for k, v in parsed.items()}
    form["invoice_ids"] = parsed.get("invoice_ids", [])
    return form


def _client_ip() -> str:
    return edge.client_ip(bp.current_request)


def _base(token: str) -> str:
    return f"{get_settings().public_base_url.rstrip('/')}/d/{token}"


def path_base(token: str) -> str:
    return f"/d/{token}"


def guard(token: str, view, *, post: bool = False, csrf: bool = True) -> Response:
    """Rate limit, open the link, check CSRF on posts (unless `csrf` is False: the one-click
    unsubscribe, authenticated by the signed link alone), run the view; every link fault is
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
    try:
        form = _form() if post else {}
    except ValidationFailed:
        form = {}
    if post and csrf and not edge.csrf_ok(form.get("csrf"), csrf_for(token)):
        return page("message.html", 403, brand=brand, error=True, back=path_base(token),
                     heading="This form has expired", text="Please go back and try again.")

    def refused(err: RecoupError) -> Response:
        if isinstance(err, (ValidationFailed, Conflict)):
            heading = "Please check and try again"
            text = "; ".join(f.reason for f in err.fields) or err.message
        else:
            heading, text = "Something went wrong", err.message
        resp = page("message.html", err.status, brand=brand, error=True,
                    back=path_base(token), heading=heading, text=text)
        resp.headers.update(edge.error_extra(err))
        return resp

    return edge.run(lambda: view(agency_id, client, debtor, brand, form, now), refused)


def _done(token: str, brand: dict, heading: str, text: str) -> Response:
    return page("message.html", 200, brand=brand, error=False, back=path_base(token),
                 heading=heading, text=text)


@bp.route("/d/{token}", methods=["GET"])
def account(token):
    def view(agency_id, client, debtor, brand, form, now):
        q = bp.current_request.query_params or {}
        flash = "Thank you: your payment has been received." if q.get("paid") else None
        v = {**debtor_page.view(agency_id, client, debtor, now),
             "reasons": disputes.DEBTOR_LABELS,
             "promise_max": promises.latest_date(
                 debtor_page.local_today(client, debtor, now)).isoformat()}
        money, day = debtor_page.formatters(client, debtor)
        return page("account.html", brand=brand, v=v,
                     base=path_base(token), csrf=csrf_for(token), flash=flash,
                     attempt_id=debtor_page.new_attempt_id(), money=money, day=day,
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
        when = promises.from_debtor(agency_id, client.client_id, debtor,
                                    form.get("promise_date", ""), now)
        return _done(token, brand, "Thank you for your promise",
                     f"We will not chase you before {when}.")
    return guard(token, view, post=True)


@bp.route("/d/{token}/dispute", methods=["POST"], content_types=FORM)
def dispute(token):
    def view(agency_id, client, debtor, brand, form, now):
        number = disputes.from_debtor(agency_id, client.client_id, debtor.debtor_id,
                                      form.get("invoice_id", ""), form.get("reason", ""),
                                      form.get("message"), now)
        return _done(token, brand, "Dispute received",
                     f"We have paused reminders for invoice {number} while we look into it.")
    return guard(token, view, post=True)


@bp.route("/d/{token}/question", methods=["POST"], content_types=FORM)
def question(token):
    def view(agency_id, client, debtor, brand, form, now):
        debtor_page.question(agency_id, client, debtor, form, now)
        return _done(token, brand, "Question sent", "Someone will get back to you soon.")
    return guard(token, view, post=True)


def _opt_out_form(form: dict) -> dict:
    """The channel from the form, else from the link (?channel=email in every message)."""
    q = bp.current_request.query_params or {}
    return {**form, "channel": form.get("channel") or q.get("channel", "")}


@bp.route("/d/{token}/opt-out", methods=["GET"])
def opt_out_confirm(token):
    """The footer link of every email: a confirmation page; nothing changes until POST."""
    def view(agency_id, client, debtor, brand, form, now):
        channel = _opt_out_form({})["channel"]
        return page("opt_out.html", brand=brand, channels=debtor_page.CHANNELS,
                    channel=channel if channel in debtor_page.CHANNELS else None,
                    action=f"{path_base(token)}/opt-out", csrf=csrf_for(token),
                    back=path_base(token))
    return guard(token, view)


@bp.route("/d/{token}/opt-out", methods=["POST"], content_types=ONE_CLICK)
def opt_out(token):
    # No CSRF token here: a provider's one-click POST (RFC 8058) cannot carry one. The
    # signed link is the authority, and opting out again changes nothing.
    def view(agency_id, client, debtor, brand, form, now):
        channel = debtor_page.opt_out(agency_id, client, debtor, _opt_out_form(form), now)
        return _done(token, brand, "You are unsubscribed",
                     f"We will no longer contact you by {debtor_page.CHANNELS[channel].lower()}.")
    return guard(token, view, post=True, csrf=False)


@bp.route("/d/{token}/statement.csv", methods=["GET"])
def statement(token):
    def view(agency_id, client, debtor, brand, form, now):
        body = debtor_page.statement_csv(agency_id, client, debtor, now)
        headers = page_headers("csv", "text/csv; charset=utf-8")
        safe = re.sub(r"[^A-Za-z0-9_-]", "_", debtor.account_ref[:40])
        headers["Content-Disposition"] = f"attachment; filename=statement-{safe}.csv"
        return Response(body=body, status_code=200, headers=headers)
    return guard(token, view)
