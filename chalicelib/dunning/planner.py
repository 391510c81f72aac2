"""The cadence planner: turns stored records into cadence facts and asks domain.cadence."""
from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from chalicelib.dunning import cadence as cad
from chalicelib.dunning.contact_window import ContactPolicy, default_policy, local_date
from chalicelib.kernel.clock import iso
from chalicelib.store.models import ClientModel, ContactModel, DebtorModel, InvoiceModel

# Below this balance no final notice is sent (settings.thresholds.final_notice_min_minor).
FINAL_NOTICE_MIN_MINOR = 5000
# Below this balance the cadence raises no call task (settings.thresholds.call_task_min_minor).
CALL_TASK_MIN_MINOR = 5000
# Debtor statuses that stop the cadence (the debtor's own stopped_reason wins).
_STOPPING_STATUSES = {"on_hold", "in_collections", "written_off"}


def cadence_for(client: ClientModel, debtor: DebtorModel) -> cad.Cadence:
    """The debtor's cadence: its own cadence_id, else its segment's, else the client's."""
    settings = client.settings or {}
    named = settings.get("cadences") or {}
    segments = settings.get("segment_cadences") or {}
    for key in (debtor.cadence_id, segments.get(debtor.segment or "")):
        if key and key in named:
            return cad.from_dict(named[key])
    if settings.get("cadence"):
        return cad.from_dict(settings["cadence"])
    return cad.DEFAULT_CADENCE


def _clock(value: Any, default: time) -> time:
    return time.fromisoformat(value) if isinstance(value, str) else default


def policy_for(client: ClientModel, consumer: bool) -> ContactPolicy:
    """The client's contact window (settings["contact_policy"]), else the safe default."""
    raw = (client.settings or {}).get("contact_policy")
    base = default_policy(consumer)
    if not raw:
        return base
    return ContactPolicy(
        business_days=frozenset(raw.get("business_days", base.business_days)),
        start=_clock(raw.get("start"), base.start), end=_clock(raw.get("end"), base.end),
        skip_holidays=bool(raw.get("skip_holidays", base.skip_holidays)), consumer=consumer)


# Countries whose people mostly live in one zone of several: (zone, is it a guess?). A
# guess is recorded on each touch (tz_source "country", tz_guess) so a person can fix it.
_MAIN_ZONE = {
    "US": ("America/New_York", True), "AU": ("Australia/Sydney", True),
    "CA": ("America/Toronto", True), "BR": ("America/Sao_Paulo", True),
    "MX": ("America/Mexico_City", True), "RU": ("Europe/Moscow", True),
    "ID": ("Asia/Jakarta", True), "KZ": ("Asia/Almaty", True), "CD": ("Africa/Kinshasa", True),
    "MN": ("Asia/Ulaanbaatar", True), "CL": ("America/Santiago", True),
    "DE": ("Europe/Berlin", False), "ES": ("Europe/Madrid", False),
    "PT": ("Europe/Lisbon", False), "NZ": ("Pacific/Auckland", False),
    "CY": ("Asia/Nicosia", False), "UA": ("Europe/Kyiv", False),
    "CN": ("Asia/Shanghai", False), "MY": ("Asia/Kuala_Lumpur", False),
    "AR": ("America/Argentina/Buenos_Aires", False), "EC": ("America/Guayaquil", False),
}
# phonenumberslite has no time-zone data: Australian landline area codes name the state.
_PHONE_ZONE = {"+612": "Australia/Sydney", "+613": "Australia/Melbourne",
               "+617": "Australia/Brisbane"}


def _country_zone(country: str | None) -> tuple[str, bool] | None:
    code = (country or "")[:2].upper()
    if code in _MAIN_ZONE:
        return _MAIN_ZONE[code]
    from babel.core import get_global

    zones = get_global("territory_zones").get(code) or []
    return (zones[0], False) if len(zones) == 1 else None


def _phone_zone(country: str | None, contacts: list[ContactModel]) -> str | None:
    for c in contacts:
        phone = (c.phone or "").replace(" ", "")
        if phone.startswith("+61") and (country or "")[:2].upper() in ("", "AU"):
            zone = _PHONE_ZONE.get(phone[:4])
            if zone:
                return zone
    return None


def zone_and_source(client: ClientModel, debtor: DebtorModel,
                    contacts: list[ContactModel] | None = None) -> tuple[str, str, bool]:
    """(zone, where it came from, whether it is a guess): the contact's stated zone (or
    the debtor's), else the country's (the phone's area for a country spanning zones),
    else the client's. source is contact | phone | country | client."""
    ordered = sorted(contacts or [], key=lambda c: c.role != "primary")
    for c in ordered:
        if c.timezone:
            return c.timezone, "contact", False
    if debtor.timezone:
        return debtor.timezone, "contact", False
    by_country = _country_zone(debtor.country)
    if by_country is not None and by_country[1]:
        phone = _phone_zone(debtor.country, ordered)
        if phone:
            return phone, "phone", False
    if by_country is not None:
        return by_country[0], "country", by_country[1]
    return client.timezone, "client", False


