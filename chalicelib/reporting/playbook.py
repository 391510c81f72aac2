"""The handover playbook: one client's collection procedure, written from its live settings,
so the agency can train the client's own team when the engagement ends.

Everything is read from the rules that run the chasing, never restated: terms, the credit policy
(``behaviour.credit.policy_of``) and charges
(``payments.charges.policy_for``), plans (``payments.plans.rules_for``), cadences
(``dunning.planner.cadence_for`` and the named/segment cadences), every template rendered
through ``dunning.messages.render`` for a sample customer, call scripts (the client's live
version or ours, ``workbench.call_scripts.fill``), disputes (``workbench.disputes``),
escalation (``workbench.escalations.rules_of``), contact windows (``planner.policy_for``),
call caps (``call_rules.DEFAULT_CAPS``), opt-out words, KPI definitions and the client's
figures then and now (``reporting.reports.build``)."""
from __future__ import annotations

import logging
from datetime import date, datetime, timedelta

from jinja2 import TemplateError
from jinja2.sandbox import SecurityError

from chalicelib.behaviour import credit, credit_rules
from chalicelib.behaviour.profile_rules import SEGMENT_LABELS
from chalicelib.dunning import cadence as cad
from chalicelib.dunning import messages, planner
from chalicelib.dunning.opt_out import KEYWORDS as STOP_WORDS
from chalicelib.http.access import load_client, require_staff
from chalicelib.http.auth import Principal
from chalicelib.kernel import pdf
from chalicelib.payments import charges, plans
from chalicelib.reporting import presentation as pres
from chalicelib.reporting import kpis, reports
from chalicelib.reporting.client_portal import Formats, brand
from chalicelib.store.keys import client_key
from chalicelib.store.models import ClientModel, DebtorModel, InvoiceModel
from chalicelib.workbench import call_rules, call_scripts, disputes, escalations

log = logging.getLogger("recoup.playbook")
SAMPLE_NAME = "Sample Customer Ltd"
LINK_PLACEHOLDER = "[the customer's own secure payment link]"
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
TEMPLATE_EXTRAS = (("email", "first_contact", "friendly", "First contact (email)"),
                   ("sms", "first_contact", "friendly", "First contact (text message)"),
                   ("email", "statement", "friendly", "Statement of account (email)"),
                   ("email", "thank_you", "friendly", "Thank you for paying (email)"),
                   ("sms", "thank_you", "friendly", "Thank you for paying (text message)"))


# ------------------------------------------------------------------------------ use cases


def for_agency(p: Principal, client_id: str, *, now: datetime) -> dict:
    """The playbook for agency staff (admins, the client's specialists)."""
    require_staff(p)
    return build(load_client(p, client_id), now=now)


def for_viewer(p: Principal, client_id: str, *, now: datetime) -> dict:
    """The playbook for the client's own viewer (the portal's tenancy: its client only)."""
    return build(load_client(p, client_id, for_reports=True), now=now)


def build(client: ClientModel, *, now: datetime) -> dict:
    fmt = Formats(client)
    settings = client.settings or {}
    sample, invoices = _sample(client, now)
    tz = client.timezone or "UTC"
    ctx = messages.context(client, sample, invoices, now, tz, contact_name="Alex Taylor")
    ctx.update(link=LINK_PLACEHOLDER, opt_out_link="[the customer's own opt-out link]")
    cadences = _cadences(client, sample, fmt)
    return {
        "client": {"id": client.client_id, "name": client.name,
                   "brand_name": brand(client)["name"], "currency": client.currency,
                   "country": client.country, "timezone": tz,
                   "locale": str(fmt.locale)},
        "brand": brand(client),
        "generated": fmt.day(now.date(), "long"),
        "policy": _policy(client, settings, fmt),
        "cadences": cadences,
        "templates": _templates(client, cadences, ctx, fmt),
        "call_scripts": _call_scripts(client, ctx, fmt),
        "disputes": _disputes(),
        "escalation": _escalation(client, fmt),
        "contact": _contact(client, settings, cadences),
        "definitions": pres.definitions({**kpis.DEFINITIONS,
                                         **reports.ACTIVITY_DEFINITIONS}),
        "figures": _figures(client, now.date(), fmt),
    }


# ----------------------------------------------------------------------------- the sample


