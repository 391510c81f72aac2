"""A process killed between commit and delivery loses nothing: after a restart every
consumer's effect (the thank-you, the report, the call task) happens exactly once.

The stack is moto's server in this test process; each step runs in its own interpreter
against it, so the kill (os._exit right after the payment's transaction commits, before
any consumer runs) is a real process death, not an exception someone could catch."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Every step first points AWS at the test's own moto server (tests.conftest, imported for
# its helpers, clears AWS_ENDPOINT_URL for in-process moto): nothing may leave loopback.
PRELUDE = r'''
import os
import tests.conftest
os.environ["AWS_ENDPOINT_URL"] = os.environ["RECOUP_TEST_ENDPOINT"]
assert os.environ["AWS_ENDPOINT_URL"].startswith("http://127.0.0.1:")
'''

SETUP = PRELUDE + r'''
import json
from tests.conftest import make_tenant
from local import resources
from chalicelib.tables import create_tables
from tests.integration.dunning_kit import load_book, row, debtor
from tests.conftest import FIXED_NOW
create_tables()
resources.provision()
t = make_tenant("agK")
load_book(t, [row("K1", "INV-K1", "2026-11-01", "250.00")], FIXED_NOW)
from chalicelib.kernel import events
events.publish("call_task_needed", agency_id=t.agency_id, client_id=t.client_id,
               debtor_id=debtor(t, "K1").debtor_id, reason="overdue", due_at=None,
               details={}, at=FIXED_NOW)
print("RESULT " + json.dumps({"agency_id": t.agency_id, "client_id": t.client_id,
                              "debtor_id": debtor(t, "K1").debtor_id}))
'''

PAY_AND_DIE = PRELUDE + r'''
import json, os, sys
from datetime import date
from tests.conftest import FIXED_NOW
ids = json.loads(sys.argv[1])
from chalicelib.kernel import events
def die(items):
    os._exit(17)  # killed after the commit, before any consumer ran
events.after_commit = die
from chalicelib.payments import ledger
ledger.apply_payment(ids["agency_id"], ids["client_id"], ids["debtor_id"],
                     amount_minor=25000, currency="GBP", source="transfer",
                     payment_id="p-crash-1", received_on=date(2026, 11, 25),
                     now=FIXED_NOW, actor="test")
print("not reached")
'''

RESTART = PRELUDE + r'''
import json
from tests.conftest import FIXED_NOW
from chalicelib.kernel import events
print("RESULT " + json.dumps(events.drain(FIXED_NOW)))
'''


INSPECT = PRELUDE + r'''
import json, sys
from tests.conftest import FIXED_NOW
from chalicelib.reporting import reports
from chalicelib.store.keys import debtor_key
from chalicelib.store.models import ClientModel, OutboxModel, PaymentModel
from chalicelib.workbench.models import CallTaskModel
ids = json.loads(sys.argv[1])
key = debtor_key(ids["agency_id"], ids["client_id"], ids["debtor_id"])
report = reports.build(ClientModel.get(ids["agency_id"], ids["client_id"]), FIXED_NOW.date())
print("RESULT " + json.dumps({
    "paid": int(PaymentModel.get(key, "p-crash-1").amount_minor),
    "pending": sorted(i.name for i in OutboxModel.scan() if i.status == "pending"),
    "tasks": sorted(t.status for t in CallTaskModel.scan() if t.debtor_id == ids["debtor_id"]),
    "receivables": report["figures"]["receivables_minor"],
    "collected": report["figures"]["collected"]}))
'''


def _run(code: str, env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code, *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=180)


def _result(run: subprocess.CompletedProcess) -> dict:
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads([x for x in run.stdout.splitlines() if x.startswith("RESULT ")][-1][7:])


@pytest.fixture
def stack():
    from local.stack import LocalAWS

    saved = {k: os.environ.get(k) for k in ("AWS_ENDPOINT_URL",)}
    aws = LocalAWS().start()
    env = {**os.environ, "RECOUP_STAGE": "test", "PYTHONPATH": str(ROOT),
           "AWS_ENDPOINT_URL": os.environ["AWS_ENDPOINT_URL"],
           "RECOUP_TEST_ENDPOINT": os.environ["AWS_ENDPOINT_URL"]}
    yield env
    aws.stop()
    for k, v in saved.items():
        if v is None:
            os.environ.pop(k, None)
        else:
            os.environ[k] = v


def test_a_crash_between_commit_and_delivery_is_made_good_exactly_once(stack):
    """GIVEN a debtor owing £250 with an open call task
    WHEN a payment of £250 commits and the process dies before delivering its event
    THEN the payment and its event are stored, no consumer has acted yet;
    AND WHEN the platform restarts and the pump drains (twice, as a retry would)
    THEN one thank-you email went out, the task is closed, the report counts £250 once."""
    ids = _result(_run(SETUP, stack))
    died = _run(PAY_AND_DIE, stack, json.dumps(ids))
    assert died.returncode == 17, died.stderr[-3000:]
    before = _result(_run(INSPECT, stack, json.dumps(ids)))
    assert before["paid"] == 25000 and before["pending"] == ["payment_applied"]
    assert before["tasks"] == ["open"] and before["receivables"] == 25000
    assert _thanks() == []
    assert _result(_run(RESTART, stack)) == {"delivered": 1, "failed": 0}
    assert _result(_run(RESTART, stack)) == {"delivered": 0, "failed": 0}
    after = _result(_run(INSPECT, stack, json.dumps(ids)))
    assert len(_thanks()) == 1 and "£250.00" in _thanks()[0]["text"]
    assert after["pending"] == [] and after["tasks"] == ["closed"]
    assert after["receivables"] == 0
    assert after["collected"] != before["collected"]


def _thanks() -> list[dict]:
    """Thank-you emails the server's SES accepted (moto's backend lives in this process)."""
    from local import outbox

    return [m for m in outbox.emails() if m["subject"].startswith("Thank you")]
