"""Where an account sits in the next-action index (the dunning sweep reads only due ones).

The shard spreads one big client's accounts over several index partitions.
"""
from __future__ import annotations

import zlib
from datetime import datetime

from chalicelib.kernel.clock import iso
from chalicelib.kernel.settings import get_settings
from chalicelib.store.models import DebtorModel, InvoiceModel


def shard_of(client_key: str, debtor_id: str, shards: int | None = None) -> str:
    n = shards or get_settings().sweep_shards
    return f"na#{zlib.crc32(f'{client_key}#{debtor_id}'.encode()) % n:02d}"


def set_next_action(debtor: DebtorModel, at: datetime | None) -> bool:
    """Place (or remove) the account in the sparse next-action index; True if changed."""
    if at is None:
        new = (None, None, None)
    else:
        when = iso(at)
        new = (when, shard_of(debtor.client_key, debtor.debtor_id),
               f"{when}#{debtor.client_key}#{debtor.debtor_id}")
    old = (debtor.next_action_at, debtor.na_shard, debtor.na_sort)
    if old == new:
        return False
    debtor.next_action_at, debtor.na_shard, debtor.na_sort = new
    return True


def apply_next_action(debtor: DebtorModel, invoices: list[InvoiceModel], now: datetime,
                      client=None) -> bool:
    """Compute the account's next action from its cadence and store it in the index."""
    from chalicelib.dunning import planner as dunning_plan

    return set_next_action(debtor, dunning_plan.next_action_at(debtor, invoices, now,
                                                               client=client))