def time_zone(client: ClientModel, debtor: DebtorModel,
              contacts: list[ContactModel] | None = None) -> str:
    return zone_and_source(client, debtor, contacts)[0]


def _threshold(client: ClientModel, name: str, default: int) -> int:
    value = ((client.settings or {}).get("thresholds") or {}).get(name)
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 \
        else default


def final_notice_min(client: ClientModel) -> int:
    return _threshold(client, "final_notice_min_minor", FINAL_NOTICE_MIN_MINOR)


def call_task_min(client: ClientModel) -> int:
    return _threshold(client, "call_task_min_minor", CALL_TASK_MIN_MINOR)


def stopped_reason(debtor: DebtorModel) -> str | None:
    if debtor.stopped_reason:
        return debtor.stopped_reason
    if debtor.reply_waiting:
        return "reply_waiting"
    return debtor.status if debtor.status in _STOPPING_STATUSES else None


def _seen_on(invoice: InvoiceModel, tz: str | None) -> date | None:
    if not tz or not invoice.created_at:
        return None
    return local_date(datetime.fromisoformat(invoice.created_at.replace("Z", "+00:00")), tz)


def invoice_facts(invoices: list[InvoiceModel], tz: str | None = None) -> list[cad.InvoiceFact]:
    return [cad.InvoiceFact(i.invoice_id, date.fromisoformat(i.due_date), int(i.balance_minor),
                            i.currency, i.status, seen_on=_seen_on(i, tz)) for i in invoices]


def account_fact(client: ClientModel, debtor: DebtorModel, *,
                 contacts: list[ContactModel] | None = None,
                 channels: frozenset[str] = frozenset(cad.CHANNELS)) -> cad.AccountFact:
    last = debtor.last_touch_at
    return cad.AccountFact(
        tz=time_zone(client, debtor, contacts), country=debtor.country or client.country,
        consumer=debtor.kind == "consumer",
        paused_until=date.fromisoformat(debtor.paused_until[:10]) if debtor.paused_until else None,
        stopped_reason=stopped_reason(debtor), sent_keys=frozenset(debtor.touch_keys or ()),
        channels_allowed=channels,
        last_touch_at=datetime.fromisoformat(last.replace("Z", "+00:00")) if last else None,
        chased_from=date.fromisoformat(debtor.chased_from) if debtor.chased_from else None,
        final_min_minor=final_notice_min(client), call_min_minor=call_task_min(client),
        first_contact=(client.settings or {}).get("first_contact", True) is not False)


PREVIEW, ACTIVE = "preview", "active"


def chasing_mode(client: ClientModel) -> str:
    """preview: nothing is sent, the dry run shows what would be; active: chasing. A new
    client starts in preview (agency.clients); clients from before the switch are active."""
    return PREVIEW if (client.settings or {}).get("chasing") == PREVIEW else ACTIVE


def decide(client: ClientModel, debtor: DebtorModel, invoices: list[InvoiceModel],
           now: datetime, *, contacts: list[ContactModel] | None = None,
           channels: frozenset[str] = frozenset(cad.CHANNELS),
           cadence: cad.Cadence | None = None, simulate: bool = False) -> cad.Decision:
    """The one decision for an account. A client in preview never has anything due (the
    dry run passes simulate=True to see what would be; `cadence` tries a proposed one)."""
    if chasing_mode(client) == PREVIEW and not simulate:
        return cad.Decision(None, None, "preview")
    account = account_fact(client, debtor, contacts=contacts, channels=channels)
    return cad.decide(cadence or cadence_for(client, debtor), account,
                      invoice_facts(invoices, account.tz), now,
                      policy_for(client, debtor.kind == "consumer"))


def record_touch(debtor: DebtorModel, touch: cad.PlannedTouch, now: datetime, tz: str) -> None:
    """What a touch changes on the account (dispatch saves it; the dry run keeps it in
    memory): its invoice occurrences are sent, the first contact starts the cadence's
    clock, the last touch is now."""
    debtor.touch_keys = set(debtor.touch_keys or ()) | set(touch.covers)
    if touch.first_contact and not debtor.chased_from:
        debtor.chased_from = local_date(now, tz).isoformat()
    debtor.last_touch_at = iso(now)


def trim_touch_keys(keys: set[str], invoices: list[InvoiceModel]) -> set[str]:
    """Keep only keys of invoices still being chased, so the debtor item stays small."""
    live = {i.invoice_id for i in invoices if i.status in cad.CHASEABLE_STATUSES}
    return {k for k in keys if k.split("|", 1)[0] in live}


def next_action_at(debtor: DebtorModel, invoices: list[InvoiceModel], now: datetime,
                   client: ClientModel | None = None) -> datetime | None:
    """When the sweep should next look at this account (now if a touch is due already).

    Contacts are not read here (imports recompute thousands of accounts): every channel is
    assumed open; the dispatcher re-decides with the real contacts and corrects the time.
    """
    if client is None:
        agency_id, client_id = debtor.client_key.split("#", 1)
        client = ClientModel.get(agency_id, client_id)
    decision = decide(client, debtor, invoices, now)
    return now if decision.touch is not None else decision.next_action_at
