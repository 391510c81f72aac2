"""A specialist's debtor work in the workspace: finding a debtor who calls in across their
clients, and on the debtor view recording a payment, a pay link, a note, an escalation, a
plan decision and a dispute's resolution. Each form calls the API's use case, so what the
page did is what the API shows afterwards."""
from __future__ import annotations

import re
from datetime import date
from urllib.parse import unquote, urlencode

import pytest

from tests.conftest import bearer
from tests.functional.test_workbench import _debtor
from tests.page_support import FORM, page_csrf, session


def _api(http, token, path):
    r = http.http.get(path, headers=bearer(token))
    assert r.status_code == 200, (path, r.status_code, r.body)
    return r.json_body


@pytest.fixture
def book(http, tenants):
    """Agency A's client has two debtors; agency B has a debtor with the same account ref,
    invoice number and email domain, which A must never see."""
    a, b = tenants
    page_d, page_inv = _debtor(http, a, "PAGE", "Pageant Ltd", amount=250_000)
    other_d, _ = _debtor(http, a, "QUAY", "Quayside Cafe", amount=80_000)
    b_d, _ = _debtor(http, b, "PAGE", "Pageant Ltd (B's)", amount=99_000)
    return a, b, {"page": page_d, "page_inv": page_inv, "other": other_d, "b": b_d}


def _search(http, cookie, q):
    r = http.http.get("/w/search?" + urlencode({"q": q}), headers=cookie)
    return r.status_code, r.body.decode()


def _result_links(body: str) -> list[str]:
    table = body.split('id="results"', 1)[1] if 'id="results"' in body else ""
    return re.findall(r'href="/w/clients/[^/]+/debtors/([^"]+)"', table)


@pytest.mark.parametrize("q,what", [("PAGE-1", "invoice PAGE-1"), ("page-", "invoice PAGE-1"),
                                    ("page", "account PAGE"),
                                    ("ap@page.example.com", "ap@page.example.com"),
                                    ("020 7946 0000", "+442079460000"),
                                    ("pageant", "Pageant Ltd")])
def test_search_finds_the_debtor_by_invoice_account_email_phone_or_name(http, book, q, what):
    a, _, ids = book
    # GIVEN the assigned specialist is signed in to the workspace
    me = session(http, "/w/login", a.specialist)
    # WHEN they search from the header's box
    status, body = _search(http, me, q)
    # THEN the debtor is listed with what matched, linking to its debtor view
    assert status == 200
    found = _result_links(body)
    assert ids["page"] in found, body
    assert what in body
    assert ids["b"] not in found and "B&#39;s" not in body and "B's" not in body


def test_search_never_shows_another_agencys_or_an_unassigned_clients_debtors(http, book):
    a, b, ids = book
    # GIVEN agency B's admin and A's specialist who is not assigned to A's client
    for token in (b.admin, a.outsider):
        cookie = session(http, "/w/login", token)
        # WHEN they search for A's invoice number and email
        for q in ("PAGE-1", "ap@quay.example.com", "Quayside"):
            status, body = _search(http, cookie, q)
            # THEN none of A's debtors appears
            assert status == 200
            assert ids["page"] not in body and ids["other"] not in body
            assert _result_links(body) == ([ids["b"]] if token == b.admin and q == "PAGE-1"
                                           else [])
            assert "Quayside Cafe" not in body
    # AND the JSON API answers the same, for B finding only B's debtor
    out = _api(http, b.admin, "/v1/search?q=PAGE-1")
    assert [r["debtor_id"] for r in out["items"]] == [ids["b"]]
    assert out["items"][0]["match"] == "invoice"
    assert _api(http, a.admin, "/v1/search?q=quayside")["items"][0]["debtor_id"] == ids["other"]


