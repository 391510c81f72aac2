"""What if: the outcomes lab on a client's own book, before an agency picks a cadence.

Each open invoice of the client becomes simulated debtors (`samples` copies, so a small
book still gives stable figures) with the invoice's amount, currency and terms, the
debtor's zone and country, and a payer type drawn from weights set by the debtor's own
paid history (days late per settled invoice, disputes) or, without history, the
population mix (chalicelib/lab/population.py: the assumptions and their sources). The
invoices are simulated from issue, as invoices like these would run, not from where they
stand today. Then the lab runs the client's current cadence (per debtor, as the planner
picks it: the debtor's, its segment's, the client's, the product's), a proposed one (the
product's default unless given), the Xero-style e-mail sequence and no reminders, all
through the real planner rule with the client's contact window, floors and first-contact
setting. Nothing is written.
"""
from __future__ import annotations

import random
from datetime import date, datetime

from chalicelib.behaviour import profile_rules as behaviour
from chalicelib.book import invoices as book_invoices
from chalicelib.dunning import cadence as cad
from chalicelib.dunning import planner, preview
from chalicelib.dunning.contact_window import local_date
from chalicelib.http.access import load_client, require_staff
from chalicelib.http.auth import Principal
from chalicelib.lab import playbooks
from chalicelib.lab import population as pop
from chalicelib.lab import simulator as sim
from chalicelib.store.keys import client_key
from chalicelib.store.models import ClientModel, DebtorModel, InvoiceModel

MAX_SIMULATED = 1000  # simulated invoices per playbook: about a second each, whatever the book
ASSUMES = ("Each open invoice is simulated from issue with its amount and terms; each "
           "debtor behaves like its own paid history (else like the population mix); "
           "payer types, channel responses and their sources are in docs/ARCHITECTURE.md "
           "(Outcomes lab). Figures are estimates for comparing cadences, not forecasts.")


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


def _history(invoices: list[InvoiceModel]) -> tuple[list[int], int]:
    """Days late of each settled invoice whose paid day is known closely enough, and how
    many were disputed: the payment history as the behaviour profile counts it."""
    late, disputed = [], 0
    for inv in invoices:
        if not inv.paid_latest:
            continue
        row = book_invoices.history_row(inv)
        paid = behaviour.paid_day(_day(row["paid_on"]), _day(row["paid_earliest"]),
                                  _day(row["paid_latest"]))
        if paid is None:
            continue
        late.append((paid - date.fromisoformat(row["due_date"])).days)
        disputed += bool(row["was_disputed"])
    return late, disputed


def book_population(client: ClientModel, now: datetime, *, seed: int, samples: int
                    ) -> tuple[list[tuple[pop.Debtor, DebtorModel]], dict]:
    ckey = client_key(client.agency_id, client.client_id)
    start = local_date(now, client.timezone)
    rows: list[tuple[DebtorModel, InvoiceModel, dict[str, float]]] = []
    with_history = 0
    for debtor in DebtorModel.query(ckey):
        invoices = list(InvoiceModel.query(f"{ckey}#{debtor.debtor_id}"))
        late, disputed = _history(invoices)
        with_history += bool(late)
        weights = pop.weights_from_lateness(late, disputed)
        for inv in invoices:
            if inv.status in cad.CHASEABLE_STATUSES and int(inv.balance_minor) > 0:
                rows.append((debtor, inv, weights))
    rows.sort(key=lambda r: (r[0].debtor_id, r[1].invoice_id))
    copies = max(1, min(samples, MAX_SIMULATED // max(len(rows), 1)))
    if len(rows) * copies > MAX_SIMULATED:  # a big book: a seeded sample of its invoices
        rows = random.Random(seed).sample(rows, MAX_SIMULATED)
    people: list[tuple[pop.Debtor, DebtorModel]] = []
    for debtor, inv, weights in rows:
        tz = planner.time_zone(client, debtor)
        terms = max(0, (date.fromisoformat(inv.due_date) - date.fromisoformat(inv.issue_date)).days)
        for k in range(copies):
            rng = random.Random(f"{seed}:{debtor.debtor_id}:{inv.invoice_id}:{k}")
            d = pop.make_debtor(
                len(people), rng, kind=pop.draw_kind(rng, weights),
                issue_date=start, terms_days=terms, amount_minor=int(inv.balance_minor),
                tz=tz, country=debtor.country or client.country or "", currency=inv.currency,
                consumer=debtor.kind == "consumer",
                debtor_id=f"{debtor.debtor_id}:{inv.invoice_id}:{k}")
            people.append((d, debtor))
    debtor_ids = {d.debtor_id for _, d in people}
    return people, {"debtors": len(debtor_ids), "invoices": len(rows), "samples": copies,
                    "debtors_with_history": with_history}


def _playbook(client: ClientModel, debtor: DebtorModel, name: str,
              cadence: cad.Cadence | None) -> sim.Playbook:
    return sim.Playbook(
        name, cadence,
        first_contact=(client.settings or {}).get("first_contact", True) is not False,
        final_min_minor=planner.final_notice_min(client),
        call_min_minor=planner.call_task_min(client),
        policy=planner.policy_for(client, debtor.kind == "consumer"))


def what_if(client: ClientModel, now: datetime, *, proposed: cad.Cadence | None = None,
            seed: int = 2026, samples: int = 20) -> dict:
    people, book = book_population(client, now, seed=seed, samples=samples)
    proposed = proposed or cad.DEFAULT_CADENCE
    runs = {
        "current": lambda debtor: _playbook(client, debtor, "current",
                                            planner.cadence_for(client, debtor)),
        "proposed": lambda debtor: _playbook(client, debtor, "proposed", proposed),
        "baseline": lambda debtor: sim.Playbook("baseline", playbooks.XERO_STYLE),
        "none": lambda debtor: sim.Playbook("none", None),
    }
    results = {}
    for name, playbook_for in runs.items():
        outcomes = [sim.simulate_debtor(d, playbook_for(debtor), seed) for d, debtor in people]
        results[name] = sim.figures(name, outcomes)
    cur, new = results["current"], results["proposed"]
    return {
        **book, "seed": seed, "assumes": ASSUMES,
        "proposed_cadence": cad.to_dict(proposed),
        "playbooks": [sim.as_dict(f) for f in results.values()],
        "dso_change_vs_current": round(new.dso_days - cur.dso_days, 1) if people else 0.0,
        "dso_reduction_vs_current": round(1 - new.dso_days / cur.dso_days, 3)
        if people and cur.dso_days else 0.0,
    }


def for_principal(p: Principal, client_id: str, data, *, now: datetime) -> dict:
    """The what-if as the API and the workspace ask for it (staff of the client)."""
    require_staff(p)
    client = load_client(p, client_id)
    proposed = preview.proposed_cadence(data.cadence)
    return what_if(client, now, proposed=proposed, seed=data.seed, samples=data.samples)