def _sample(client: ClientModel, now: datetime) -> tuple[DebtorModel, list[InvoiceModel]]:
    """A customer who exists only on paper: two invoices, one overdue, one due soon."""
    today = now.date()
    ckey = client_key(client.agency_id, client.client_id)
    debtor = DebtorModel(ckey, "playbook-sample", account_ref="SAMPLE-1", name=SAMPLE_NAME,
                         currency=client.currency, country=client.country, kind="business",
                         balance_minor=180_000, overdue_minor=120_000, open_invoices=2)
    invoices = [
        InvoiceModel(f"{ckey}#playbook-sample", "s1", debtor_id="playbook-sample",
                     number="INV-1001", issue_date=(today - timedelta(days=44)).isoformat(),
                     due_date=(today - timedelta(days=14)).isoformat(), currency=client.currency,
                     total_minor=120_000, balance_minor=120_000, status="open"),
        InvoiceModel(f"{ckey}#playbook-sample", "s2", debtor_id="playbook-sample",
                     number="INV-1002", issue_date=(today - timedelta(days=20)).isoformat(),
                     due_date=(today + timedelta(days=10)).isoformat(), currency=client.currency,
                     total_minor=60_000, balance_minor=60_000, status="open"),
    ]
    return debtor, invoices


# ------------------------------------------------------------------------------- sections


def _policy(client: ClientModel, settings: dict, fmt: Formats) -> dict:
    b = settings.get("brand") or {}
    terms = b.get("payment_terms") or settings.get("payment_terms")
    charge = charges.policy_for(client)
    rules = plans.rules_for(client)
    lines = []
    if charge is None or charge.kind == "none":
        lines.append("No late fees or interest are charged.")
    elif charge.kind == "fixed":
        lines.append(f"A fixed late fee of {fmt.money(charge.fixed_minor, charge.fixed_currency)}"
                     f" per overdue invoice, after {charge.grace_days} days' grace.")
    elif charge.kind == "percentage":
        lines.append(f"A late fee of {charge.percent}% of the overdue amount, after "
                     f"{charge.grace_days} days' grace.")
    elif charge.kind == "daily_interest":
        lines.append(f"Interest at {charge.annual_rate * 100:.2f}% a year on overdue amounts, "
                     f"after {charge.grace_days} days' grace.")
    elif charge.kind == "uk_statutory":
        lines.append("Statutory interest and fixed compensation under the Late Payment of "
                     "Commercial Debts (Interest) Act 1998 (base rate + 8%), business debtors "
                     "only.")
    if charge is not None and charge.early_discount_percent is not None:
        lines.append(f"Early-payment discount: {charge.early_discount_percent}% when paid "
                     f"within {charge.early_discount_days} days of issue.")
    plan_lines = [f"Up to {rules.max_instalments} instalments, the first due within "
                  f"{rules.max_first_due_days} days, each at least "
                  f"{fmt.money(rules.min_instalment_minor)}.",
                  "Instalments: " + ", ".join(sorted(rules.allowed_intervals)) + "."]
    plan_lines.append(f"Plans under {fmt.money(rules.auto_approve_under_minor)} are approved "
                      "automatically; larger plans wait for the agency's approval."
                      if rules.auto_approve_under_minor else
                      "Every plan the customer proposes waits for the agency's approval.")
    chasing = planner.chasing_mode(client)
    return {
        "terms": terms or "Not stated in the settings: the invoice's own due date applies.",
        "credit": _credit_lines(client, fmt),
        "charges": lines, "plans": plan_lines,
        "thresholds": [
            f"No final notice is sent for a balance under "
            f"{fmt.money(planner.final_notice_min(client))}.",
            f"No call is scheduled for a balance under {fmt.money(planner.call_task_min(client))}.",
        ],
        "first_contact": settings.get("first_contact", True) is not False,
        "thank_you": settings.get("thank_you", True) is not False,
        "chasing": "Chasing is live." if chasing == "active" else
        "Chasing is in preview: nothing is sent until the client is activated.",
    }