def test_email_and_phone_find_a_debtor_beyond_the_name_scan_of_a_large_book(
        http, book, monkeypatch):
    """A 20k-debtor book: the name scan stops at its bound, but an email or a phone number
    is looked up in the contact indexes, so every debtor is found and nothing is partial."""
    from chalicelib.book import search

    a, _, ids = book
    monkeypatch.setattr(search, "NAME_SCAN_LIMIT", 1)  # as if the book were huge
    for q, debtor in (("ap@page.example.com", "page"), ("AP@QUAY.example.com", "other"),
                      ("ap@quay", "other")):
        out = _api(http, a.specialist, "/v1/search?" + urlencode({"q": q}))
        assert [r["debtor_id"] for r in out["items"]] == [ids[debtor]], (q, out)
        assert out["items"][0]["match"] == "email" and out["truncated"] is False
    # both debtors share the number: "020 7946 0000" ends "+44 20 7946 0000"
    out = _api(http, a.specialist, "/v1/search?" + urlencode({"q": "020 7946 0000"}))
    assert {r["debtor_id"] for r in out["items"]} == {ids["page"], ids["other"]}
    assert {r["matched"] for r in out["items"]} == {"+442079460000"}
    assert out["truncated"] is False
    # a name is still bounded, and says so
    out = _api(http, a.specialist, "/v1/search?q=ltd")
    assert out["truncated"] is True


def test_a_too_short_search_names_the_field(http, book):
    a, _, _ = book
    status, body = _search(http, session(http, "/w/login", a.specialist), "x")
    assert status == 422 and "q: must be at least 2 characters" in body
    r = http.http.get("/v1/search?q=x", headers=bearer(a.specialist))
    assert r.status_code == 422 and r.json_body["error"]["fields"][0]["field"] == "q"


# ------------------------------------------------------------------------ the debtor view


def _view(http, cookie, a, debtor_id):
    r = http.http.get(f"/w/clients/{a.client_id}/debtors/{debtor_id}", headers=cookie)
    assert r.status_code == 200, r.body
    return r.body.decode()


def _post(http, cookie, a, debtor_id, action, fields):
    path = f"/w/clients/{a.client_id}/debtors/{debtor_id}/{action}"
    csrf = page_csrf(_view(http, cookie, a, debtor_id).encode())
    return http.http.post(path, headers={**cookie, **FORM},
                          body=urlencode({"csrf": csrf, **fields}).encode())


def _flash(r) -> str:
    assert r.status_code == 303, (r.status_code, r.body)
    return unquote(r.headers["Location"].split("msg=", 1)[1].replace("+", " "))


def test_recording_a_payment_lowers_the_balance_the_api_shows(http, book):
    a, _, ids = book
    me = session(http, "/w/login", a.specialist)
    # WHEN the specialist records £1,000.50 received by transfer
    r = _post(http, me, a, ids["page"], "payments", {
        "payment_amount": "1,000.50", "received_on": "2026-11-24", "method": "transfer",
        "reference": "BACS 7781"})
    # THEN the page says so and the API shows the payment and the lower balance
    assert _flash(r) == "Payment of £1,000.50 recorded (received 2026-11-24)."
    path = f"/v1/clients/{a.client_id}/debtors/{ids['page']}"
    pays = _api(http, a.admin, path + "/payments")["items"]
    assert [(x["amount_minor"], x["reference"]) for x in pays] == [(100_050, "BACS 7781")]
    assert _api(http, a.admin, path)["balance_minor"] == 250_000 - 100_050
    assert "£1,499.50" in _view(http, me, a, ids["page"])
    # AND the same payment entered again is not applied twice
    again = _post(http, me, a, ids["page"], "payments", {
        "payment_amount": "1000.50", "received_on": "2026-11-24", "method": "transfer",
        "reference": "BACS 7781"})
    assert "recorded already; not applied again" in _flash(again)
    assert _api(http, a.admin, path)["balance_minor"] == 250_000 - 100_050


def test_a_bad_payment_is_refused_naming_the_field_and_keeps_the_form(http, book):
    a, _, ids = book
    me = session(http, "/w/login", a.specialist)
    r = _post(http, me, a, ids["page"], "payments", {"payment_amount": "12.345", "received_on":
                                                     "2026-11-24", "reference": "X1"})
    body = r.body.decode()
    assert r.status_code == 422 and "amount: " in body and 'value="12.345"' in body
    r = _post(http, me, a, ids["page"], "payments", {"payment_amount": "10", "received_on": ""})
    body = r.body.decode()
    assert r.status_code == 422 and "received_on: Field required" in body
    assert "reference: Field required" in body
    path = f"/v1/clients/{a.client_id}/debtors/{ids['page']}/payments"
    assert _api(http, a.admin, path)["items"] == []


