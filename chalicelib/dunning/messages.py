"""Rendering reminders: templates (packaged under chalicelib/templates, overridable per
client in a sandbox), the client's brand, amounts and dates in the debtor's locale."""
from __future__ import annotations

import csv
import io
import json
import logging
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency
from jinja2 import (ChoiceLoader, DictLoader, FileSystemLoader, StrictUndefined, TemplateError,
                    TemplateNotFound, select_autoescape)
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from chalicelib.dunning.channels import Attachment
from chalicelib.dunning import contact_window as cw
from chalicelib.kernel.money import to_major
from chalicelib.payments.links import debtor_link
from chalicelib.store.models import ClientModel, DebtorModel, InvoiceModel

log = logging.getLogger("recoup.messages")
TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str = ""
    attachments: tuple[Attachment, ...] = ()


@lru_cache(maxsize=64)
def _env(overrides: str) -> ImmutableSandboxedEnvironment:
    # Client overrides are untrusted text: the sandbox keeps them from reaching Python.
    return ImmutableSandboxedEnvironment(
        loader=ChoiceLoader([DictLoader(json.loads(overrides)), FileSystemLoader(TEMPLATES)]),
        autoescape=select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        trim_blocks=False, keep_trailing_newline=True)


def sandbox(overrides: dict[str, str] | None = None) -> ImmutableSandboxedEnvironment:
    """The one sandbox for client-supplied templates: these overrides in front of ours."""
    return _env(json.dumps(overrides or {}, sort_keys=True))


def environment(client: ClientModel) -> ImmutableSandboxedEnvironment:
    return sandbox((client.settings or {}).get("templates") or {})


def locale_for(client: ClientModel, debtor: DebtorModel) -> Locale:
    """One locale per debtor, used by every message and page: the client's language (its
    settings["locale"], e.g. "de"; else English, the templates' language) as written in
    the debtor's country, so a British debtor of a US client reads "10 Aug 2026" and a
    German one "9.661,18 €" in an English sentence; else that language alone."""
    return _locale((client.settings or {}).get("locale"), debtor.country or client.country)


def client_locale(client: ClientModel) -> Locale:
    """The client's own locale (its language in its country): the portal and the playbook
    show the client's figures and dates in it, by the same rule as a debtor's."""
    return _locale((client.settings or {}).get("locale"), client.country)


def _locale(wanted: str | None, country_code: str | None) -> Locale:
    country = (country_code or "")[:2].upper()
    try:
        base = Locale.parse(wanted or "en")  # the templates' language unless the client says
    except (ValueError, TypeError, UnknownLocaleError):
        base = Locale.parse("en")
    candidates = []
    if base is not None and country:
        candidates.append(f"{base.language}_{country}")
    if base is not None:
        candidates.append(str(base))
    if country:
        candidates.append(f"und_{country}")
    for code in candidates:
        try:
            return Locale.parse(code)
        except (ValueError, UnknownLocaleError):
            continue
    return Locale.parse("en_GB")


def money(minor: int, currency: str, locale: Locale) -> str:
    return format_currency(to_major(minor, currency), currency, locale=locale)


def brand(client: ClientModel) -> dict:
    b = (client.settings or {}).get("brand") or {}
    display = b.get("display_name") or client.brand_name or client.name
    agency = None if b.get("white_label") else b.get("agency_name")
    return {"display_name": display,
            # how every message is signed: the agency on the client's behalf, or white-label
            "sign_off": b.get("signature") or (f"{agency}, on behalf of {display}" if agency
                                               else f"Accounts team, {display}"),
            "sender": client.sender_email, "reply_to": client.reply_to,
            "signature": b.get("signature"), "logo_url": b.get("logo_url"),
            "agency_name": agency,
            "payment_terms": b.get("payment_terms")}


