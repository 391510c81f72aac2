"""Numbered versions of a client's editable texts (call scripts, cadences, templates): one
item per version in the call_tasks table under the client's partition, range key
``{prefix}{number:06d}``, so a thing's versions are one Query, newest first. A save is a
conditional put of the next number: two admins saving at once get two versions, never one
overwriting the other."""
from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from pynamodb.exceptions import PutError
from pynamodb.models import Model

from chalicelib.kernel.errors import Conflict

M = TypeVar("M", bound=Model)


def _range(model: type[Model]):
    return model._range_key_attribute()


def history(model: type[M], hash_key: str, prefix: str, limit: int | None = None) -> list[M]:
    """The versions under `prefix`, newest first."""
    return list(model.query(hash_key, _range(model).startswith(prefix),
                            scan_index_forward=False, limit=limit, consistent_read=True))


def latest(model: type[M], hash_key: str, prefix: str) -> M | None:
    found = history(model, hash_key, prefix, limit=1)
    return found[0] if found else None


def append(model: type[M], hash_key: str, prefix: str,
           build: Callable[[int, str], M]) -> M:
    """Store the next version: `build(number, range_key)` makes the item."""
    for _ in range(5):
        live = latest(model, hash_key, prefix)
        number = (int(live.number) if live else 0) + 1
        item = build(number, f"{prefix}{number:06d}")
        try:
            item.save(condition=_range(model).does_not_exist())
            return item
        except PutError:
            continue  # another admin saved that number meanwhile: take the next one
    raise Conflict("it kept changing; reload and try again")