def test_a_note_lands_on_the_timeline_without_a_call(http, book):
    a, _, ids = book
    me = session(http, "/w/login", a.specialist)
    r = _post(http, me, a, ids["page"], "notes", {"text": "FD says remittance is on its way"})
    assert _flash(r) == "Note added."
    path = f"/v1/clients/{a.client_id}/debtors/{ids['page']}/timeline?kind=note"
    notes = _api(http, a.admin, path)["items"]
    assert [n["summary"] for n in notes] == ["FD says remittance is on its way"]
    assert "FD says remittance is on its way" in _view(http, me, a, ids["page"])
    assert _api(http, a.admin, f"/v1/clients/{a.client_id}/tasks")["items"] == []
    empty = _post(http, me, a, ids["page"], "notes", {"text": "  "})
    assert empty.status_code == 422 and "text: " in empty.body.decode()


def test_the_pay_link_is_shown_to_copy(http, book):
    a, _, ids = book
    me = session(http, "/w/login", a.specialist)
    r = _post(http, me, a, ids["page"], "link", {})
    body = r.body.decode()
    assert r.status_code == 200
    url = re.search(r'id="pay-link-url"[^>]*value="([^"]+)"', body).group(1)
    assert "/d/" in url
    # the link opens the debtor's own page
    assert http.http.get(url[url.index("/d/"):]).status_code == 200


def test_escalating_proposes_the_account_and_a_second_time_is_refused(http, book):
    a, _, ids = book
    me = session(http, "/w/login", a.specialist)
    r = _post(http, me, a, ids["page"], "escalation", {"reason": "ignores every contact"})
    assert "Proposed for collections" in _flash(r)
    out = _api(http, a.admin, f"/v1/clients/{a.client_id}/escalations?status=proposed")
    assert [(e["debtor_id"], e["rules"]) for e in out["items"]] == [
        (ids["page"], ["ignores every contact"])]
    view = _view(http, me, a, ids["page"])
    assert "awaiting the client&#39;s decision" in view or "awaiting the client's decision" in view
    # the API refuses a second proposal the same way
    r = http.http.post(f"/v1/clients/{a.client_id}/debtors/{ids['page']}/escalation",
                       headers=bearer(a.specialist), body=b'{"reason": "again"}')
    assert r.status_code == 409 and "proposed before" in r.json_body["error"]["message"]
    # AND the escalations page tracks it with its status
    page = http.http.get("/w/escalations", headers=me).body.decode()
    assert "Pageant Ltd" in page and "awaiting the client" in page
    assert "POST /v1/portal" not in page


def test_a_proposed_plan_is_approved_or_declined_from_the_page(http, book, now):
    from chalicelib.payments import plans
    from chalicelib.store.keys import client_key
    from chalicelib.store.models import ClientModel, DebtorModel

    a, _, ids = book
    client = ClientModel.get(a.agency_id, a.client_id)

    def propose(debtor_id):
        d = DebtorModel.get(client_key(a.agency_id, a.client_id), debtor_id)
        return plans.create_plan(a.agency_id, client, d, instalments=3,
                                 first_due=date(2026, 12, 5), interval="monthly",
                                 source="debtor", actor="debtor", now=now)["id"]

    me = session(http, "/w/login", a.specialist)
    first, second = propose(ids["page"]), propose(ids["other"])
    assert "Approve plan" in _view(http, me, a, ids["page"])
    assert "Payment plan approved" in _flash(
        _post(http, me, a, ids["page"], f"plans/{first}/approve", {}))
    assert "Payment plan declined" in _flash(
        _post(http, me, a, ids["other"], f"plans/{second}/decline", {}))
    base = f"/v1/clients/{a.client_id}/debtors"
    assert [p["status"] for p in _api(http, a.admin, f"{base}/{ids['page']}/plans")["items"]] \
        == ["active"]
    assert [p["status"] for p in _api(http, a.admin, f"{base}/{ids['other']}/plans")["items"]] \
        == ["declined"]
    # deciding again is refused with the reason, on the page and through the API
    again = _post(http, me, a, ids["other"], f"plans/{second}/approve", {})
    assert again.status_code == 409 and "plan is declined" in again.body.decode()
    r = http.http.post(f"{base}/{ids['other']}/plans/{second}/decline",
                       headers=bearer(a.specialist))
    assert r.status_code == 409


