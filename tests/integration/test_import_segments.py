"""An import puts every debtor with payment history in its behaviour segment once, whichever
part of the import its invoices arrived in, in a few transactions (not a save, an entry and
an event per debtor: issue 12's ≤ 0.1 writes per invoice), the credit policy re-bands the
moved debtors from the one batch event, and a debtor another writer changed meanwhile is
still moved (one by one) with nothing lost."""
from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from chalicelib.book import importer
from chalicelib.store.models import ClientModel
from tests.conftest import FIXED_NOW, bearer
from tests.integration.dunning_kit import debtor, entries
from tests.integration.test_behaviour import HEADER, history, line

NOW = FIXED_NOW
OPEN_ISSUED = NOW.date() - timedelta(days=25)
DEBTORS = 52  # more than one commit of moves (49 debtors each)


def _book() -> bytes:
    rows = []
    for n in range(DEBTORS):
        ref = f"P{n:02d}"
        late = [20, 21, 19, 20] if n % 2 else [0, 0, 1, 0]  # slow but steady / prompt
        rows += [*history(ref, late), line(ref, f"{ref}-OPEN", OPEN_ISSUED, 250.0)]
    rows.append(line("FRESH", "FRESH-1", OPEN_ISSUED, 90.0))  # no history: no segment yet
    return ("\n".join([HEADER, *rows]) + "\n").encode()


@pytest.fixture
def tenant(dunning, tenants, http):
    from local.resources import verify_sender

    a = tenants[0]
    verify_sender(ClientModel.get(a.agency_id, a.client_id).sender_email)
    r = http.http.request("PUT", f"/v1/clients/{a.client_id}/credit-policy",
                          headers=bearer(a.admin),
                          body=json.dumps({"default": {"limit_minor": 10_000_000}}))
    assert r.status_code == 200, r.body
    return a


def _import(tenant):
    report = importer.import_book(tenant.agency_id, tenant.client_id, _book(), actor="test",
                                  now=NOW, mode="full")
    assert report["errors"] == [], report["errors"]
    return report


def test_an_import_in_many_parts_segments_every_debtor_once_in_a_few_commits(
        tenant, monkeypatch):
    from bench.meter import metered
    from chalicelib.behaviour.models import CreditAccountModel
    from chalicelib.store.keys import client_key

    monkeypatch.setattr(importer, "EVENT_PART", 40)  # ten debtors a part: many parts
    with metered() as m:
        _import(tenant)
    # THEN each debtor with history is in its segment, with one timeline entry saying why,
    # whichever part its invoices came in
    for n in range(DEBTORS):
        d = debtor(tenant, f"P{n:02d}")
        assert d.segment == ("slow_but_steady" if n % 2 else "prompt"), (n, d.segment)
        [moved] = entries(tenant, f"P{n:02d}", "segment_changed")
        assert moved["summary"].startswith("Segment none → ")
    assert debtor(tenant, "FRESH").segment is None  # nothing paid yet: left for later
    # AND the moves took two transactions (49 debtors each), not three writes per debtor
    moves = [k for k, n in m.by_table.items()
             if k[0] == "TransactWriteItems" and "debtors+timeline+outbox" in k[1]]
    assert sum(m.by_table[k] for k in moves) == 2, m.breakdown()
    # AND the credit policy banded every moved debtor from the batch events
    ckey = client_key(tenant.agency_id, tenant.client_id)
    for n in (0, 1, DEBTORS - 1):
        acct = CreditAccountModel.get(ckey, debtor(tenant, f"P{n:02d}").debtor_id)
        assert acct.state["band"] == ("medium" if n % 2 else "low"), (n, acct.state)
    # WHEN the same book is imported again
    _import(tenant)
    # THEN nobody moves again (no second entry)
    assert all(len(entries(tenant, f"P{n:02d}", "segment_changed")) == 1
               for n in range(DEBTORS))


def test_a_debtor_changed_during_the_recompute_is_still_moved_and_keeps_the_change(
        tenant, monkeypatch):
    from chalicelib.behaviour import profiles
    from chalicelib.kernel import events
    from chalicelib.store.keys import client_key
    from chalicelib.store.models import DebtorModel

    real = events.commit
    ckey = client_key(tenant.agency_id, tenant.client_id)
    raced = []

    def racing(saves, announced):
        saves = list(saves)
        if not raced and len(saves) > 2:  # the first commit of moves: a specialist edits P00
            d = DebtorModel.get(ckey, saves[0][0].debtor_id, consistent_read=True)
            d.name = "Renamed meanwhile Ltd"
            d.save()
            raced.append(d.debtor_id)
        return real(saves, announced)

    monkeypatch.setattr(profiles.events, "commit", racing)
    _import(tenant)
    [who] = raced
    d = DebtorModel.get(ckey, who, consistent_read=True)
    # THEN the raced debtor got its segment after all, and the specialist's edit stands
    assert d.segment in ("prompt", "slow_but_steady") and d.name == "Renamed meanwhile Ltd"
    # AND every debtor of that commit was moved, each once
    for n in range(DEBTORS):
        assert len(entries(tenant, f"P{n:02d}", "segment_changed")) == 1, n
    assert date.fromisoformat(d.updated_at[:10]) == NOW.date()
