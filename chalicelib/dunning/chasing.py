"""Re-planning a client's accounts when what decides their chasing changes: activation
(preview -> active), a new cadence, contact window or thresholds. Each account's next
action is recomputed by the planner and saved with the one versioned account write."""
from __future__ import annotations

from datetime import datetime

from chalicelib.dunning import planner, scheduling
from chalicelib.kernel import events
from chalicelib.store import accounts
from chalicelib.store.keys import client_key
from chalicelib.store.models import ClientModel, DebtorModel

# settings keys whose change moves accounts' next actions
_BEARS_ON_CHASING = {"chasing", "cadence", "cadences", "segment_cadences", "contact_policy",
                     "thresholds", "first_contact", "sender_status"}


def replan(agency_id: str, client_id: str, now: datetime) -> int:
    """Recompute every account's next action; returns how many moved."""
    client = ClientModel.get(agency_id, client_id, consistent_read=True)
    moved = 0
    for debtor in DebtorModel.query(client_key(agency_id, client_id)):
        def next_action(d: DebtorModel, invoices: list) -> bool:
            return scheduling.set_next_action(
                d, planner.next_action_at(d, invoices, now, client=client))

        before = debtor.next_action_at
        saved = accounts.save_account(debtor, now, recompute_with=next_action)
        moved += saved.next_action_at != before
    return moved


def on_client_changed(*, agency_id, client_id, at, fields=None, **_):
    now = datetime.fromisoformat(str(at).replace("Z", "+00:00"))
    keys = {f.removeprefix("settings.") for f in (fields or [])}
    if "sender_email" in keys:  # a new sender: ask SES (a change of state re-plans)
        from chalicelib.dunning import sender

        sender.check(ClientModel.get(agency_id, client_id, consistent_read=True), now, ask=True)
    if keys & _BEARS_ON_CHASING:
        replan(agency_id, client_id, now)


events.subscribe("client_changed", on_client_changed)