def test_a_dispute_is_resolved_from_the_page(http, book):
    a, _, ids = book
    me = session(http, "/w/login", a.specialist)
    base = f"/v1/clients/{a.client_id}/debtors/{ids['page']}"
    d = http.http.post(base + "/disputes", headers=bearer(a.specialist),
                       body=('{"invoice_id": "%s", "reason": "pricing"}' % ids["page_inv"])
                       .encode()).json_body
    # a credit above the balance is refused, naming the field
    r = _post(http, me, a, ids["page"], f"disputes/{d['id']}",
              {"status": "resolved_for_debtor", "credit": "9999"})
    assert r.status_code == 422 and "credit_minor: " in r.body.decode()
    r = _post(http, me, a, ids["page"], f"disputes/{d['id']}",
              {"status": "resolved_for_debtor", "credit": "500", "note": "agreed a discount"})
    assert _flash(r) == "Dispute on invoice PAGE-1: resolved for debtor, credit note £500.00."
    out = _api(http, a.admin, base + "/disputes")["items"]
    assert [(x["status"], x["credit_minor"]) for x in out] == [("resolved_for_debtor", 50_000)]
    assert _api(http, a.admin, base)["balance_minor"] == 200_000


def test_the_header_names_the_user_and_steps_read_as_words(http, book, now):
    from chalicelib.store import timeline

    a, _, ids = book
    timeline.record(a.agency_id, a.client_id, ids["page"], "touch_sent",
                    "Email sent (final, step due+30#2) to ap@page.example.com",
                    actor="system", at=now, data={"template": "final_notice",
                                                  "step": "due+30#2"})
    me = session(http, "/w/login", a.specialist)
    view = _view(http, me, a, ids["page"])
    assert '<span class="who">Sam (specialist)' in view
    assert "Email sent (final notice, 30 days after due, 2nd repeat) to ap@page" in view
    assert "due+30#2" not in view
    # the stored entry is unchanged
    raw = _api(http, a.admin, f"/v1/clients/{a.client_id}/debtors/{ids['page']}/timeline"
                              "?kind=touch_sent")["items"][0]
    assert "step due+30#2" in raw["summary"]


def test_other_callers_cannot_act_on_the_debtor(http, book):
    a, b, ids = book
    for token, status in ((b.admin, 404), (a.outsider, 403)):
        cookie = session(http, "/w/login", token)
        csrf = page_csrf(http.http.get("/w/queue", headers=cookie).body)
        for action, fields in (("payments", {"payment_amount": "10", "received_on": "2026-11-24",
                                             "reference": "X"}),
                               ("notes", {"text": "hi"}), ("link", {}),
                               ("escalation", {"reason": "x"})):
            r = http.http.post(f"/w/clients/{a.client_id}/debtors/{ids['page']}/{action}",
                               headers={**cookie, **FORM},
                               body=urlencode({"csrf": csrf, **fields}).encode())
            assert r.status_code == status, (action, r.status_code)
    base = f"/v1/clients/{a.client_id}/debtors/{ids['page']}"
    assert _api(http, a.admin, base + "/payments")["items"] == []
    assert _api(http, a.admin, base + "/timeline?kind=note")["items"] == []


# --------------------------------------------------- the client decides in its portal


def _portal_post(http, cookie, a, escalation_id, fields):
    page = http.http.get(f"/portal/clients/{a.client_id}/escalations", headers=cookie)
    csrf = page_csrf(page.body)
    return http.http.post(
        f"/portal/clients/{a.client_id}/escalations/{escalation_id}/decision",
        headers={**cookie, **FORM}, body=urlencode({"csrf": csrf, **fields}).encode())


