"""Fixtures the functional tests share."""
from __future__ import annotations

import pytest

from chalicelib.book import importer
from tests.conftest import BOOKS, FIXED_NOW


@pytest.fixture
def book(tenants):
    """The generic Acme sample book imported into the first tenant (test_portal.py adds a
    debtor with formula text to its own)."""
    a, b = tenants
    importer.import_book(a.agency_id, a.client_id, (BOOKS / "acme_generic.csv").read_bytes(),
                         actor="t", now=FIXED_NOW)
    return a, b
