"""Property-based API fuzzing: schemathesis reads the app's own /openapi.json and sends every
operation schema-valid and schema-invalid requests as the agency admin.

GIVEN a tenant with a client, a debtor, a contact and an invoice
WHEN schemathesis sends each documented operation a bounded, seeded set of generated cases
THEN no response is a 5xx, every status code is documented, and every response body matches
     the documented schema.

It prints `schemathesis: operations=N cases=M failures=K` (and failures by kind); the line is
also written to .pytest_cache/schemathesis-summary.txt for the terminal summary.
"""
from __future__ import annotations

import io
import json
import os
from collections import Counter, defaultdict
from pathlib import Path

import requests
import urllib3
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.generation import GenerationMode

from tests.conftest import bearer

BASE = "http://recoup.test"
MAX_EXAMPLES = int(os.environ.get("RECOUP_FUZZ_EXAMPLES", "20"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
SUMMARY = Path(__file__).resolve().parents[2] / ".pytest_cache" / "schemathesis-summary.txt"


class ChaliceAdapter(requests.adapters.BaseAdapter):
    """A requests transport that hands each request to chalice.test.Client (no sockets)."""

    def __init__(self, client) -> None:
        super().__init__()
        self.client = client

    def send(self, request, **kwargs):
        url = requests.utils.urlparse(request.url)
        path = url.path + (f"?{url.query}" if url.query else "")
        body = request.body
        if isinstance(body, str):
            body = body.encode()
        headers = {k: v for k, v in request.headers.items()}
        got = self.client.http.request(request.method, path, headers=headers, body=body or b"")
        resp = requests.Response()
        resp.status_code = got.status_code
        resp.headers = requests.structures.CaseInsensitiveDict(got.headers)
        resp.raw = urllib3.HTTPResponse(body=io.BytesIO(got.body or b""),
                                        headers=dict(got.headers), status=got.status_code,
                                        version=11, preload_content=False)
        resp._content = got.body or b""
        resp.url = request.url
        resp.request = request
        resp.reason = ""
        resp.encoding = "utf-8"
        return resp

    def close(self) -> None:
        pass


def _fixtures(http, t) -> dict[str, str]:
    """Real ids for the path parameters, so cases reach the handlers instead of a 404."""
    h = bearer(t.admin)
    c = f"/v1/clients/{t.client_id}"
    debtor = http.http.post(f"{c}/debtors", headers=h, body=json.dumps(
        {"account_ref": "FUZZ-1", "name": "Fuzz Ltd"})).json_body
    d = f"{c}/debtors/{debtor['id']}"
    contact = http.http.post(f"{d}/contacts", headers=h, body=json.dumps(
        {"email": "ap@fuzz.example.com"})).json_body
    invoice = http.http.post(f"{d}/invoices", headers=h, body=json.dumps(
        {"number": "F-1", "issue_date": "2026-10-01", "due_date": "2026-10-31",
         "total_minor": 12000})).json_body
    return {"client_id": t.client_id, "debtor_id": debtor["id"], "contact_id": contact["id"],
            "invoice_id": invoice["id"]}


def _label(failure: Failure) -> str:
    return type(failure).__name__


def test_no_operation_answers_with_a_server_error_or_off_schema(http, tenants):
    """GIVEN the agency admin's token and the app's own OpenAPI document
    WHEN every operation gets seeded positive and negative cases
    THEN no case gets a 5xx, an undocumented status or an off-schema body."""
    t, _ = tenants
    doc = http.http.get("/openapi.json").json_body
    schema = schemathesis.openapi.from_dict(doc)
    ids = _fixtures(http, t)
    session = requests.Session()
    session.mount(BASE, ChaliceAdapter(http))
    auth = {"Authorization": f"Bearer {t.admin}"}

    operations = 0
    cases = 0
    kinds: Counter[str] = Counter()
    samples: dict[str, str] = {}
    succeeded: set[str] = set()  # operations with at least one 2xx (a checked success body)
    statuses: defaultdict[str, Counter[int]] = defaultdict(Counter)
    # Deletes last: archiving the client first would turn every later case into a 404.
    ops = sorted((r.ok() for r in schema.get_all_operations()),
                 key=lambda o: (o.method.upper() == "DELETE", -o.path.count("/")))
    for op in ops:
        operations += 1
        params = {n: ids[n] for n in ids if f"{{{n}}}" in op.path}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            strategy = op.as_strategy(generation_mode=mode, path_parameters=params or None,
                                      headers=auth)

            # run() is called at once below, so it sees this iteration's op (B023 is moot)
            @settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None,
                      deadline=None, phases=[Phase.explicit, Phase.generate],
                      suppress_health_check=list(HealthCheck))
            @given(case=strategy)
            def run(case):
                nonlocal cases
                cases += 1
                try:
                    response = case.call(base_url=BASE, session=session)
                    statuses[f"{op.method.upper()} {op.path}"][response.status_code] += 1
                    if 200 <= response.status_code < 300:
                        succeeded.add(f"{op.method.upper()} {op.path}")
                    case.validate_response(response, checks=CHECKS)
                except FailureGroup as group:
                    for f in group.exceptions:
                        key = f"{_label(f)}"
                        kinds[key] += 1
                        samples.setdefault(f"{key} {op.method.upper()} {op.path}",
                                           f"{f.title}: {str(f.message)[:300]}")
                except Failure as f:
                    kinds[_label(f)] += 1
                    samples.setdefault(f"{_label(f)} {op.method.upper()} {op.path}",
                                       f"{f.title}: {str(f.message)[:300]}")

            try:
                run()
            except Unsatisfiable:  # nothing to make invalid (no parameters, no body)
                pass
    failures = sum(kinds.values())
    line = (f"schemathesis: operations={operations} cases={cases} failures={failures}"
            + "".join(f" {k}={v}" for k, v in sorted(kinds.items()))
            + f" operations_with_a_2xx={len(succeeded)}")
    print(line)
    if os.environ.get("RECOUP_FUZZ_STATUSES"):
        for name, counts in sorted(statuses.items()):
            print("  ", name, dict(sorted(counts.items())))
    for k, v in sorted(samples.items()):
        print("  ", k, "->", v)
    SUMMARY.parent.mkdir(exist_ok=True)
    SUMMARY.write_text(line + "\n" + "".join(f"   {k} -> {v}\n"
                                             for k, v in sorted(samples.items())))
    assert failures == 0, line + "\n" + "\n".join(f"{k} -> {v}" for k, v in samples.items())