def test_the_client_viewer_approves_or_declines_an_escalation_in_the_portal(http, book):
    from tests.functional.test_portal import _other_viewer

    a, b, ids = book
    me = session(http, "/w/login", a.specialist)
    for key in ("page", "other"):
        _post(http, me, a, ids[key], "escalation", {"reason": "refuses to pay"})
    esc = {e["debtor_id"]: e["id"] for e in _api(
        http, a.admin, f"/v1/clients/{a.client_id}/escalations")["items"]}
    # GIVEN the client's viewer opens the portal's escalations page
    viewer = session(http, "/portal/login", a.viewer)
    page = http.http.get(f"/portal/clients/{a.client_id}/escalations", headers=viewer)
    text = page.body.decode()
    assert page.status_code == 200 and "Pageant Ltd" in text and "Quayside Cafe" in text
    assert text.count('value="approve"') == 2 and "£2,500.00" in text
    # another client's viewer and another agency cannot decide
    for token in (_other_viewer(a), b.viewer):
        other = session(http, "/portal/login", token)
        csrf = page_csrf(http.http.get("/portal/login").body)  # any token: refused before
        r = http.http.post(
            f"/portal/clients/{a.client_id}/escalations/{esc[ids['page']]}/decision",
            headers={**other, **FORM}, body=urlencode({"csrf": csrf, "decision": "approve"})
            .encode())
        assert r.status_code in (403, 404) and "Pageant" not in r.body.decode()
    # WHEN the viewer approves one and declines the other with a note
    r = _portal_post(http, viewer, a, esc[ids["page"]], {"decision": "approve"})
    assert r.status_code == 303, r.body
    assert "letter before action" in unquote(r.headers["Location"].replace("+", " "))
    r = _portal_post(http, viewer, a, esc[ids["other"]], {"decision": "decline",
                                                          "note": "we are talking to them"})
    assert r.status_code == 303
    # THEN the API and the agency's escalations page show each decision
    out = {e["debtor_id"]: e for e in _api(
        http, a.admin, f"/v1/clients/{a.client_id}/escalations")["items"]}
    assert out[ids["page"]]["status"] == "approved"
    assert out[ids["other"]]["status"] == "declined"
    assert out[ids["other"]]["decision_note"] == "we are talking to them"
    assert _api(http, a.admin, f"/v1/clients/{a.client_id}/debtors/{ids['page']}")[
        "status"] == "in_collections"
    w = http.http.get("/w/escalations", headers=me).body.decode()
    assert "letter before action sent" in w and "declined by the client" in w
    assert "we are talking to them" in w
    declined = http.http.get("/w/escalations?status=declined", headers=me).body.decode()
    assert "Quayside Cafe" in declined and "Pageant Ltd" not in declined
    # AND deciding again is refused on the page with the reason
    again = _portal_post(http, viewer, a, esc[ids["page"]], {"decision": "decline"})
    assert again.status_code == 409 and "escalation already approved" in again.body.decode()
    bad = _portal_post(http, viewer, a, esc[ids["page"]], {"decision": "maybe"})
    assert bad.status_code == 422 and "decision: " in bad.body.decode()


def test_no_page_makes_the_browser_ask_for_a_refused_favicon(http, book):
    """Every surface names its icon inline (a data: URI of the page edge's icon), so a
    browser never fetches /favicon.ico at a path the deployment may refuse; the route
    itself answers without auth, whatever credentials the browser sends along."""
    from urllib.parse import quote

    from chalicelib.http.pages import FAVICON

    a, _, ids = book
    icon = 'rel="icon" type="image/svg+xml" href="data:image/svg+xml,' + quote(FAVICON,
                                                                              safe=":/= ")
    me = session(http, "/w/login", a.specialist)
    pages = [http.http.get("/w/login"), http.http.get("/w/queue", headers=me),
             http.http.get(f"/w/clients/{a.client_id}/debtors/{ids['page']}", headers=me),
             http.http.get("/w/clients/nope/debtors/nope", headers=me),
             http.http.get("/portal/login"), http.http.get(f"/portal/clients/{a.client_id}"),
             http.http.get("/d/not-a-token")]
    for r in pages:
        assert icon in r.body.decode(), r.status_code
    for headers in ({}, me, {"Authorization": "Bearer forged"}, {"Cookie": "recoup_portal=x"}):
        r = http.http.get("/favicon.ico", headers=headers)
        assert r.status_code == 200 and r.headers["Content-Type"] == "image/svg+xml"