def _credit_lines(client: ClientModel, fmt: Formats) -> list[str]:
    """The credit policy as `behaviour.credit` applies it: limits and terms by level, the
    risk band of each segment, and what an alert recommends."""
    pol = credit.policy_of(client)

    def level(t) -> str:
        parts = []
        if t.limit_minor is not None:
            parts.append(f"credit limit {fmt.money(t.limit_minor, t.currency)}")
        if t.terms_days is not None:
            parts.append(f"terms {t.terms_days} days")
        return ", ".join(parts)

    d = level(pol.default)
    out = [f"Every customer: {d}." if d else
           f"No default credit limit; terms {credit_rules.DEFAULT_TERMS_DAYS} days unless an "
           "invoice says otherwise."]
    for name, t in sorted(pol.segments.items()):
        label = SEGMENT_LABELS.get(name, name.replace("_", " "))
        out.append(f"Customers in the '{label}' segment: {level(t)}.")
    out.append("A customer's own limit or terms, when set, come first; then its segment's; "
               "then the default.")
    out.append("Risk bands: " + "; ".join(
        f"{SEGMENT_LABELS[s]} = {credit_rules.BAND_LABELS[b]}"
        for s, b in credit_rules.SEGMENT_BANDS.items()) + ".")
    out.append("When a customer owes more than its limit, or its risk band gets worse, an "
               "alert recommends a credit hold (no new orders on credit) or a review of the "
               "limit; you approve a hold in the portal's Credit page.")
    return out


def _when(offset: int) -> str:
    if offset == 0:
        return "On the due date"
    n = abs(offset)
    unit = "day" if n == 1 else "days"
    return f"{n} {unit} before the due date" if offset < 0 else f"{n} {unit} after the due date"


def _cadence(c: cad.Cadence, used_by: str) -> dict:
    steps = []
    for occ in cad.occurrences(c):
        s = occ.step
        steps.append({"key": occ.key, "offset": occ.day_offset, "when": _when(occ.day_offset),
                      "channel": s.channel,
                      "channel_label": pres.CHANNEL_LABELS.get(s.channel, s.channel),
                      "template": s.template, "tone": s.tone,
                      "repeat": occ.k})
    return {"id": c.id, "name": c.name, "used_by": used_by, "min_gap_days": c.min_gap_days,
            "steps": steps, "definition": cad.to_dict(c)}


def _cadences(client: ClientModel, sample: DebtorModel, fmt: Formats) -> list[dict]:
    """The client's main cadence (what planner.cadence_for gives an account with no
    segment), then each named cadence with the segments that use it."""
    settings = client.settings or {}
    main = planner.cadence_for(client, sample)
    out = [_cadence(main, "every account without a segment or cadence of its own")]
    segments = settings.get("segment_cadences") or {}
    for key, raw in sorted((settings.get("cadences") or {}).items()):
        try:
            c = cad.from_dict(raw)
        except cad.CadenceError:
            continue
        if c.id == main.id and c.steps == main.steps:
            continue
        users = sorted(seg for seg, cid in segments.items() if cid == key)
        out.append(_cadence(c, ("segments: " + ", ".join(users)) if users
                            else "accounts assigned to it by name"))
    return out


def _render(client: ClientModel, channel: str, template: str, tone: str, ctx: dict) -> dict:
    """One message as the dispatcher renders it (a broken override already falls back to
    ours inside messages.render); one that still fails is shown as failing, not hidden."""
    try:
        out = messages.render(client, channel, template, tone, {**ctx, "tone": tone,
                                                                "channel": channel})
        return {"subject": out.subject, "text": out.text, "error": None}
    except (TemplateError, SecurityError, ValueError, TypeError) as exc:
        log.warning("client %s: %s/%s does not render: %s", client.client_id, channel,
                    template, exc)
        return {"subject": "", "text": "", "error": f"{type(exc).__name__}: {exc}"}


def _templates(client: ClientModel, cadences: list[dict], ctx: dict, fmt: Formats) -> list[dict]:
    """Every message the cadences send (calls excepted: those are scripts), then first
    contact, the statement and the thank-you, each rendered for the sample customer."""
    seen, out = set(), []
    for c in cadences:
        for s in c["steps"]:
            if s["channel"] == "call" or s["repeat"]:
                continue
            key = (s["channel"], s["template"], s["tone"])
            if key in seen:
                continue
            seen.add(key)
            out.append({"title": f"{s['when']}: {s['channel_label'].lower()}, {s['tone']} tone",
                        "channel": s["channel"], "template": s["template"], "tone": s["tone"],
                        **_render(client, *key, ctx)})
    for channel, template, tone, title in TEMPLATE_EXTRAS:
        if (channel, template, tone) in seen:
            continue
        extra = {"amount": fmt.money(60_000), "paid_on": ctx["today"]} \
            if template == "thank_you" else {}
        out.append({"title": title, "channel": channel, "template": template, "tone": tone,
                    **_render(client, channel, template, tone, {**ctx, **extra})})
    return out


