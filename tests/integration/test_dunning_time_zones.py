"""The debtor's time zone: the contact's, else the country's (the phone's area where a
country spans zones), else the client's; each touch records which. Amounts called overdue
are overdue on the send date in that zone."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from tests.conftest import FIXED_NOW
from tests.integration.dunning_kit import entries, load_book, row, run_cadence, sent_emails

NOW = FIXED_NOW  # Wednesday 25 Nov 2026, 10:00 UTC: 10:00 London, 21:00 Sydney, 11:00 Berlin


@pytest.fixture
def tenant(dunning, tenants):
    return tenants[0]


def _tz(tenant, ref: str) -> dict:
    [sent] = entries(tenant, ref, "touch_sent")
    return {k: sent["data"][k] for k in ("tz", "tz_source", "tz_guess")}


def test_an_australian_debtor_without_a_zone_is_chased_in_sydney_office_hours(tenant):
    # GIVEN a London client's debtor in Australia, no time-zone column, a mobile number
    load_book(tenant, [row("AU1", "INV-AU1", "2026-11-18", tz="", country="AU")], NOW)
    # WHEN the timer fires at 10:00 London (21:00 in Sydney)
    # THEN nothing is sent: it is the evening there
    assert run_cadence(NOW) == []
    assert sent_emails("ap@au1.example.com") == []
    # AND the next morning in Sydney (09:30 AEDT = 22:30 UTC) the reminder goes
    assert run_cadence(datetime(2026, 11, 25, 22, 30, tzinfo=timezone.utc)) == ["sent"]
    assert len(sent_emails("ap@au1.example.com")) == 1
    # AND the touch records that the zone is the country's most populous one, a guess
    assert _tz(tenant, "AU1") == {"tz": "Australia/Sydney", "tz_source": "country",
                                  "tz_guess": True}


def test_the_zone_comes_from_the_contact_the_phone_area_the_country_or_the_client(tenant):
    # GIVEN debtors: one with a stated zone, a Brisbane landline, a German one, one whose
    # row names no country (the import gives it the client's, GB)
    load_book(tenant, [
        row("Z1", "INV-Z1", "2026-11-18", tz="Europe/Paris", country="AU"),
        row("Z2", "INV-Z2", "2026-11-18", tz="", country="AU", phone="+61 7 3123 4567"),
        row("Z3", "INV-Z3", "2026-11-18", tz="", country="DE"),
        row("Z4", "INV-Z4", "2026-11-18", tz="", country=""),
    ], NOW)
    # WHEN each is chased in its own office hours
    run_cadence(NOW)
    run_cadence(datetime(2026, 11, 25, 23, 30, tzinfo=timezone.utc))  # 09:30 Brisbane
    # THEN each touch says where its zone came from
    assert _tz(tenant, "Z1") == {"tz": "Europe/Paris", "tz_source": "contact", "tz_guess": False}
    assert _tz(tenant, "Z2") == {"tz": "Australia/Brisbane", "tz_source": "phone",
                                 "tz_guess": False}
    assert _tz(tenant, "Z3") == {"tz": "Europe/Berlin", "tz_source": "country",
                                 "tz_guess": False}
    assert _tz(tenant, "Z4") == {"tz": "Europe/London", "tz_source": "country",
                                 "tz_guess": False}
    # AND a debtor with no zone and no country known gets the client's
    from chalicelib.dunning import planner
    from chalicelib.store.models import ClientModel, DebtorModel

    client = ClientModel.get(tenant.agency_id, tenant.client_id)
    assert planner.zone_and_source(client, DebtorModel(country=None, timezone=None), []) \
        == (client.timezone, "client", False)


def test_an_invoice_due_tomorrow_in_the_debtors_zone_is_not_called_overdue(tenant):
    # GIVEN a Sydney debtor, 09:30 on Thursday 26 Nov there (still the 25th in London), with
    # INV-OLD long overdue, INV-YDAY due the 25th (overdue in Sydney, not yet in London) and
    # INV-TMRW due the 27th (tomorrow in Sydney)
    at = datetime(2026, 11, 25, 22, 30, tzinfo=timezone.utc)
    load_book(tenant, [
        row("S1", "INV-OLD", "2026-10-20", "1000.00", tz="Australia/Sydney", country="AU"),
        row("S1", "INV-YDAY", "2026-11-25", "50.00", tz="Australia/Sydney", country="AU"),
        row("S1", "INV-TMRW", "2026-11-27", "100.00", tz="Australia/Sydney", country="AU"),
    ], at)
    # WHEN the debtor is chased
    assert run_cadence(at) == ["sent"]
    [mail] = sent_emails("ap@s1.example.com")
    # THEN the amount called overdue is what is overdue in Sydney that day
    assert "GBP1,050.00 overdue" in mail["subject"]  # en_AU writes pounds as GBP
    assert "1,150.00 overdue" not in mail["subject"]
    # AND tomorrow's invoice is listed as not yet overdue; the total is the whole list
    [line] = [x for x in mail["text"].splitlines() if "INV-TMRW" in x]
    assert line.endswith("(not yet due)")
    [line] = [x for x in mail["text"].splitlines() if "INV-YDAY" in x]
    assert "not yet overdue" not in line
    assert "Total: " in mail["text"] and "1,150.00" in mail["text"]
