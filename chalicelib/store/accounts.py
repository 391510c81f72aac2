"""A debtor account's position (balance, overdue, oldest due) kept on the debtor item,
recomputed from what is still owed whenever its invoices change."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import Any

from pynamodb.exceptions import PutError, TransactWriteError

from chalicelib.kernel.clock import iso
from chalicelib.book.invoice_rules import position
from chalicelib.store.models import DebtorModel, InvoiceModel


def apply_position(debtor: DebtorModel, invoices: list[InvoiceModel], today: date) -> bool:
    """Set the account's position fields; True if anything changed."""
    pos = position([(i.status, date.fromisoformat(i.due_date), int(i.balance_minor))
                    for i in invoices], today)
    new = {"balance_minor": pos.balance_minor, "overdue_minor": pos.overdue_minor,
           "open_invoices": pos.open_invoices,
           "oldest_due": pos.oldest_due.isoformat() if pos.oldest_due else None}
    changed = False
    for k, v in new.items():
        if getattr(debtor, k) != v:
            setattr(debtor, k, v)
            changed = True
    return changed


def debtor_invoices(debtor: DebtorModel, consistent: bool = False) -> list[InvoiceModel]:
    key = f"{debtor.client_key}#{debtor.debtor_id}"
    return list(InvoiceModel.query(key, consistent_read=consistent))


def client_invoices_by_debtor(client_key: str) -> dict[str, list[InvoiceModel]]:
    """Every invoice of a client, by debtor, in one paged read of `by_client_number` (an
    index: eventually consistent; for readers of the whole book, not a debtor's decision)."""
    out: dict[str, list[InvoiceModel]] = {}
    for i in InvoiceModel.by_client_number.query(client_key):
        out.setdefault(i.debtor_id, []).append(i)
    return out


def recompute(debtor: DebtorModel, now: datetime,
              invoices: list[InvoiceModel] | None = None, client=None) -> bool:
    """Set the account's position and next action from its invoices (the caller saves)."""
    from chalicelib.dunning import scheduling

    invs = invoices if invoices is not None else debtor_invoices(debtor, consistent=True)
    changed = apply_position(debtor, invs, now.date())
    changed |= scheduling.apply_next_action(debtor, invs, now, client=client)
    return changed


def save_account(debtor: DebtorModel, now: datetime,
                 change: Callable[[DebtorModel], None] | None = None, attempts: int = 5,
                 recompute_with: Callable[[DebtorModel, list[InvoiceModel]], bool] | None = None,
                 invoices: list[InvoiceModel] | None = None,
                 together: Sequence[tuple[Any, Any]] = (),
                 announced: Sequence[Any] = ()) -> DebtorModel:
    """The one versioned account write: apply `change`, recompute position and next action
    (or `recompute_with(debtor, invoices)`), save under the item's version; on a conflict
    re-read the debtor and its invoices and do it all again (another writer got there
    first). Returns the saved (or unchanged) debtor; PutError (TransactWriteError with
    companions) after `attempts` conflicts. `invoices`, when the caller has just read
    them, saves the first re-read.

    `together` ((item, condition) pairs) and `announced` (staged outbox events) are written
    in the same DynamoDB transaction as the account (one request: what the change caused
    is stored with it, or nothing is). A companion whose condition fails is taken as
    already stored by an earlier attempt (put-if-absent entries) and left out."""
    if recompute_with is not None and invoices is None:
        invoices = debtor_invoices(debtor, consistent=True)
    together, announced = list(together), list(announced)
    for attempt in range(attempts):
        if change is not None:
            change(debtor)
        if recompute_with is not None:
            moved = recompute_with(debtor, invoices)
        else:
            moved = recompute(debtor, now)
        if not moved and change is None and not together and not announced:
            return debtor  # nothing moved: no write
        debtor.updated_at = iso(now)
        try:
            if together or announced:
                commit_with(debtor, together, announced)
            else:
                debtor.save()
            return debtor
        except (PutError, TransactWriteError):
            if attempt == attempts - 1:
                raise
            debtor.refresh(consistent_read=True)
            if recompute_with is not None:
                invoices = debtor_invoices(debtor, consistent=True)
    return debtor


def commit_with(debtor: DebtorModel | None, together: list, announced: list) -> None:
    """One transaction: the account (under its version, when given), the companion items
    and the events. A companion or event whose condition fails is already stored (a
    retried writer): it is dropped and the rest committed again. Raises
    TransactWriteError when the account's own version check fails (or for any other
    reason a transaction is refused)."""
    from chalicelib.kernel import events

    head = [(debtor, None)] if debtor is not None else []
    while True:
        try:
            events.commit(head + together, announced)
            return
        except TransactWriteError as exc:
            reasons = [getattr(r, "code", None) for r in (exc.cancellation_reasons or [])]
            if len(reasons) != len(head) + len(together) + len(announced):
                raise
            if head and reasons[0] == "ConditionalCheckFailed":
                raise  # the account moved: the caller re-reads and redoes its change
            rest = reasons[len(head):]
            failed = {i for i, code in enumerate(rest) if code == "ConditionalCheckFailed"}
            if not failed or any(code not in (None, "None", "ConditionalCheckFailed")
                                 for code in rest):
                raise
            n = len(together)
            together = [x for i, x in enumerate(together) if i not in failed]
            announced = [x for i, x in enumerate(announced) if i + n not in failed]
            if not head and not together and not announced:
                return
