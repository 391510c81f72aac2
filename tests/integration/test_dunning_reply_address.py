"""Each reminder email carries a reply address that finds the debtor again without naming
any id; an altered or unknown address finds nobody."""
from __future__ import annotations

from email import message_from_string

import pytest

from tests.conftest import FIXED_NOW
from tests.integration.dunning_kit import debtor, load_book, row, run_cadence
from tests.integration.test_dunning_feedback import EMAILS_ONLY
from datetime import timedelta

NOW = FIXED_NOW


@pytest.fixture
def tenant(dunning, tenants):
    return tenants[0]


def _raw_reply_to():
    from local import outbox

    [m] = outbox._backend("ses").sent_messages
    return message_from_string(m.raw_data)["Reply-To"]


def test_the_reminder_reply_address_leads_back_to_the_debtor_and_hides_ids(tenant):
    from chalicelib.dunning import reply_address

    load_book(tenant, [row("ACC9", "INV-90", "2026-11-25")], NOW - timedelta(days=1),
              settings={**EMAILS_ONLY, "reply_domain": "replies.acme.example"})
    assert run_cadence(NOW) == ["sent"]
    address = _raw_reply_to()
    d = debtor(tenant, "ACC9")
    assert address.startswith("reply+") and address.endswith("@replies.acme.example")
    for secret_id in (tenant.agency_id, tenant.client_id, d.debtor_id):
        assert secret_id not in address
    assert reply_address.resolve(address) == (tenant.agency_id, tenant.client_id, d.debtor_id)
    assert reply_address.resolve(address.upper()) == (tenant.agency_id, tenant.client_id,
                                                      d.debtor_id)
    token = address.split("+", 1)[1].split("@", 1)[0]
    altered = f"reply+{('a' if token[0] != 'a' else 'b') + token[1:]}@replies.acme.example"
    assert reply_address.resolve(altered) is None
    assert reply_address.resolve("ap@acme.example") is None


def test_without_a_reply_domain_the_client_reply_to_is_kept(tenant):
    load_book(tenant, [row("ACC8", "INV-80", "2026-11-25")], NOW - timedelta(days=1),
              settings=EMAILS_ONLY)
    assert run_cadence(NOW) == ["sent"]
    address = _raw_reply_to()
    assert address is None or not address.startswith("reply+")
