"""Key and id helpers: every key starts with the agency id; ids are deterministic where
re-imports must land on the same item, random elsewhere, never sequential."""
from __future__ import annotations

import secrets
import uuid

_NS = uuid.UUID("6f1c3c1e-5b0a-4e43-9a38-5d1f0e0c2a71")


def client_key(agency_id: str, client_id: str) -> str:
    return f"{agency_id}#{client_id}"


def debtor_key(agency_id: str, client_id: str, debtor_id: str) -> str:
    return f"{agency_id}#{client_id}#{debtor_id}"


def split_debtor_key(key: str) -> tuple[str, str, str]:
    agency_id, client_id, debtor_id = key.split("#", 2)
    return agency_id, client_id, debtor_id


def _stable(*parts: str) -> str:
    return uuid.uuid5(_NS, "\x1f".join(parts)).hex[:20]


def debtor_id_for(agency_id: str, client_id: str, account_ref: str) -> str:
    return "d" + _stable(agency_id, client_id, "debtor", account_ref.strip().upper())


def invoice_id_for(agency_id: str, client_id: str, number: str) -> str:
    return "i" + _stable(agency_id, client_id, "invoice", number.strip().upper())


def new_id(prefix: str) -> str:
    return prefix + secrets.token_hex(10)