def _call_scripts(client: ClientModel, ctx: dict, fmt: Formats) -> list[dict]:
    oldest = next((r for r in ctx["invoices"] if r["overdue"]), None)
    call_ctx = {**call_scripts.SAMPLE, **ctx, "channel": "call", "oldest": oldest,
                "days_overdue": oldest["days_overdue"] if oldest else 0,
                "promise": {**call_scripts.SAMPLE["promise"], "amount": fmt.money(120_000),
                            "paid": fmt.money(0)}}
    out = []
    for situation in call_rules.SITUATIONS:
        live = call_scripts.live_version(client.agency_id, client.client_id, situation)
        template = live.template if live else None
        objections = live.objections if live else None
        source = "client" if template is not None or objections is not None else "default"
        try:
            text, objs = call_scripts.fill(messages.sandbox({}), situation, template,
                                           objections, {**call_ctx, "situation": situation})
        except (TemplateError, SecurityError, ArithmeticError, TypeError, ValueError):
            text, objs = call_scripts.fill(messages.sandbox({}), situation, None, None,
                                           {**call_ctx, "situation": situation})
            source = "default"
        out.append({"situation": situation, "title": call_rules.SITUATION_TITLES[situation],
                    "source": source, "text": text, "objections": objs})
    return out


def _disputes() -> dict:
    return {
        "reasons": [{"code": r, "label": disputes.DEBTOR_LABELS.get(r, r)}
                    for r in disputes.REASONS],
        "statuses": [s.replace("_", " ") for s in disputes.STATUSES],
        "rules": [
            "A disputed invoice is not chased: reminders skip it until the dispute is resolved.",
            "A dispute can be raised by the customer on their payment page, in a reply, or by "
            "the specialist on a call; each raises a task to follow it up.",
            "'Waiting on client' means the agency needs your documents (proof of delivery, "
            "the signed order) to answer the customer.",
            "Resolved for the customer: the invoice is credited or corrected in your book. "
            "Resolved for you: chasing resumes from where it stopped.",
        ],
    }


def _escalation(client: ClientModel, fmt: Formats) -> dict:
    rules = escalations.rules_of(client)
    if rules is None:
        return {"enabled": False, "rules": ["This client does not escalate accounts to "
                                            "collections."]}
    return {"enabled": True, "rules": [
        f"An account is proposed for collections when an invoice is {rules['days_past_due']} "
        f"days or more past due and the account owes at least "
        f"{fmt.money(rules['min_amount_minor'])}, or after {rules['broken_promises']} broken "
        f"promises, or when the customer refuses to pay.",
        "Nothing is escalated without the client's approval (the portal's 'Waiting for you').",
        "An approved account is sent a letter before action (with any statutory interest and "
        "compensation), leaves the reminder cadence and becomes a tracked case.",
    ]}


def _clock(t) -> str:
    return t.strftime("%H:%M")


def _contact(client: ClientModel, settings: dict, cadences: list[dict]) -> dict:
    windows = []
    for consumer in (False, True):
        pol = planner.policy_for(client, consumer)
        start, end = pol.hours()
        days = [DAY_NAMES[d] for d in sorted(pol.business_days)]
        windows.append({"who": "Consumers" if consumer else "Businesses",
                        "days": ", ".join(days), "hours": f"{_clock(start)}–{_clock(end)}",
                        "holidays": "not on public holidays" if pol.skip_holidays
                        else "public holidays included"})
    caps = call_rules.DEFAULT_CAPS
    gap = cadences[0]["min_gap_days"] if cadences else 0
    return {
        "timezone": client.timezone or "UTC",
        "windows": windows,
        "caps": [
            f"At most {caps.max_attempts} call attempts in any {caps.window_days} days, and no "
            f"call for {caps.days_after_conversation} days after a conversation.",
            f"At least {gap} days between two messages to one account (the cadence's minimum "
            "gap), whatever the number of invoices.",
            "All times are the customer's local time (the contact's time zone, else the "
            "customer's, else the client's).",
        ],
        "opt_outs": [
            "A customer who asks to stop a channel is never contacted on it again: email "
            "(the unsubscribe link, or a reply asking to stop), text (reply with a stop word) "
            "or calls.",
            "Stop words for text messages: " + ", ".join(sorted(STOP_WORDS)) + ".",
            "Bounced addresses and complaints are suppressed for the whole agency.",
            "With no email or text left, the account becomes a call task.",
        ],
    }


