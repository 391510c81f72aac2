"""Link tokens without a database: signature, expiry and malformed input all fail alike."""
from __future__ import annotations

from datetime import timedelta

import pytest

from chalicelib.payments import links
from chalicelib.payments.debtor_page import _colour, contrast_with_white
from tests.conftest import FIXED_NOW


def test_a_fresh_token_verifies_to_its_account():
    token = links.make_token("agA", "c1", "d1", FIXED_NOW)
    link = links.verify(token, FIXED_NOW + timedelta(days=29))
    assert (link.agency_id, link.client_id, link.debtor_id) == ("agA", "c1", "d1")


@pytest.mark.parametrize("mangle", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
    lambda t: "x" + t,
    lambda t: t.split(".")[0],
    lambda t: t + ".extra",
    lambda t: "",
    lambda t: "%%%.###",
])
def test_any_change_to_a_token_is_not_found(mangle):
    token = links.make_token("agA", "c1", "d1", FIXED_NOW)
    with pytest.raises(links.LinkNotFound):
        links.verify(mangle(token), FIXED_NOW)


def test_a_token_expires_after_its_days():
    token = links.make_token("agA", "c1", "d1", FIXED_NOW, days=1)
    with pytest.raises(links.LinkNotFound):
        links.verify(token, FIXED_NOW + timedelta(days=1))


def test_brand_colours_must_be_readable_under_white_text():
    assert contrast_with_white("#1f4e79") > 7
    assert _colour("#ffff00", "#000080") == "#000080"  # yellow: unreadable, default used
    assert _colour("#123456", "#000080") == "#123456"
