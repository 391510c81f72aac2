"""Production fails closed: with the shipped prod stage settings (STRIPE_SECRET_KEY_PARAM and
no STRIPE_SECRET_KEY), the local test checkout does not exist and no payment can be taken
for free. Each check runs the app in a fresh interpreter with the prod stage's environment
from .chalice/config.json, on moto, so the test stage's own set-up cannot hide a fallback."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCENARIO = r'''
import json, os, sys
from datetime import datetime, timezone
from urllib.parse import urlencode
from moto import mock_aws

with mock_aws():
    from chalicelib.tables import create_tables
    create_tables()
    import boto3
    if os.environ.get("PUT_STRIPE_PARAM"):
        boto3.client("ssm").put_parameter(Name=os.environ["STRIPE_SECRET_KEY_PARAM"],
                                          Value="sk_test_from_ssm", Type="SecureString")
    from chalice.test import Client
    from app import app
    from chalicelib.payments import stripe_gateway as gw
    seen = []
    if os.environ.get("PUT_STRIPE_PARAM"):
        import stripe

        class FakeStripe(stripe.HTTPClient):  # answers like api.stripe.com; nothing leaves
            name = "fake"

            def request(self, method, url, headers, post_data=None, *, _usage=None):
                seen.append((headers or {}).get("Authorization", ""))
                return json.dumps({"id": "cs_test_1", "object": "checkout.session",
                                   "url": "https://checkout.stripe.com/c/pay/cs_test_1"}), \
                    200, {"request-id": "req_1"}

        gw.use_http_client(FakeStripe())
    from chalicelib.payments.pages import csrf_for
    from chalicelib.payments import links
    from chalicelib.store.models import AgencyModel, ClaimModel
    now = datetime.now(timezone.utc)
    out = {"stage": os.environ["RECOUP_STAGE"], "is_local": gw.is_local(),
           "checkout_routes": sorted(p for p in app.routes if "/checkout" in p)}
    try:
        gw.install_local_checkout(object())
        out["install"] = "accepted"
    except RuntimeError as exc:
        out["install"] = str(exc)
    from chalicelib.http.auth import Principal
    from chalicelib.http.schemas import ClientIn, DebtorIn, InvoiceIn
    from chalicelib.agency import clients
    from chalicelib.book import debtors, invoices
    AgencyModel("ag1", name="Agency", created_at="2026-11-01T00:00:00Z").save()
    admin = Principal("ag1", "admin1", "admin")
    cl = clients.create_client(admin, ClientIn(name="Acme", sender_email="ar@acme.example.com"), now=now)
    de = debtors.create_debtor(admin, cl["id"], DebtorIn(account_ref="C1", name="Bramble"), now=now)
    invoices.create_invoice(admin, cl["id"], de["id"], InvoiceIn(
        number="INV-1", issue_date="2026-09-01", due_date="2026-10-01", total_minor=562836), now=now)
    token = links.make_token("ag1", cl["id"], de["id"], now)
    with Client(app, stage_name=os.environ["RECOUP_STAGE"]) as c:
        form = urlencode({"csrf": csrf_for(token), "mode": "all",
                          "attempt_id": "attempt-0001"})
        r = c.http.post(f"/d/{token}/pay", body=form,
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
        out["pay_status"] = r.status_code
        out["pay_body"] = r.body.decode()
        out["pay_location"] = {k.lower(): v for k, v in r.headers.items()}.get("location", "")
        r = c.http.post(f"/d/{token}/checkout/cs_local_abc/pay", body=form,
                        headers={"Content-Type": "application/x-www-form-urlencoded"})
        out["local_pay_status"] = r.status_code
        out["claims"] = [i.claim_key for i in ClaimModel.scan()]
        out["stripe_auth"] = seen
    print("RESULT " + json.dumps(out))
'''


def _prod_env(**extra: str) -> dict:
    config = json.loads((ROOT / ".chalice" / "config.json").read_text())
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("RECOUP_", "STRIPE_", "AWS_ENDPOINT"))}
    env.update(config["stages"]["prod"]["environment_variables"])
    # The two platform secrets as plain values (their SSM reads are another test's concern);
    # Stripe's key is left exactly as the prod stage ships it: a parameter name only.
    env.update({"RECOUP_JWT_SECRET": "prod-test-jwt", "RECOUP_LINK_SECRET": "prod-test-link",
                "STRIPE_WEBHOOK_SECRET": "whsec_prod_test", "AWS_DEFAULT_REGION": "eu-west-2",
                "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                "PYTHONPATH": str(ROOT)})
    env.update(extra)
    assert "STRIPE_SECRET_KEY" not in env and env["STRIPE_SECRET_KEY_PARAM"]
    return env


def _run(env: dict) -> dict:
    run = subprocess.run([sys.executable, "-c", SCENARIO], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=180)
    assert run.returncode == 0, run.stderr[-4000:]
    line = [x for x in run.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def test_prod_settings_without_the_stripe_secret_refuse_payment_and_have_no_local_checkout():
    """GIVEN the prod stage's settings, whose Stripe key is an SSM parameter that is missing
    WHEN a debtor holding a valid link tries to pay, or posts to the local checkout's URL
    THEN no payment starts (a clear 503 page), the local checkout is not served (404), it
    cannot be installed, and no checkout record is written."""
    out = _run(_prod_env())
    assert out["stage"] == "prod" and out["is_local"] is False
    assert out["checkout_routes"] == []
    assert "cannot run in stage 'prod'" in out["install"]
    assert out["pay_status"] == 503, out["pay_body"][:500]
    assert "card payments are not configured" in out["pay_body"]
    assert "LOCAL TEST CHECKOUT" not in out["pay_body"] and out["pay_location"] == ""
    assert out["local_pay_status"] in (403, 404)
    assert out["claims"] == []


def test_prod_settings_with_the_stripe_secret_in_ssm_go_to_stripe_not_the_local_checkout():
    """GIVEN the prod stage's settings and the Stripe key in SSM (a fake HTTP client answers
    as Stripe would; nothing leaves the machine)
    THEN the debtor is sent to Stripe's checkout, authorised with the key read from SSM, and
    no local session exists."""
    out = _run(_prod_env(PUT_STRIPE_PARAM="1"))
    assert out["is_local"] is False and out["checkout_routes"] == []
    assert out["pay_status"] == 303, out["pay_body"][:500]
    assert out["pay_location"].startswith("https://checkout.stripe.com/")
    assert out["stripe_auth"] == ["Bearer sk_test_from_ssm"]
    assert not [k for k in out["claims"] if "local-session" in k]
