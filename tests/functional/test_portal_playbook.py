"""The polished portal (labels, money, the debtor list and a debtor's page) and the
handover playbook (HTML and PDF) for the agency and the client's viewer."""
from __future__ import annotations

import re

import pytest

from chalicelib.book import importer
from chalicelib.kernel.pdf import text_of
from chalicelib.store import timeline
from chalicelib.store.keys import client_key
from chalicelib.store.models import DebtorModel
from tests.conftest import BOOKS, FIXED_NOW, bearer
from tests.functional.test_portal import _other_viewer
from tests.page_support import session


def _debtor(a, name: str) -> DebtorModel:
    return next(d for d in DebtorModel.query(client_key(a.agency_id, a.client_id))
                if d.name == name)


def _get(http, path, token):
    r = http.http.get(path, headers=bearer(token))
    return r, r.body.decode(errors="replace")


def test_the_dashboard_shows_labels_and_money_never_storage_keys(http, book):
    a, _ = book
    r, text = _get(http, f"/portal/clients/{a.client_id}", a.viewer)
    assert r.status_code == 200
    change = text[text.index('id="takeover"'):text.index('id="definitions"')]
    # THEN every figure of "since the agency took over" has a name a person reads
    assert "1–30 days past due" in change and "Collected in the period" in change
    assert "Receivables" in change and "DSO (countback)" in change
    visible = re.sub(r"<[^>]+>", " ", text)  # what is on the screen, not attributes
    for raw in ("aging.1_30", "collected.total_minor", "_minor", "receivables_minor"):
        assert raw not in visible, raw
    # and amounts are money in the client's currency, not minor units
    assert re.search(r"£[\d,]+\.\d\d", change)
    assert "Amounts in minor units" not in text
    # and the definitions are rendered, not raw docstring markup
    defs = text[text.index('id="definitions"'):]
    assert "``" not in defs and "<code>months</code>" in defs and "<dt>DSO (countback)</dt>" in defs
    # and the period reads as dates in the client's locale
    assert re.search(r"period 1–25 Nov 2026 \(25 days\)", text)


def test_a_report_before_the_takeover_says_so_instead_of_negative_days(http, book):
    from chalicelib.reporting import store as report_store

    a, _ = book
    # GIVEN the agency took the book over on 1 December (the baseline of that day)
    baseline = report_store.get_item(a.agency_id, a.client_id, "baseline")
    report_store.put_item(a.agency_id, a.client_id, "baseline",
                          {**baseline, "as_of": "2026-12-01"}, FIXED_NOW)
    # WHEN the viewer reads the November report
    r, text = _get(http, f"/portal/clients/{a.client_id}/monthly?month=2026-11", a.viewer)
    assert r.status_code == 200
    # THEN it says the takeover came after it, and counts no negative days
    assert "-1 days" not in text and not re.search(r"\(\d{4}-\d\d-\d\d, -?\d+ days\)", text)
    assert "The agency took over on 1 December 2026, after this report" in text
    assert 'id="change"' not in text
    assert "Monthly receivables report — November 2026" in text


