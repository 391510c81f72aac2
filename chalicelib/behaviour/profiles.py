"""A debtor's behaviour read from the store: its profile, its segment (recomputed as it pays,
pinned segments left alone) and the predicted pay date and lateness risk of each open
invoice. The rules are `behaviour.profile_rules` and `behaviour.predict_rules`.

Reads per debtor: one Query of its invoices (the payment history and the open invoices),
one Query of its timeline since `TIMELINE_DAYS` (promises, disputes, touches, answers) and
the client's prior (one GetItem; fitted from the client's payment history when missing).
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from pynamodb.exceptions import TransactWriteError

from chalicelib.behaviour import predict_rules as pr
from chalicelib.behaviour import profile_rules as rules
from chalicelib.behaviour.models import BehaviourModel
from chalicelib.book import invoices as book_invoices
from chalicelib.book.invoice_rules import OWED
from chalicelib.kernel import events
from chalicelib.kernel.clock import iso
from chalicelib.store import accounts, timeline
from chalicelib.store.keys import client_key, debtor_key
from chalicelib.store.batch import get_many
from chalicelib.store.models import ClientModel, DebtorModel, InvoiceModel, TimelineModel

log = logging.getLogger("recoup.behaviour")
TIMELINE_DAYS = 730
PRIOR = "prior"
NOT_REACHED = frozenset({"no_answer", "voicemail", "wrong_number"})  # call outcomes


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value[:10]) if value else None


def _when(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


# ----------------------------------------------------------------------------- the prior


def fit_prior(agency_id: str, client_id: str, now: datetime,
              rows: list[dict] | None = None) -> pr.Prior:
    """Learn the client's prior from its whole payment history (`rows`, when the caller
    has just read it) and store it."""
    by_debtor: dict[str, list[rules.Paid]] = {}
    if rows is None:
        rows = book_invoices.client_payment_history(agency_id, client_id)
    for row in rows:
        by_debtor.setdefault(row["debtor_id"], []).append(_paid(row))
    prior = pr.fit_prior(by_debtor)
    BehaviourModel(client_key(agency_id, client_id), PRIOR, data=prior.to_dict(),
                   invoices=prior.n, fitted_at=iso(now)).save()
    return prior


def prior_for(agency_id: str, client_id: str, now: datetime) -> pr.Prior:
    try:
        return pr.Prior.from_dict(BehaviourModel.get(client_key(agency_id, client_id), PRIOR).data)
    except BehaviourModel.DoesNotExist:
        return fit_prior(agency_id, client_id, now)


# ----------------------------------------------------------------------------- the facts


def _paid(row: dict) -> rules.Paid:
    return rules.Paid(date.fromisoformat(row["issue_date"]), date.fromisoformat(row["due_date"]),
                      rules.paid_day(_day(row["paid_on"]), _day(row["paid_earliest"]),
                                     _day(row["paid_latest"])),
                      int(row["total_minor"]), bool(row["was_disputed"]),
                      bool(row["paid_in_parts"]))


def _open_invoice(i: InvoiceModel) -> pr.OpenInvoice:
    return pr.OpenInvoice(date.fromisoformat(i.issue_date), date.fromisoformat(i.due_date),
                          int(i.balance_minor), int(i.total_minor), i.status == "disputed")


@dataclass(frozen=True)
class AccountFacts:
    profile: rules.Profile
    open: tuple[tuple[InvoiceModel, pr.OpenInvoice], ...]
    prior: pr.Prior
    segment: rules.Segment     # computed now (a pinned segment may differ)
    oldest_overdue_days: int | None

    def predictions(self, today: date, broken_promises: int | None = None
                    ) -> list[tuple[InvoiceModel, pr.OpenInvoice, pr.Prediction]]:
        return [(m, o, pr.predict(self.profile, o, self.prior, today, segment=self.segment.name,
                                  broken_promises=broken_promises)) for m, o in self.open]

    def outlook(self, today: date, broken_promises: int | None = None) -> pr.Outlook:
        return pr.outlook((o, p) for _, o, p in self.predictions(today, broken_promises))


def _timeline_facts(debtor: DebtorModel, now: datetime) -> dict:
    agency_id, client_id = debtor.client_key.split("#", 1)
    since = iso(now - timedelta(days=TIMELINE_DAYS))
    promises: dict[str, dict] = {}
    disputed: set[str] = set()
    touches, answers = [], []
    for e in TimelineModel.query(debtor_key(agency_id, client_id, debtor.debtor_id),
                                 TimelineModel.entry_id >= since):
        data = e.data or {}
        if e.kind == "promise_recorded" and data.get("id"):
            promises.setdefault(data["id"], {}).update(
                made_on=e.at, due=data.get("promised_for"))
            promises[data["id"]].setdefault("status", "open")
        elif e.kind in ("promise_kept", "promise_broken") and data.get("id"):
            promises.setdefault(data["id"], {"made_on": data.get("created_at") or e.at,
                                             "due": data.get("promised_for")})
            promises[data["id"]]["status"] = e.kind.split("_")[1]
        elif e.kind == "dispute_opened":
            disputed.add(data.get("invoice_id") or e.entry_id)
        elif e.kind == "touch_sent" and data.get("channel"):
            touches.append(rules.Touch(_when(e.at), data["channel"]))
        elif e.kind == "payment":
            answers.append(rules.Answer(_when(e.at), "payment"))
        elif e.kind == "reply_received":
            answers.append(rules.Answer(_when(e.at), "reply"))
        elif e.kind.startswith("debtor_") and e.actor == "debtor":
            answers.append(rules.Answer(_when(e.at), "page"))
        elif e.kind == "call_outcome" and data.get("outcome") not in NOT_REACHED:
            answers.append(rules.Answer(_when(e.at), "call"))
    made = [rules.PromiseFact(_day(p.get("made_on")) or now.date(),
                              _day(p.get("due")) or now.date(), p.get("status", "open"))
            for p in promises.values()]
    return {"promises": made, "disputed": disputed, "touches": touches, "answers": answers}


def account_facts(debtor: DebtorModel, now: datetime, *, prior: pr.Prior | None = None,
                  invoices: list[InvoiceModel] | None = None) -> AccountFacts:
    """Everything the rules need about one account (see the module's reads; `invoices`
    when the caller has just read them)."""
    agency_id, client_id = debtor.client_key.split("#", 1)
    paid, open_ = [], []
    disputed_invoices: set[str] = set()
    for i in invoices if invoices is not None else accounts.debtor_invoices(debtor):
        if i.paid_latest:
            row = book_invoices.history_row(i)
            paid.append(_paid(row))
            if row["was_disputed"]:
                disputed_invoices.add(i.invoice_id)
        elif i.status in OWED and int(i.balance_minor) > 0:
            open_.append((i, _open_invoice(i)))
            if i.status == "disputed":
                disputed_invoices.add(i.invoice_id)
    t = _timeline_facts(debtor, now)
    today = now.date()
    overdue = [(today - o.due).days for _, o in open_ if o.due < today]
    profile = rules.profile(
        paid, open_in_parts=sum(1 for _, o in open_ if 0 < o.amount_minor < o.total_minor),
        open_invoices=len(open_), promises=t["promises"],
        disputes_raised=len(disputed_invoices | t["disputed"]),
        open_disputes=sum(1 for _, o in open_ if o.disputed),
        touches=t["touches"], answers=t["answers"])
    oldest = max(overdue) if overdue else None
    return AccountFacts(profile, tuple(sorted(open_, key=lambda mo: mo[1].due)),
                        prior or prior_for(agency_id, client_id, now),
                        rules.segment_for(profile, oldest_overdue_days=oldest), oldest)


# ---------------------------------------------------------------------------- the view


def _round(x: float | None, places: int = 1) -> float | None:
    return None if x is None else round(x, places)


def view(debtor: DebtorModel, now: datetime) -> dict:
    """The debtor's behaviour as the workspace and the API show it."""
    f = account_facts(debtor, now)
    p = f.profile
    today = now.date()
    preds = f.predictions(today)
    out = f.outlook(today)
    stored = debtor.segment
    return {
        "summary": rules.words(p),
        "segment": {"name": stored, "label": rules.SEGMENT_LABELS.get(stored or "", stored),
                    "reason": debtor.segment_reason,
                    # pinned by a person, or a client's own bucket: the recompute leaves it
                    "pinned": bool(debtor.segment_pinned) or (stored is not None
                                                              and stored not in rules.SEGMENTS),
                    "computed": f.segment.name, "computed_label": f.segment.label,
                    "computed_reason": f.segment.reason},
        "profile": {
            "paid_invoices": p.paid_count, "settled_invoices": p.settled_count,
            "mean_days_late": _round(p.mean_days_late),
            "weighted_days_late": _round(p.weighted_days_late),
            "typical_days_late": _round(p.typical_days_late),
            "spread_days": _round(p.spread_days), "trend_days": _round(p.trend_days),
            "trend": p.trend, "share_late": _round(p.share_late, 3),
            "paid_in_parts": p.in_parts, "invoices_seen": p.invoices_seen,
            "promises_made": p.promises_made, "promises_kept": p.promises_kept,
            "promises_broken": p.promises_broken, "disputes_raised": p.disputes_raised,
            "open_disputes": p.open_disputes,
            "channels": [{"channel": c.channel, "touches": c.touches, "answered": c.answered}
                         for c in p.channels],
            "best_channel": p.best_channel.channel if p.best_channel else None},
        "predictions": [{
            "invoice_id": m.invoice_id, "number": m.number, "due_date": m.due_date,
            "balance_minor": o.amount_minor, "currency": m.currency,
            "pay_on": x.pay_on.isoformat(), "days_late": x.days_late, "p_late": x.p_late,
            "expected_days_late": x.expected_days_late, "moved": x.reasons()}
            for m, o, x in preds],
        "expected_overdue_minor_days": out.expected_overdue_minor_days,
        "p_late": out.p_late, "expected_days_late": out.expected_days_late,
        "prior": {"invoices": f.prior.n, "typical_days_late": f.prior.center, "k": f.prior.k},
    }


