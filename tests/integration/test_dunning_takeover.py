"""Taking over a book: the first message to a debtor never written to introduces us on the
client's behalf and states the account, whatever the invoices' age; then the cadence goes
step by step at its normal spacing from that day; small balances never get a final notice."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import FIXED_NOW
from tests.integration.dunning_kit import entries, load_book, row, run_cadence, sent_emails

NOW = FIXED_NOW  # Wednesday 25 Nov 2026, 10:00 UTC (10:00 in London)
NINETY_DAYS_AGO = (NOW - timedelta(days=90)).date().isoformat()  # 2026-08-27


@pytest.fixture
def tenant(dunning, tenants):
    return tenants[0]


def _chase(days: int) -> dict[int, list[dict]]:
    """Run the timer at 10:00 each day for `days` days; the emails each day sent."""
    seen, by_day = 0, {}
    for day in range(days):
        run_cadence(NOW + timedelta(days=day))
        mails = sent_emails()
        by_day[day], seen = mails[seen:], len(mails)
    return {d: m for d, m in by_day.items() if m}


def test_a_taken_over_book_starts_with_a_statement_then_steps_at_the_cadences_pace(tenant):
    # GIVEN a book taken over today: two invoices 90 days overdue, one due next week
    load_book(tenant, [row("T1", "INV-T1", NINETY_DAYS_AGO, "1500.00", issued="2026-07-28"),
                       row("T1", "INV-T2", NINETY_DAYS_AGO, "250.00", issued="2026-07-28"),
                       row("T1", "INV-T3", "2026-12-02", "99.99")], NOW)
    # WHEN the cadence runs every day for seven weeks
    sent = _chase(50)
    # THEN day 1 brings one first-contact statement of every open invoice, in the client's
    # voice, not a final notice and no claim of earlier reminders
    first = sent[0]
    [mail] = first
    assert mail["subject"] == "Your account with Acme Ltd: £1,750.00 overdue"
    text = mail["text"]
    # (the agency introduces itself on the client's behalf: its name from onboarding)
    assert "Agency agA now looks after our customer accounts on our behalf" in text
    assert "£1,750.00 of it is overdue" in text
    assert "INV-T1  due 27 Aug 2026  £1,500.00  (overdue 90 days)" in text
    assert "INV-T3  due 2 Dec 2026  £99.99  (not yet due)" in text
    assert "Total: £1,849.99" in text
    assert "Final notice" not in text and "earlier reminders" not in text.lower()
    assert mail["attachments"] == ["statement.csv"]
    [touch] = [e for e in entries(tenant, "T1", "touch_sent")
               if e["data"]["template"] == "first_contact"]
    assert touch["data"]["step"] == "first-contact"
    # AND the next touches follow the cadence's spacing from that day (a text on day 3
    # falls back to email: no mobile), firmer only after real earlier touches
    days = sorted(sent)
    assert days[0] == 0 and days[1] >= 3
    subjects = [sent[d][0]["subject"] for d in days]
    finals = [d for d, s in zip(days, subjects) if s.startswith("Final notice")]
    firms = [d for d, s in zip(days, subjects) if s.startswith("Overdue")]
    # (day 3 is a Saturday: the friendly nudge waits for Monday, day 5)
    assert firms and finals and min(firms) >= 7 and min(finals) >= 30
    assert subjects[1] == "Payment reminder from Acme Ltd"
    assert all(b - a >= 2 for a, b in zip(days, days[1:]))  # the cadence's min gap


def test_a_small_balance_never_gets_a_final_notice(tenant):
    # GIVEN a taken-over debtor owing £17, 90 days overdue (below the default £50 floor)
    load_book(tenant, [row("T2", "INV-S1", NINETY_DAYS_AGO, "17.00", issued="2026-07-28")], NOW)
    # WHEN the cadence runs every day for seven weeks
    sent = _chase(50)
    # THEN it gets the first-contact statement and reminders, never a final notice
    subjects = [m["subject"] for mails in sent.values() for m in mails]
    assert subjects[0] == "Your account with Acme Ltd: £17.00 overdue"
    assert len(subjects) >= 2
    assert not any("Final" in s for s in subjects)
    assert not any("collections" in m["text"] for mails in sent.values() for m in mails)


def test_the_final_notice_floor_is_a_client_setting(tenant):
    # GIVEN a client whose floor is £10 and a debtor owing £17, 90 days overdue
    load_book(tenant, [row("T3", "INV-S2", NINETY_DAYS_AGO, "17.00", issued="2026-07-28")], NOW,
              settings={"thresholds": {"final_notice_min_minor": 1000}})
    # WHEN the cadence runs for seven weeks
    sent = _chase(50)
    # THEN a final notice does come, after the first contact and the earlier steps
    subjects = [m["subject"] for mails in sent.values() for m in mails]
    assert subjects[0].startswith("Your account with") and any(
        s.startswith("Final notice: £17.00 overdue") for s in subjects)


def test_without_first_contact_a_final_notice_claims_no_reminders_that_were_not_sent(tenant):
    # GIVEN a client that turned the first-contact statement off, and a debtor owing
    # £1,500 for 31 days who was never written to
    due = (NOW - timedelta(days=31)).date().isoformat()
    load_book(tenant, [row("T4", "INV-F1", due, "1500.00", issued="2026-09-25")],
              NOW, settings={"first_contact": False})
    # WHEN the cadence runs for three weeks
    sent = _chase(21)
    mails = [m for day in sorted(sent) for m in sent[day]]
    # THEN the first message is the final notice the invoice's age calls for, without
    # "despite our earlier reminders"; the repeat a week later, after a real one, says it
    assert mails[0]["subject"].startswith("Final notice")
    assert "earlier reminders" not in mails[0]["text"].lower()
    assert "The following invoice remains unpaid" in mails[0]["text"]
    later = [m for m in mails[1:] if m["subject"].startswith("Final notice")]
    assert later and "Despite our earlier reminders" in later[0]["text"]


def test_an_old_invoice_that_arrives_later_starts_its_own_steps_not_a_final_notice(tenant):
    # GIVEN a debtor taken over today and chased for six weeks (its clock is past due+30)
    load_book(tenant, [row("T5", "INV-A1", NINETY_DAYS_AGO, "900.00", issued="2026-07-28")],
              NOW)
    _chase(42)
    # WHEN the client's next book (six weeks on) shows INV-A1 paid and a new invoice, already
    # 60 days overdue, that was never mentioned to the debtor
    later = NOW + timedelta(days=42)
    old_due = (later - timedelta(days=60)).date().isoformat()
    load_book(tenant, [row("T5", "INV-A1", NINETY_DAYS_AGO, "900.00", paid="900.00",
                           issued="2026-07-28"),
                       row("T5", "INV-B2", old_due, "400.00", issued="2026-09-01")], later)
    before = len(sent_emails())
    for day in range(1, 4):
        run_cadence(later + timedelta(days=day))
    # THEN its first reminder is an ordinary one about INV-B2, not a final notice
    [first, *_] = sent_emails()[before:]
    assert "INV-B2" in first["text"]
    assert not first["subject"].startswith("Final notice")
    assert "collections" not in first["text"].lower()


def test_a_white_label_agency_writes_as_the_clients_own_accounts_team(tenant):
    load_book(tenant, [row("T6", "INV-W1", NINETY_DAYS_AGO, "300.00", issued="2026-07-28")],
              NOW, settings={"brand": {"white_label": True}})
    run_cadence(NOW)
    [mail] = sent_emails("ap@t6.example.com")
    assert "We are writing from the accounts team at Acme Ltd" in mail["text"]
    assert "Agency agA" not in mail["text"]


def test_a_small_balance_raises_no_call_task_unless_the_client_sets_a_lower_floor(tenant):
    from chalicelib.workbench import tasks

    # GIVEN two debtors 25 days overdue: one owing £30 (below the £50 call floor), one £300
    due = (NOW - timedelta(days=25)).date().isoformat()
    load_book(tenant, [row("C1", "INV-C1", due, "30.00", issued="2026-09-25",
                           phone="+447400123701"),
                       row("C2", "INV-C2", due, "300.00", issued="2026-09-25",
                           phone="+447400123702")], NOW,
              settings={"first_contact": False})
    # WHEN the cadence reaches its call step (due+21 has passed)
    run_cadence(NOW)
    # THEN only the £300 account is in the call queue
    from chalicelib.http.auth import Principal

    admin = Principal(tenant.agency_id, f"{tenant.agency_id}-admin", "admin")
    names = {t["debtor_name"] for t in tasks.list_queue(admin, limit=50, now=NOW)["items"]}
    assert names == {"C2 Ltd"}
