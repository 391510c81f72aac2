"""Fault 10 and the page's own guards: tampered, expired, guessed, revoked links all get the
same 404; too many requests get 429; forms need the CSRF token of their link."""
from __future__ import annotations

import base64
import json
from datetime import timedelta

import pytest

from chalicelib.kernel import events
from chalicelib.payments import links
from tests.conftest import FIXED_NOW, bearer
from tests.payments_support import add_debtor, form_fields, page_path, post_form


@pytest.fixture
def world(http, tenants):
    a, b = tenants
    d = add_debtor(http, a)
    return a, b, d, page_path(links.debtor_link(a.agency_id, a.client_id, d["id"], FIXED_NOW))


def _forge(path: str, **changes) -> str:
    body, sig = path.removeprefix("/d/").split(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data.update(changes)
    raw = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"/d/{raw}.{sig}"


def test_tampered_expired_guessed_and_revoked_links_get_the_same_404(http, world, monkeypatch):
    a, b, d, path = world
    good = http.http.get(path)
    assert good.status_code == 200
    later = links.debtor_link(a.agency_id, a.client_id, d["id"], FIXED_NOW - timedelta(days=31))
    other = links.debtor_link(a.agency_id, a.client_id, "d" + "0" * 20, FIXED_NOW)
    revoked = page_path(links.debtor_link(a.agency_id, a.client_id, d["id"], FIXED_NOW))
    links.revoke(revoked.removeprefix("/d/"), FIXED_NOW)
    bad = [
        _forge(path, d="d" + "1" * 20),               # someone else's account, old signature
        _forge(path, a=b.agency_id),                  # another tenant
        path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB"),  # signature changed
        page_path(later),                             # expired
        page_path(other),                             # validly signed, unknown debtor
        revoked,                                      # revoked
        "/d/12345", "/d/..", "/d/" + "A" * 300,        # guessed
    ]
    answers = [http.http.get(p) for p in bad]
    assert {r.status_code for r in answers} == {404}
    assert len({r.body for r in answers}) == 1  # byte-identical: nothing to tell them apart
    assert b"Bramble" not in answers[0].body and b"INV-1" not in answers[0].body
    assert answers[0].headers["Referrer-Policy"] == "no-referrer"
    # a POST with a bad link is the same 404 too
    assert post_form(http, bad[0] + "/pay", {"mode": "all"}).body == answers[0].body


def test_revoking_all_links_of_a_debtor_closes_every_older_link(http, world):
    a, _, d, _ = world
    path = page_path(links.debtor_link(a.agency_id, a.client_id, d["id"],
                                       FIXED_NOW - timedelta(days=1)))
    assert http.http.get(path).status_code == 200
    r = http.http.post(d["base"] + "/link/revoke-all", headers=bearer(a.specialist))
    assert r.status_code == 200
    assert http.http.get(path).status_code == 404


def test_link_urls_carry_no_sequential_ids_and_differ_each_time(world):
    a, _, d, path = world
    one = links.debtor_link(a.agency_id, a.client_id, d["id"], FIXED_NOW)
    two = links.debtor_link(a.agency_id, a.client_id, d["id"], FIXED_NOW)
    assert one != two and one.startswith("http://localhost:8000/d/")


def test_too_many_requests_from_one_address_or_for_one_link_get_429(http, world, monkeypatch):
    a, _, d, path = world
    monkeypatch.setenv("RECOUP_LINK_RATE_PER_TOKEN", "3")
    codes = [http.http.get(path).status_code for _ in range(5)]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
    monkeypatch.setenv("RECOUP_LINK_RATE_PER_IP", "2")
    monkeypatch.setenv("RECOUP_LINK_RATE_PER_TOKEN", "100")
    guesses = [http.http.get(f"/d/guess{i}.x").status_code for i in range(4)]
    assert 429 in guesses  # guessing is counted per address, whatever the token


def test_forms_without_the_links_csrf_token_are_refused(http, world):
    a, _, d, path = world
    html = http.http.get(path).body.decode()
    fields = form_fields(html, "/question")
    assert post_form(http, f"{path}/question", {"message": "hi"}).status_code == 403
    other = page_path(links.debtor_link(a.agency_id, a.client_id, d["id"], FIXED_NOW))
    stolen = form_fields(http.http.get(other).body.decode(), "/question")
    assert post_form(http, f"{path}/question", {**stolen, "message": "hi"}).status_code == 403
    assert post_form(http, f"{path}/question", {**fields, "message": "hi"}).status_code == 200


def test_brand_colours_and_logo_come_from_client_settings_and_are_escaped(http, tenants):
    a, _ = tenants
    d = add_debtor(http, a, settings={"brand": {
        "display_name": "Acme <b>Supplies</b>", "logo_url": "https://cdn.example.com/acme.png",
        "primary_colour": "#123456", "accent_colour": "red;}body{display:none",
        "payment_terms": "30 days net"}})
    html = http.http.get(page_path(links.debtor_link(a.agency_id, a.client_id, d["id"],
                                                     FIXED_NOW))).body.decode()
    assert "Acme &lt;b&gt;Supplies&lt;/b&gt;" in html and "<b>Supplies" not in html
    assert "--primary: #123456" in html and "display:none" not in html
    assert 'src="https://cdn.example.com/acme.png"' in html and "30 days net" in html


def test_debtor_actions_land_on_the_timeline_and_raise_events(http, world):
    a, _, d, path = world
    heard = []
    handler = lambda **kw: heard.append(kw)  # noqa: E731
    events.subscribe("debtor_action", handler)
    try:
        html = http.http.get(path).body.decode()
        csrf = {"csrf": form_fields(html, "/question")["csrf"]}
        inv1 = d["invoices"]["INV-1"]
        r = post_form(http, f"{path}/dispute", {**csrf, "invoice_id": inv1,
                                                "reason": "pricing",
                                                "message": "<script>x</script> billed twice"})
        assert r.status_code == 200 and "paused reminders for invoice INV-1" in r.body.decode()
        r = post_form(http, f"{path}/promise", {**csrf, "promise_date": "2026-12-10"})
        assert r.status_code == 200
        assert post_form(http, f"{path}/promise", {**csrf, "promise_date": "2027-06-01"}
                         ).status_code == 422
        assert post_form(http, f"{path}/question", {**csrf, "message": "Can I pay by BACS?"}
                         ).status_code == 200
        assert post_form(http, f"{path}/opt-out", {**csrf, "channel": "sms"}).status_code == 200
    finally:
        events._handlers["debtor_action"].remove(handler)
    assert [e["action"] for e in heard] == ["dispute", "promise", "question", "opt_out"]
    inv = http.http.get(f"{d['base']}/invoices/{inv1}", headers=bearer(a.specialist)).json_body
    assert inv["status"] == "disputed" and inv["dispute"]["reason"] == "pricing"
    got = http.http.get(d["base"], headers=bearer(a.specialist)).json_body
    # the call policy's promise rule: chasing resumes at the start of the date + 3 days' grace
    assert got["paused_until"].startswith("2026-12-13")
    assert got["contacts"][0]["opted_out"] == ["sms"]
    kinds = [e["kind"] for e in http.http.get(d["base"] + "/timeline",
                                              headers=bearer(a.specialist)).json_body["items"]]
    assert {"debtor_dispute", "debtor_promise", "debtor_question", "debtor_opt_out"} <= set(kinds)
    # the disputed invoice is no longer in "pay everything"
    html = http.http.get(path).body.decode()
    assert "Everything due: £250.00" in html and "In dispute" in html


def test_statement_csv_neutralises_formula_text(http, tenants):
    a, _ = tenants
    d = add_debtor(http, a, invoices=(("=HYPERLINK(\"http://x\")", "2026-09-01", "2026-10-01",
                                       1234),))
    path = page_path(links.debtor_link(a.agency_id, a.client_id, d["id"], FIXED_NOW))
    r = http.http.get(path + "/statement.csv")
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/csv")
    text = r.body.decode()
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text and "12.34" in text
    tl = http.http.get(d["base"] + "/timeline?kind=debtor_statement", headers=bearer(a.admin))
    assert len(tl.json_body["items"]) == 1


def _variants(token: str) -> list[str]:
    """Spellings of the same bytes that lenient base64 decoders accept."""
    body, sig = token.split(".")
    out = [f"{body}==.{sig}", f"{body}.{sig}=", f"{body}.{sig}\n", f"{body}.{sig}!",
           f"{body}.{sig[:-1]}{sig[-1]}="]
    # flip an unused low bit of the last character (a 32-byte HMAC leaves 2 spare bits)
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    last = alphabet.index(sig[-1])
    out.append(f"{body}.{sig[:-1]}{alphabet[last ^ 1]}")
    assert base64.urlsafe_b64decode(out[-1].split(".")[1] + "=") == \
        base64.urlsafe_b64decode(sig + "=")
    return out


def test_a_link_has_one_spelling_and_variants_get_the_404_of_any_bad_link(http, world):
    """GIVEN a valid debtor link
    WHEN it is opened spelt differently (padding, trailing characters, flipped unused bits)
    THEN each variant gets the same 404 page as any bad link; the canonical one still opens."""
    _, _, _, path = world
    token = path.removeprefix("/d/")
    for bad in _variants(token):
        with pytest.raises(links.LinkNotFound):
            links.verify(bad, FIXED_NOW)
    reference = http.http.get("/d/12345").body
    for bad in _variants(token)[:2] + _variants(token)[3:]:  # "\n" cannot travel in a path
        r = http.http.get("/d/" + bad.replace("!", "%21"))
        assert r.status_code == 404 and r.body == reference, bad
    assert http.http.get(path).status_code == 200


def test_429_on_the_debtor_page_says_when_to_retry(http, world, monkeypatch):
    """GIVEN a link opened more often than its per-minute limit
    WHEN the limit is passed
    THEN 429 carries Retry-After: the seconds until the minute turns (15 at hh:mm:45)."""
    _, _, _, path = world
    monkeypatch.setenv("RECOUP_DEMO_NOW", (FIXED_NOW + timedelta(seconds=45)).isoformat())
    monkeypatch.setenv("RECOUP_LINK_RATE_PER_TOKEN", "1")
    assert http.http.get(path).status_code == 200
    r = http.http.get(path)
    assert r.status_code == 429
    assert r.headers["Retry-After"] == "15"