# ------------------------------------------------------------------------ the recompute


def _segment_change(f: AccountFacts, mv: rules.SegmentMove):
    def change(d: DebtorModel) -> None:
        if d.segment_pinned:
            return  # pinned meanwhile: leave the specialist's choice
        d.segment, d.segment_reason = f.segment.name, mv.reason
    return change


def _segment_entry(agency_id: str, client_id: str, debtor_id: str, f: AccountFacts,
                   mv: rules.SegmentMove, now: datetime) -> TimelineModel:
    return timeline.entry(agency_id, client_id, debtor_id, "segment_changed", mv.summary,
                          actor="system", at=now,
                          data={"segment": f.segment.name, "reason": mv.reason},
                          entry_id=f"{iso(now)}#segment-{f.segment.name}")


def recompute_segment(agency_id: str, client_id: str, debtor_id: str, now: datetime,
                      *, prior: pr.Prior | None = None,
                      invoices: list[InvoiceModel] | None = None) -> rules.SegmentMove | None:
    """Put the debtor in the segment its behaviour says (unless pinned); a move is
    recorded on the timeline and re-plans the account (segments map to cadences). Nothing
    is written while the segment stays."""
    try:
        debtor = DebtorModel.get(client_key(agency_id, client_id), debtor_id,
                                 consistent_read=True)
    except DebtorModel.DoesNotExist:
        return None
    if debtor.status in ("in_collections", "written_off"):
        return None
    if invoices is None:
        invoices = accounts.debtor_invoices(debtor, consistent=True)
    f = account_facts(debtor, now, prior=prior, invoices=invoices)
    mv = rules.move(debtor.segment, bool(debtor.segment_pinned), f.segment)
    if not mv.changed:
        return mv
    was = debtor.segment
    # the invoices just read serve the account's recompute too (a conflict re-reads them);
    # the timeline entry and the event (the credit policy re-bands the debtor) are stored
    # in the account's transaction
    event = events.stage("segment_changed", agency_id=agency_id, client_id=client_id,
                         debtor_id=debtor_id, old=was, new=f.segment.name, pinned=False,
                         by="system", at=iso(now),
                         event_id=f"{agency_id}#ev#segment-{debtor_id}-{iso(now)}-{f.segment.name}")
    accounts.save_account(debtor, now, _segment_change(f, mv), invoices=invoices,
                          recompute_with=lambda d, invs: accounts.recompute(d, now, invs),
                          together=[(_segment_entry(agency_id, client_id, debtor_id, f, mv, now),
                                     TimelineModel.entry_id.does_not_exist())],
                          announced=[event])
    return mv


