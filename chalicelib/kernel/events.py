"""Domain events inside one process: a capability announces what happened (a payment
applied, an invoice changed, a debtor acted on the hosted page) and others react, without
the announcer importing them. Handlers must be idempotent: the caller may be retried."""
from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from typing import Any

log = logging.getLogger("recoup.events")
Handler = Callable[..., None]
_handlers: dict[str, list[Handler]] = defaultdict(list)

# Event names in use (payload keys in brackets):
#   invoice_changed  (agency_id, client_id, debtor_id, invoice_id, old: dict|None, new: dict)
#                    or, for a batch (an import): (agency_id, client_id, batch_id, at,
#                    import_mode, changes=[{debtor_id, invoice_id, old, new}]);
#                    old/new are services.invoices.state(inv) taken after the save
#   promise_recorded (agency_id, client_id, debtor_id, promise_id, old: dict|None,
#                     new: dict|None [promised_on, due_date, amount_minor, kept], at)
#   escalation_changed (agency_id, client_id, debtor_id, escalation_id,
#                       status: requested|approved|recovered|closed, recovered_minor, at)
#   payment_applied allocations are [{invoice_id, amount_minor}]
#   payment_applied  (agency_id, client_id, debtor_id, payment_id, amount_minor, currency,
#                     allocations, source, at)
#   payment_reversed (agency_id, client_id, debtor_id, payment_id, amount_minor, currency, at)
#   debtor_action    (agency_id, client_id, debtor_id, action, details)
#                    action: plan_proposed | promise | dispute | question | opt_out |
#                            statement
#                    (published by payments/debtor_page.py from the hosted page)
#   call_task_needed (agency_id, client_id, debtor_id, reason, due_at, details)
#                    reason from payments: refund | chargeback | plan_broken
#   touch_sent       (agency_id, client_id, debtor_id, channel, step, at)


def subscribe(event: str, handler: Handler) -> None:
    if handler not in _handlers[event]:
        _handlers[event].append(handler)


def publish(event: str, **payload: Any) -> None:
    _load_subscribers()
    for handler in list(_handlers[event]):
        handler(**payload)


_loaded = False


_load_lock = threading.Lock()


def _load_subscribers() -> None:
    """Import the modules that subscribe (once), so publishers need not know them. Marked
    loaded only after the imports, under a lock: a second thread must not publish to an
    empty handler list while the first is still importing."""
    global _loaded
    if _loaded:
        return
    import importlib

    with _load_lock:
        if not _loaded:
            for name in SUBSCRIBERS:
                importlib.import_module(name)
            _loaded = True


# Modules whose import registers handlers; each capability adds its own line.
SUBSCRIBERS: list[str] = [
    "chalicelib.dunning.thanks",  # payment_applied -> thank-you message
    "chalicelib.reporting.subscribers",  # every money/touch event -> report aggregates
    "chalicelib.workbench.subscribers",  # needs and debtor actions -> call tasks
]