def test_the_debtor_list_searches_sorts_and_drills_down(http, book):
    a, _ = book
    base = f"/portal/clients/{a.client_id}/debtors"
    # WHEN the viewer searches for a name
    r, text = _get(http, base + "?q=saltmarsh", a.viewer)
    assert r.status_code == 200
    names = re.findall(r'<tr><td><a href="[^"]+">([^<]+)</a>', text)
    assert names and all("saltmarsh" in n.lower() for n in names)
    assert "match “saltmarsh”" in text
    # and by account reference, any case
    _, text = _get(http, base + "?q=d0002", a.viewer)
    assert re.findall(r'<tr><td><a href="[^"]+">([^<]+)</a>', text) == ["Pinecrest Logistics"]
    # WHEN they sort by name, then the reverse
    _, text = _get(http, base + "?sort=name", a.viewer)
    names = re.findall(r'<tr><td><a href="[^"]+">([^<]+)</a>', text)
    assert names == sorted(names, key=str.casefold) and len(names) > 10
    _, text = _get(http, base + "?sort=-name", a.viewer)
    rev = re.findall(r'<tr><td><a href="[^"]+">([^<]+)</a>', text)
    assert rev[0].casefold() >= rev[-1].casefold() and 'aria-sort="descending"' in text
    # the default is the most overdue first
    _, text = _get(http, base, a.viewer)
    overdue = [d.overdue_minor for d in sorted(
        DebtorModel.query(client_key(a.agency_id, a.client_id)),
        key=lambda d: -int(d.overdue_minor))]
    first = re.search(r'<tr><td><a href="[^"]+">[^<]+</a></td><td>[^<]*</td><td>[^<]*</td>'
                      r'<td class="n">[^<]+</td><td class="n">([^<]+)</td>', text).group(1)
    assert first == f"£{int(overdue[0]) / 100:,.2f}"
    # WHEN they open a debtor THEN they see its open invoices and what happened
    d = _debtor(a, "Pinecrest Logistics")
    timeline.record(a.agency_id, a.client_id, d.debtor_id, "note", "internal: CFO is difficult",
                    actor="sam", at=FIXED_NOW)
    timeline.record(a.agency_id, a.client_id, d.debtor_id, "touch_sent", "Email sent step due+30#2",
                    actor="system", at=FIXED_NOW,
                    data={"channel": "email", "tone": "firm", "template": "overdue_firm"})
    r, text = _get(http, f"{base}/{d.debtor_id}", a.viewer)
    assert r.status_code == 200
    assert "Pinecrest Logistics" in text and "INV-10001" in text and "£44.48" in text
    assert "Email sent: firm reminder" in text
    assert "CFO is difficult" not in text and "due+30#2" not in text  # agency notes stay inside


def test_no_viewer_opens_another_clients_debtor(http, book):
    a, b = book
    d = _debtor(a, "Pinecrest Logistics")
    path = f"/portal/clients/{a.client_id}/debtors/{d.debtor_id}"
    for token in (_other_viewer(a), b.viewer, b.admin):
        r, text = _get(http, path, token)
        assert r.status_code in (403, 404) and "Pinecrest" not in text
    # nor reaches Acme's debtor through its own client's address
    from chalicelib.agency import clients
    from chalicelib.http.auth import Principal
    from chalicelib.http.schemas import ClientIn, UserIn
    from tests.conftest import _token

    admin = Principal(a.agency_id, f"{a.agency_id}-admin", "admin")
    other = clients.create_client(admin, ClientIn(name="Other", sender_email="o@o.example.com"),
                                  now=FIXED_NOW)
    v = clients.create_user(admin, UserIn(email="v2@o.example.com", name="V", role="client_viewer",
                                          client_id=other["id"]), now=FIXED_NOW)
    token = _token(a.agency_id, v["id"], "client_viewer", other["id"])
    r, text = _get(http, f"/portal/clients/{other['id']}/debtors/{d.debtor_id}", token)
    assert r.status_code == 404 and "Pinecrest" not in text
    r, text = _get(http, f"/portal/clients/{other['id']}/debtors?q=pinecrest", token)
    assert r.status_code == 200 and "Pinecrest" not in text


def test_the_playbook_page_is_written_from_the_live_settings(http, book):
    a, _ = book
    r, text = _get(http, f"/w/clients/{a.client_id}/playbook", a.admin)
    assert r.status_code == 200, text[:500]
    # the cadence steps as a timeline
    cadence = text[text.index('id="cadence"'):text.index('id="templates"')]
    assert "3 days before the due date" in cadence and "On the due date" in cadence
    assert "30 days after the due date" in cadence and 'data-step="due+30#2"' in cadence
    # a template rendered for the sample customer, with the client's money
    templates = text[text.index('id="templates"'):text.index('id="scripts"')]
    assert "Sample Customer Ltd" in templates and "£1,200.00" in templates
    assert "{{" not in templates and "INV-1001" in templates
    # call scripts, disputes, escalation and contact rules
    assert "First call: reminders unanswered" in text and "Goods or service not received" in text
    assert "STOP" in text and "Businesses" in text
    # KPI definitions and the before/after figures
    assert "<dt><b>DSO (countback)</b></dt>" in text and "<code>months</code>" in text
    figures = text[text.index('id="figures"'):]
    assert "Since the agency took over" in figures and "Overdue" in figures
    assert re.search(r"£[\d,]+\.\d\d", figures)
    assert "@media print" in text