MOVES_PER_COMMIT = 49  # a debtor and its timeline entry each, and the event: ≤ 100 items


def _commit_moves(agency_id: str, client_id: str, client, moves: list, now: datetime) -> int:
    """Store many debtors' segment moves: per commit up to MOVES_PER_COMMIT debtors (each
    under its version, re-planned), their timeline entries and one `segment_changed` event
    naming them all, in one transaction. A commit another writer beat (a debtor moved
    meanwhile) is redone debtor by debtor through `recompute_segment`. Returns how many
    moved."""
    moved = 0
    for start in range(0, len(moves), MOVES_PER_COMMIT):
        chunk = moves[start:start + MOVES_PER_COMMIT]
        saves, named = [], []
        for debtor, f, mv, invoices in chunk:
            named.append({"debtor_id": debtor.debtor_id, "old": debtor.segment,
                          "new": f.segment.name})
            _segment_change(f, mv)(debtor)
            accounts.recompute(debtor, now, invoices, client=client)
            debtor.updated_at = iso(now)
            saves += [(debtor, None), (_segment_entry(agency_id, client_id, debtor.debtor_id,
                                                      f, mv, now),
                                       TimelineModel.entry_id.does_not_exist())]
        digest = hashlib.sha1(repr(sorted((m["debtor_id"], m["new"]) for m in named)).encode()
                              ).hexdigest()[:12]
        event = events.stage("segment_changed", agency_id=agency_id, client_id=client_id,
                             moves=named, by="system", at=iso(now),
                             event_id=f"{agency_id}#ev#segments-{iso(now)}-{digest}")
        try:
            events.commit(saves, [event])
            moved += len(chunk)
        except TransactWriteError:
            for debtor, _, _, invoices in chunk:  # one by one, from a fresh read
                mv = recompute_segment(agency_id, client_id, debtor.debtor_id, now,
                                       invoices=invoices, prior=chunk[0][1].prior)
                moved += bool(mv and mv.changed)
    return moved