def context(client: ClientModel, debtor: DebtorModel, invoices: list[InvoiceModel],
            now: datetime, tz: str, *, contact_name: str | None = None, tone: str = "friendly",
            channel: str = "email", **extra) -> dict:
    loc = locale_for(client, debtor)
    today = cw.local_date(now, tz)
    agency_id, client_id = debtor.client_key.split("#", 1)
    link = debtor_link(agency_id, client_id, debtor.debtor_id, now)
    rows = [{"number": i.number, "due": format_date(date.fromisoformat(i.due_date), "medium",
                                                    locale=loc),
             "amount": money(int(i.balance_minor), i.currency, loc),
             "days_overdue": max(0, (today - date.fromisoformat(i.due_date)).days),
             "overdue": date.fromisoformat(i.due_date) < today}
            for i in sorted(invoices, key=lambda i: (i.due_date, i.number))]
    total = money(sum(int(i.balance_minor) for i in invoices), debtor.currency, loc)
    # Overdue on the send date in the debtor's zone: a message listing an invoice that
    # falls due tomorrow must not call it overdue.
    overdue = [i for i in invoices if date.fromisoformat(i.due_date) < today]
    return {"brand": brand(client), "debtor_name": debtor.name, "contact_name": contact_name,
            "invoices": rows, "total": total, "link": link, "overdue_count": len(overdue),
            "overdue_total": money(sum(int(i.balance_minor) for i in overdue), debtor.currency,
                                   loc),
            "opt_out_link": f"{link}/opt-out?channel={channel}", "tone": tone,
            # Only a debtor who was really reminded before may be told "despite our earlier
            # reminders" (a client with first_contact off can start at a final notice).
            "reminded_before": bool(debtor.last_touch_at),
            "today": format_date(today, "long", locale=loc), **extra}


def unsubscribe_headers(client: ClientModel, ctx: dict) -> dict[str, str]:
    """RFC 8058 one-click unsubscribe: the footer's signed opt-out URL (a POST to it opts
    out at once), and a mailto when the client names a mailbox that handles them."""
    targets = [f"<{ctx['opt_out_link']}>"]
    mailbox = (client.settings or {}).get("unsubscribe_mailto")
    if mailbox:
        targets.append(f"<mailto:{mailbox}?subject=unsubscribe>")
    return {"List-Unsubscribe": ", ".join(targets),
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def _pick(env, names: list[str]):
    for name in names:
        try:
            return env.get_template(name)
        except TemplateNotFound:
            continue
    raise TemplateNotFound(names[-1])


def render(client: ClientModel, channel: str, template: str, tone: str, ctx: dict,
           invoices: list[InvoiceModel] | None = None) -> Rendered:
    """Render one message; the email's text template may set `subject`/`attach_statement`.

    A client override that breaks (or tries to escape the sandbox) falls back to ours: a
    typo in an agency's template must not stop the debtor from being reminded.
    """
    try:
        return _render(environment(client), channel, template, tone, ctx, invoices)
    except (TemplateError, SecurityError):
        if not (client.settings or {}).get("templates"):
            raise
        log.warning("client %s template override failed; using the default", client.client_id)
        return _render(_env("{}"), channel, template, tone, ctx, invoices)


def render_checked(client: ClientModel, channel: str, template: str, tone: str, ctx: dict,
                   invoices: list[InvoiceModel] | None = None, *,
                   overrides: dict[str, str | None] | None = None,
                   strict: bool = False) -> Rendered:
    """Render with `overrides` in front of the client's own (None removes one): a proposed
    edit, as the cadence and template editor previews it. A template's error is raised,
    never replaced by ours; `strict` also refuses a name the context does not have."""
    merged = {**((client.settings or {}).get("templates") or {}), **(overrides or {})}
    env = sandbox({k: v for k, v in merged.items() if v is not None})
    if strict:
        env = env.overlay(undefined=StrictUndefined)
    return _render(env, channel, template, tone, ctx, invoices)


def _render(env, channel: str, template: str, tone: str, ctx: dict,
            invoices: list[InvoiceModel] | None) -> Rendered:
    names = [f"{channel}/{template}.txt.j2", f"{channel}/{tone}.txt.j2",
             f"{channel}/{channel}.txt.j2"]
    module = _pick(env, names).make_module(ctx)
    text = str(module).strip() + "\n"
    subject = str(getattr(module, "subject", "") or "")
    if channel != "email":
        return Rendered(subject, text.strip())
    html = _pick(env, [f"email/{template}.html.j2", f"email/{tone}.html.j2"]).render(ctx)
    attachments: tuple[Attachment, ...] = ()
    if getattr(module, "attach_statement", False) and invoices:
        attachments = (statement_csv(ctx, invoices),)
    return Rendered(subject, text, html, attachments)


def statement_csv(ctx: dict, invoices: list[InvoiceModel]) -> Attachment:
    """A CSV statement of the listed open invoices (amounts as formatted in the email)."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["invoice", "due", "outstanding"])
    for row in ctx["invoices"]:
        # A number starting with = + - @ would be a formula in a spreadsheet: neutralise it.
        number = "'" + row["number"] if row["number"][:1] in "=+-@" else row["number"]
        w.writerow([number, row["due"], row["amount"]])
    w.writerow(["total", "", ctx["total"]])
    return Attachment("statement.csv", "text/csv", out.getvalue().encode("utf-8"))