def _figures(client: ClientModel, today: date, fmt: Formats) -> dict:
    report = reports.build(client, today)
    took = report.get("took_over_on")
    return {"as_of": fmt.day(report["as_of"], "long"),
            "takeover": pres.takeover_label(date.fromisoformat(took) if took else None,
                                            today, fmt.locale),
            "rows": pres.change_rows(report.get("change_since_takeover"), fmt.money)}


# ---------------------------------------------------------------------------------- PDF


def pdf_bytes(book: dict) -> bytes:
    """The same document as the HTML page, as text blocks for kernel.pdf."""
    B = pdf.Block
    c = book["client"]
    out = [B("title", f"{c['brand_name']}: collection playbook"),
           B("small", f"Handover document for {c['name']}, generated on {book['generated']} "
                      f"from the live settings. Currency {c['currency']}, time zone "
                      f"{c['timezone']}.")]
    pol = book["policy"]
    out += [B("h1", "1. Credit policy and terms"), B("p", f"Payment terms: {pol['terms']}"),
            B("p", pol["chasing"])]
    out += [B("item", t) for t in pol["credit"] + pol["charges"] + pol["plans"]
            + pol["thresholds"]]
    out.append(B("item", "A first-contact message introduces the agency before any reminder."
                 if pol["first_contact"] else "No first-contact message: reminders start at "
                                               "the cadence's step."))
    out += [B("h1", "2. The cadence")]
    for cadence in book["cadences"]:
        out += [B("h2", f"{cadence['name']} ({cadence['used_by']})"),
                B("small", f"At least {cadence['min_gap_days']} days between two messages.")]
        out += [B("item", f"{s['when']}: {s['channel_label']} — {s['template'].replace('_', ' ')}"
                          f" ({s['tone']}){' — repeat ' + str(s['repeat']) if s['repeat'] else ''}")
                for s in cadence["steps"]]
    out += [B("h1", "3. Templates (rendered for a sample customer)")]
    for t in book["templates"]:
        out.append(B("h2", t["title"]))
        if t["subject"]:
            out.append(B("p", f"Subject: {t['subject']}"))
        out.append(B("mono", t["text"] or t["error"] or ""))
    out += [B("h1", "4. Call scripts")]
    for s in book["call_scripts"]:
        out += [B("h2", s["title"]), B("mono", s["text"])]
        out += [B("item", f"\u201c{o['objection']}\u201d \u2014 {o['answer']}")
                for o in s["objections"]]
    d = book["disputes"]
    out += [B("h1", "5. Disputes and escalation"),
            B("p", "Reasons a customer may give: " + "; ".join(
                f"{r['label']} ({r['code'].replace('_', ' ')})" for r in d["reasons"]) + ".")]
    out += [B("item", r) for r in d["rules"]]
    out += [B("item", r) for r in book["escalation"]["rules"]]
    ct = book["contact"]
    out += [B("h1", "6. Contact rules")]
    out += [B("item", f"{w['who']}: {w['days']}, {w['hours']}, {w['holidays']}.")
            for w in ct["windows"]]
    out += [B("item", r) for r in ct["caps"] + ct["opt_outs"]]
    out += [B("h1", "7. How the figures are defined")]
    out += [B("p", f"{x['label']}: {x['text']}") for x in book["definitions"]]
    f = book["figures"]
    out += [B("h1", "8. Before and after"), B("p", f["takeover"] or
                                              "No baseline stored yet (no full import).")]
    out += [B("item", f"{r['label']}: then {r['then']}, now {r['now']} ({r['change']})")
            for r in f["rows"]]
    return pdf.render(out, title=f"{c['brand_name']} collection playbook",
                      footer=f"{c['brand_name']} collection playbook")