def recompute_client(agency_id: str, client_id: str, debtor_ids: list[str],
                     now: datetime, *,
                     telling: Callable[[InvoiceModel], bool] | None = None) -> int:
    """After an import: refit the client's prior and recompute the segments of these
    debtors and of every debtor with an invoice `telling` says bears on it, reading the
    client's invoices once (one Query of `by_client_number`, an index: the import wrote
    them before announcing them), the debtors in batches and each one's timeline; the
    moves are stored in a few transactions (`_commit_moves`). Returns how many debtors
    moved."""
    ckey = client_key(agency_id, client_id)
    by_debtor = accounts.client_invoices_by_debtor(ckey)
    everything = [i for invs in by_debtor.values() for i in invs]
    prior = fit_prior(agency_id, client_id, now,
                      rows=[book_invoices.history_row(i) for i in everything if i.paid_latest])
    wanted = set(debtor_ids) | {i.debtor_id for i in everything
                                if telling is not None and telling(i)}
    if not wanted:
        return 0
    found = get_many([(ClientModel, agency_id, client_id),
                      *((DebtorModel, ckey, d) for d in sorted(wanted))], consistent=True)
    client = found.pop((ClientModel, agency_id, client_id), None)
    if client is None:
        raise ClientModel.DoesNotExist(f"client {client_id} is gone")
    moves = []
    for (_, _, debtor_id), debtor in sorted(found.items(), key=lambda kv: kv[0][2]):
        if debtor.status in ("in_collections", "written_off"):
            continue
        invoices = by_debtor.get(debtor_id, [])
        f = account_facts(debtor, now, prior=prior, invoices=invoices)
        mv = rules.move(debtor.segment, bool(debtor.segment_pinned), f.segment)
        if mv.changed:
            moves.append((debtor, f, mv, invoices))
    return _commit_moves(agency_id, client_id, client, moves, now)