def test_the_playbook_pdf_has_pages_and_the_clients_name(http, book):
    a, _ = book
    for path, token in ((f"/w/clients/{a.client_id}/playbook.pdf", a.admin),
                        (f"/portal/clients/{a.client_id}/playbook.pdf", a.viewer)):
        r = http.http.get(path, headers=bearer(token))  # no Accept: a plain (ASCII) body
        assert r.status_code == 200 and r.headers["Content-Type"] == "application/pdf"
        assert "attachment" in r.headers["Content-Disposition"]
        data = r.body
        assert data.startswith(b"%PDF-1.4") and data.rstrip().endswith(b"%%EOF")
        data.decode("ascii")  # 7-bit clean
        assert data.count(b"/Type /Page ") >= 3
        text = text_of(data)
        assert "Acme Ltd: collection playbook" in text and "Sample Customer Ltd" in text
        assert "On the due date" in text and "DSO (countback)" in text
        assert "page 1 of" in text


def test_the_playbook_keeps_to_its_tenancy(http, book):
    a, b = book
    for path in (f"/w/clients/{a.client_id}/playbook", f"/w/clients/{a.client_id}/playbook.pdf"):
        for token in (a.outsider, b.admin):
            r = http.http.get(path, headers=bearer(token, Accept="*/*"))
            assert r.status_code in (403, 404) and b"Sample Customer" not in r.body
        assert http.http.get(path, headers=bearer(a.viewer, Accept="*/*")).status_code == 403
    for path in (f"/portal/clients/{a.client_id}/playbook",
                 f"/portal/clients/{a.client_id}/playbook.pdf"):
        for token in (_other_viewer(a), b.viewer):
            r = http.http.get(path, headers=bearer(token, Accept="*/*"))
            assert r.status_code == 404 and b"Acme" not in r.body
    # the viewer reads its own with its page session
    cookie = session(http, "/portal/login", a.viewer)
    r = http.http.get(f"/portal/clients/{a.client_id}/playbook", headers=cookie)
    assert r.status_code == 200 and b"collection playbook" in r.body


def test_the_playbook_follows_the_clients_own_cadences_and_charges(http, book):
    from chalicelib.store.models import ClientModel

    a, _ = book
    # GIVEN Acme charges statutory interest and chases its "retail" segment on its own cadence
    c = ClientModel.get(a.agency_id, a.client_id)
    c.settings = {**(c.settings or {}), "charges": {"kind": "uk_statutory"},
                  "brand": {"payment_terms": "30 days from the invoice date"},
                  "cadences": {"gentle": {"id": "gentle", "name": "Gentle retail", "min_gap_days": 5,
                                          "steps": [{"key": "d+10", "offset_days": 10, "channel": "email",
                                                     "template": "friendly", "tone": "friendly"}]}},
                  "segment_cadences": {"retail": "gentle"},
                  "escalation": {"days_past_due": 60, "min_amount_minor": 10_000}}
    c.save()
    r, text = _get(http, f"/w/clients/{a.client_id}/playbook", a.admin)
    assert r.status_code == 200
    # THEN the playbook says so
    assert "30 days from the invoice date" in text and "Statutory interest" in text
    assert "Gentle retail" in text and "segments: retail" in text
    assert "10 days after the due date" in text and "At least 5 days" in text
    assert "60 days or more past due" in text and "£100.00" in text
    # and the workspace's clients page links to it
    listing = http.http.get("/w/clients", headers=bearer(a.admin)).body.decode()
    assert f"/w/clients/{a.client_id}/playbook" in listing
