"""The first touch of a taken-over account and the small-balance floor, in the domain."""
from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timezone

from chalicelib.dunning.cadence import DEFAULT_CADENCE, AccountFact, InvoiceFact, decide
from chalicelib.dunning.contact_window import B2B_POLICY

UTC = timezone.utc


def test_an_old_never_touched_account_gets_a_statement_then_the_next_step_at_its_spacing():
    # GIVEN an account never written to, invoices 200 days overdue and one not yet due
    account = AccountFact(tz="Europe/London", country="GB", first_contact=True)
    invs = [InvoiceFact("OLD", date(2026, 5, 1), 500_00, "GBP"),
            InvoiceFact("NEW", date(2026, 12, 31), 10_00, "GBP")]
    now = datetime(2026, 11, 17, 10, tzinfo=UTC)  # Tuesday
    # WHEN the cadence decides
    d = decide(DEFAULT_CADENCE, account, invs, now, B2B_POLICY)
    # THEN a friendly first-contact statement listing every open invoice, by email
    t = d.touch
    assert (t.template, t.tone, t.channel, t.first_contact) == ("first_contact", "friendly",
                                                                "email", True)
    assert t.invoice_ids == ("OLD", "NEW") and t.covers == ("OLD|due#0",)
    # AND the next look is the cadence's next step (due+3) from today, not a final notice
    assert d.next_action_at == datetime(2026, 11, 20, 9, tzinfo=UTC)
    after = replace(account, sent_keys=frozenset(t.covers), last_touch_at=now,
                    chased_from=date(2026, 11, 17))
    nxt = decide(DEFAULT_CADENCE, after, invs, d.next_action_at, B2B_POLICY).touch
    assert (nxt.occurrence_key, nxt.tone, nxt.first_contact) == ("due+3#0", "friendly", False)


def test_no_final_step_below_the_floor():
    # GIVEN a £17 account already chased for weeks, below a £50 floor
    account = AccountFact(tz="Europe/London", final_min_minor=50_00,
                          last_touch_at=datetime(2026, 10, 1, 10, tzinfo=UTC))
    d = decide(DEFAULT_CADENCE, account, [InvoiceFact("S", date(2026, 5, 1), 17_00, "GBP")],
               datetime(2026, 11, 17, 10, tzinfo=UTC), B2B_POLICY)
    # THEN the firmest step it may get is a firm one
    assert d.touch.tone == "firm" and d.touch.occurrence_key == "due+21#0"
