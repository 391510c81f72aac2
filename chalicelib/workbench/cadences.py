"""The cadence and template editor's use cases (the workspace pages and the JSON API):
a client's cadences (its own, named ones and which segment uses which), a proposed cadence's
dry-run effect next to the current one, saving through ``agency.clients.update_client``
(which announces client_changed, so accounts are re-planned), per-client template
overrides checked against a real debtor, every saved version kept (``versions``,
``SettingsVersionModel``: who, when) and restorable, and "send me a test" to the signed-in
user's own address.

The live values stay where chasing reads them: ``settings["cadence"]``,
``settings["cadences"]``, ``settings["segment_cadences"]`` (``dunning.planner.cadence_for``)
and ``settings["templates"]`` (``dunning.messages``)."""
from __future__ import annotations

import copy
import re
from datetime import datetime
from urllib.parse import quote

from jinja2 import TemplateError, UndefinedError
from jinja2.sandbox import SecurityError

from chalicelib.agency import clients as agency_clients
from chalicelib.dunning import cadence as cad
from chalicelib.dunning import channels, dispatch, preview, sender
from chalicelib.dunning.channels import Message
from chalicelib.dunning.routing import Route, routes
from chalicelib.http.access import load_client, require_admin, require_staff
from chalicelib.http.auth import Principal
from chalicelib.http.schemas import ClientPatch
from chalicelib.kernel.clock import iso
from chalicelib.kernel.settings import get_settings
from chalicelib.kernel.errors import Conflict, FieldProblem, NotFound, ValidationFailed
from chalicelib.dunning import messages
from chalicelib.store.keys import client_key
from chalicelib.store.models import ClientModel, DebtorModel, UserModel
from chalicelib.workbench import call_scripts
from chalicelib.workbench import versions as store
from chalicelib.workbench.models import SettingsVersionModel

CLIENT = "client"  # the slot of settings["cadence"]; any other slot is a named cadence id
KINDS = ("cadence", "template")
TEMPLATE_CHANNELS = ("email", "sms", "letter")
_TEMPLATE_NAME = re.compile(r"^(email|sms|letter)/([A-Za-z0-9_]{1,60})\.(txt|html)\.j2$")
TEMPLATE_MAX = 8000
_TONE_OF = {"friendly": "friendly", "firm": "firm", "final": "final"}


# ------------------------------------------------------------------------------ versions


def _prefix(kind: str, name: str) -> str:
    return f"{kind}#{quote(name, safe='')}#"


def _version_dict(m: SettingsVersionModel) -> dict:
    return {"kind": m.kind, "name": m.name, "version": int(m.number), "body": m.body,
            "note": m.note, "created_by": m.created_by, "created_at": m.created_at}


def _history(agency_id: str, client_id: str, kind: str, name: str,
             limit: int | None = None) -> list[SettingsVersionModel]:
    return store.history(SettingsVersionModel, client_key(agency_id, client_id),
                         _prefix(kind, name), limit=limit)


def _record(p: Principal, client_id: str, kind: str, name: str, body, note: str | None,
            now: datetime, before=None, had_before: bool = False) -> SettingsVersionModel:
    """Keep this saved value as the next version; the first save of a thing also keeps what
    was live before it (so the original can be restored)."""
    ckey = client_key(p.agency_id, client_id)
    prefix = _prefix(kind, name)

    def build(body, note, by):
        return lambda number, key: SettingsVersionModel(
            ckey, key, kind=kind, name=name, number=number, body=body, note=note,
            created_by=by, created_at=iso(now))

    if had_before and store.latest(SettingsVersionModel, ckey, prefix) is None:
        store.append(SettingsVersionModel, ckey, prefix,
                     build(before, "as it was before the first edit here", p.user_id))
    return store.append(SettingsVersionModel, ckey, prefix, build(body, note, p.user_id))


def list_versions(p: Principal, client_id: str, kind: str, name: str) -> dict:
    """A cadence's or template's saved versions, newest first (staff read)."""
    require_staff(p)
    load_client(p, client_id)
    if kind not in KINDS:
        raise ValidationFailed.one("kind", "must be cadence or template")
    if not name or len(name) > 120:
        raise ValidationFailed.one("name", "the cadence slot or template name (1-120)")
    return {"kind": kind, "name": name,
            "items": [_version_dict(m) for m in _history(p.agency_id, client_id, kind, name)],
            "next_cursor": None}


def restore(p: Principal, client_id: str, kind: str, name: str, number: int, *,
            now: datetime) -> dict:
    """Make an earlier version live again (admin): saved like an edit, as a new version."""
    require_admin(p)
    load_client(p, client_id)
    if kind not in KINDS:
        raise ValidationFailed.one("kind", "must be cadence or template")
    found = [m for m in _history(p.agency_id, client_id, kind, name) if int(m.number) == number]
    if not found:
        raise NotFound("version")
    body, note = found[0].body, f"restored version {number}"
    if kind == "cadence":
        return save_cadence(p, client_id, name, body, note=note, now=now)
    return save_template(p, client_id, name, (body or {}).get("text"), note=note, now=now)


# ------------------------------------------------------------------------------ cadences


def parse_cadence(data) -> cad.Cadence:
    """A cadence from its dict, refused (422) naming the field: cadence.steps[2].tone."""
    try:
        return cad.from_dict(data)
    except cad.CadenceError as exc:
        raise ValidationFailed.one(f"cadence.{exc.field}", exc.reason) from None


def _live(client: ClientModel, slot: str) -> dict | None:
    settings = client.settings or {}
    if slot == CLIENT:
        return settings.get("cadence") or None
    return (settings.get("cadences") or {}).get(slot)


def cadence_of(client: ClientModel, slot: str) -> cad.Cadence:
    raw = _live(client, slot)
    if raw is None:
        if slot == CLIENT:
            return cad.DEFAULT_CADENCE
        raise NotFound("cadence")
    return cad.from_dict(raw)


def _slots(client: ClientModel) -> list[dict]:
    settings = client.settings or {}
    segments = settings.get("segment_cadences") or {}
    out = [{"slot": CLIENT, "title": "The client's cadence", "default": not _live(client, CLIENT),
            "segments": [], "cadence": cad.to_dict(cadence_of(client, CLIENT))}]
    for cid in sorted(settings.get("cadences") or {}):
        try:
            body = cad.to_dict(cad.from_dict(settings["cadences"][cid]))
        except cad.CadenceError:
            body = settings["cadences"][cid]
        out.append({"slot": cid, "title": f"Named cadence {cid}", "default": False,
                    "segments": sorted(s for s, c in segments.items() if c == cid),
                    "cadence": body})
    return out


def overview(p: Principal, client_id: str) -> dict:
    """The client's cadences (its own and the named ones with the segments they serve)."""
    require_staff(p)
    client = load_client(p, client_id)
    return {"client_id": client_id, "items": _slots(client),
            "segment_cadences": dict((client.settings or {}).get("segment_cadences") or {}),
            "templates": template_list(client), "next_cursor": None}


def with_cadence(client: ClientModel, slot: str, body: dict) -> ClientModel:
    trial = copy.deepcopy(client)
    settings = dict(trial.settings or {})
    if slot == CLIENT:
        settings["cadence"] = body
    else:
        settings["cadences"] = {**(settings.get("cadences") or {}), slot: body}
    trial.settings = settings
    return trial


def _counts(dry: dict) -> dict:
    return {"messages_total": dry["messages_total"], "accounts": dry["accounts"],
            "accounts_contacted": dry["accounts_contacted"], "by_step": dry["by_step"],
            "by_channel": dry["by_channel"],
            "days": [{"date": d["date"], "messages": d["messages"]} for d in dry["days"]]}


def effect(p: Principal, client_id: str, slot: str, data, *, now: datetime,
           days: int = 14) -> dict:
    """The dry run with the proposed cadence in this slot next to the current one: each
    debtor still gets its own cadence (a segment's edit moves only that segment)."""
    require_staff(p)
    client = load_client(p, client_id)
    proposed = parse_cadence(data)
    _check_slot(client, slot, proposed)
    current = _counts(preview.preview(client, now, days=days, messages_limit=0))
    trial = _counts(preview.preview(with_cadence(client, slot, cad.to_dict(proposed)), now,
                                    days=days, messages_limit=0))
    steps = sorted(set(current["by_step"]) | set(trial["by_step"]))
    return {"slot": slot, "days": days, "current": current, "proposed": trial,
            "steps": [{"step": s, "current": current["by_step"].get(s, 0),
                       "proposed": trial["by_step"].get(s, 0)} for s in steps],
            "change": trial["messages_total"] - current["messages_total"]}


def _check_slot(client: ClientModel, slot: str, cadence: cad.Cadence) -> None:
    if slot != CLIENT and cadence.id != slot:
        raise ValidationFailed.one("cadence.id", f"must stay {slot!r}: a new id is a new cadence")


def save_cadence(p: Principal, client_id: str, slot: str, data, *, note: str | None = None,
                 now: datetime) -> dict:
    """Store the cadence in its slot (admin) and keep it as a version; chasing re-plans the
    client's accounts (client_changed). `data` None puts the client back on ours."""
    require_admin(p)
    client = load_client(p, client_id)
    before = _live(client, slot)
    if data is None:
        if slot != CLIENT:
            raise ValidationFailed.one("cadence", "a named cadence cannot be empty")
        body = None
    else:
        proposed = parse_cadence(data)
        if slot != CLIENT and not _SLOT_ID.match(slot):
            raise ValidationFailed.one("cadence.id", "1-64 letters, digits or _ . -")
        _check_slot(client, slot, proposed)
        body = cad.to_dict(proposed)
    if slot == CLIENT:
        patch = {"cadence": body}
    else:
        patch = {"cadences": {**((client.settings or {}).get("cadences") or {}), slot: body}}
    agency_clients.update_client(p, client_id, ClientPatch(settings=patch), now=now)
    version = _record(p, client_id, "cadence", slot, body, note, now, before=before,
                      had_before=before is not None or slot == CLIENT)
    return {"slot": slot, "cadence": body or cad.to_dict(cad.DEFAULT_CADENCE),
            "default": body is None, "version": _version_dict(version)}


_SLOT_ID = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def assign_segment(p: Principal, client_id: str, segment: str, cadence_id: str | None, *,
                   now: datetime) -> dict:
    """Which named cadence a segment's debtors get (None: the client's own)."""
    require_admin(p)
    client = load_client(p, client_id)
    segment = (segment or "").strip()
    if not segment or len(segment) > 200:
        raise ValidationFailed.one("segment", "1-200 characters")
    if cadence_id and cadence_id not in ((client.settings or {}).get("cadences") or {}):
        raise ValidationFailed.one("cadence_id", f"no named cadence {cadence_id!r}")
    mapping = dict((client.settings or {}).get("segment_cadences") or {})
    if cadence_id:
        mapping[segment] = cadence_id
    else:
        mapping.pop(segment, None)
    agency_clients.update_client(p, client_id, ClientPatch(
        settings={"segment_cadences": mapping}), now=now)
    return {"segment_cadences": mapping}


# ------------------------------------------------------------- the API's PATCH of a client

EDITED = ("cadence", "cadences", "templates")  # the settings only this module saves


def _named(prefix: str, err: ValidationFailed) -> ValidationFailed:
    """A refusal of the editor's fields named as the PATCH body has them: a cadence's
    "cadence.steps[2].tone" under `prefix` "settings.cadence" reads
    "settings.cadence.steps[2].tone"; a template's "text" reads `prefix` itself."""
    fields = []
    for f in err.fields:
        rest = f.field.removeprefix("cadence").lstrip(".") if f.field.startswith("cadence") \
            else ""
        fields.append(FieldProblem(f"{prefix}.{rest}" if rest else prefix, f.reason))
    return ValidationFailed("; ".join(f"{f.field}: {f.reason}" for f in fields), fields)


def update_client(p: Principal, client_id: str, patch: ClientPatch, *, now: datetime) -> dict:
    """PATCH /v1/clients/{id}: the client's details through ``agency.clients.update_client``;
    its cadences and templates (``settings.cadence``, ``settings.cadences``,
    ``settings.templates``) through ``save_cadence`` / ``save_template``, as the editor
    saves them: validated, each change kept as a version (note "changed through the API").
    Every cadence and template is checked before anything is saved."""
    require_admin(p)
    client = load_client(p, client_id)
    settings = dict(patch.settings or {})
    edits = {k: settings.pop(k) for k in EDITED if k in settings}
    live = client.settings or {}
    cadences: list[tuple[str, dict | None]] = []
    templates: list[tuple[str, str | None]] = []
    if "cadence" in edits and edits["cadence"] != (live.get("cadence") or None):
        cadences.append((CLIENT, edits["cadence"] or None))
    named = edits.get("cadences")
    if named is not None:
        if not isinstance(named, dict):
            raise ValidationFailed.one("settings.cadences", "must be an object of id: cadence")
        for slot, body in named.items():
            if body is None:
                raise ValidationFailed.one(f"settings.cadences.{slot}",
                                           "a named cadence cannot be removed")
            if body != (live.get("cadences") or {}).get(slot):
                cadences.append((slot, body))
    own = edits.get("templates")
    if own is not None:
        if not isinstance(own, dict):
            raise ValidationFailed.one("settings.templates", "must be an object of name: text")
        have = live.get("templates") or {}
        templates = [(n, t) for n, t in own.items() if t != have.get(n)]
        templates += [(n, None) for n in have if n not in own]  # the object replaces them
    for slot, body in cadences:  # every change checked first: a refusal saves nothing
        where = "settings.cadence" if slot == CLIENT else f"settings.cadences.{slot}"
        try:
            if body is not None:
                proposed = parse_cadence(body)
                if slot != CLIENT:
                    if not _SLOT_ID.match(slot):
                        raise ValidationFailed.one("cadence.id", "1-64 letters, digits or _ . -")
                    _check_slot(client, slot, proposed)
        except ValidationFailed as err:
            raise _named(where, err) from None
    debtor = None
    for name, text in templates:
        try:
            if not isinstance(text, str | None):
                raise ValidationFailed.one("text", "must be the template's text or null")
            template_parts(name)
            if text is not None:
                debtor = debtor or _debtor(client, None)
                _render_template(client, name, text, debtor, now)
        except ValidationFailed as err:
            raise _named(f"settings.templates.{name}", err) from None
    rest = patch.model_dump(exclude_unset=True)
    rest.pop("settings", None)
    if settings:
        rest["settings"] = settings
    if rest:
        agency_clients.update_client(p, client_id, ClientPatch(**rest), now=now)
    note = "changed through the API"
    for slot, body in cadences:
        save_cadence(p, client_id, slot, body, note=note, now=now)
    for name, text in templates:
        save_template(p, client_id, name, text, note=note, now=now)
    return agency_clients.get_client(p, client_id)


# --------------------------------------------------------------------------- rendering


def _debtor(client: ClientModel, debtor_id: str | None) -> DebtorModel:
    ckey = client_key(client.agency_id, client.client_id)
    if debtor_id:
        try:
            return DebtorModel.get(ckey, debtor_id)
        except DebtorModel.DoesNotExist:
            raise ValidationFailed.one("debtor_id", "no such debtor of this client") from None
    found = sorted(DebtorModel.query(ckey, limit=50), key=lambda d: d.name.lower())
    if not found:
        raise ValidationFailed.one("debtor_id", "the client has no debtor to render for yet")
    return found[0]


def debtor_choices(client: ClientModel, limit: int = 50) -> list[dict]:
    ckey = client_key(client.agency_id, client.client_id)
    return [{"id": d.debtor_id, "name": d.name, "segment": d.segment}
            for d in sorted(DebtorModel.query(ckey, limit=limit), key=lambda d: d.name.lower())]


_RENDER_ERRORS = (TemplateError, SecurityError, ArithmeticError, TypeError, ValueError)


def _strict_check(acc, touch, route, now: datetime, overrides: dict) -> None:
    """Refuse a name the context does not have, unless ours needs it too (a message whose
    facts this preview cannot supply, like a thank-you's payment)."""
    try:
        dispatch.compose(acc, touch, route, now, overrides=overrides, strict=True)
    except UndefinedError as exc:
        try:
            dispatch.compose(acc, touch, route, now, overrides={k: None for k in overrides},
                             strict=True)
        except UndefinedError:
            return
        raise exc from None


def render_for(client: ClientModel, debtor: DebtorModel, channel: str, template: str,
               tone: str, now: datetime, *, overrides: dict | None = None,
               field: str = "text") -> dict:
    """One message as the debtor would get it (a cadence step or an edited template): the
    dispatcher's own compose, or the call script for a call step. A broken override is
    refused (422 naming `field` with Jinja's error)."""
    acc = dispatch.load(client.agency_id, client.client_id, debtor.debtor_id)
    if acc is None:
        raise NotFound("debtor")
    acc.client = client  # the (possibly proposed) settings
    if channel == "call":
        task = {"id": "preview", "reasons": [{"reason": "cadence_step",
                                              "details": {"tone": tone, "template": template}}]}
        script = call_scripts.script_for(client, acc.debtor, acc.contacts, task, now)
        return {"channel": "call", "subject": f"Call script: {script['title']}",
                "text": script["text"], "html": "", "debtor_id": debtor.debtor_id,
                "debtor_name": debtor.name, "to": None}
    rts = routes(client.agency_id, acc.contacts)
    route = rts.get(channel) or Route(channel, acc.contacts[0] if acc.contacts else None, None)
    live = [i for i in acc.invoices if i.status in cad.CHASEABLE_STATUSES
            and int(i.balance_minor) > 0] or list(acc.invoices)
    touch = cad.PlannedTouch(
        step=cad.Step("preview", 0, channel, template, tone), occurrence=0,
        occurrence_key="preview", channel=channel, tone=tone, template=template,
        invoice_ids=tuple(i.invoice_id for i in live), covers=(), passed=(),
        claim_key="preview")
    try:
        if overrides:
            _strict_check(acc, touch, route, now, overrides)
        _, out = dispatch.compose(acc, touch, route, now, overrides=overrides or {})
    except _RENDER_ERRORS as exc:
        name = next(iter(overrides), template) if overrides else template
        raise ValidationFailed.one(field, f"{name}: {call_scripts.template_problem(exc)}") from None
    return {"channel": channel, "subject": out.subject, "text": out.text, "html": out.html,
            "debtor_id": debtor.debtor_id, "debtor_name": debtor.name, "to": route.address}


def step_previews(client: ClientModel, cadence: cad.Cadence, debtor_id: str | None,
                  now: datetime) -> list[dict]:
    """Each step of the cadence rendered for one real debtor (errors shown, not raised)."""
    debtor = _debtor(client, debtor_id)
    out = []
    for step in cadence.steps:
        try:
            out.append({"key": step.key, **render_for(client, debtor, step.channel,
                                                      step.template, step.tone, now)})
        except (ValidationFailed, NotFound) as err:
            out.append({"key": step.key, "channel": step.channel, "subject": "", "html": "",
                        "text": f"(cannot render: {err.message})", "debtor_name": debtor.name})
    return out


# ------------------------------------------------------------------------------ templates


def template_parts(name: str) -> tuple[str, str, str]:
    m = _TEMPLATE_NAME.match(name or "")
    if not m:
        raise ValidationFailed.one("name", "like email/friendly.txt.j2: email, sms or letter, "
                                           "a template name, .txt.j2 (or .html.j2 for email)")
    channel, stem, kind = m.groups()
    if kind == "html" and channel != "email":
        raise ValidationFailed.one("name", "only email has an HTML part")
    return channel, stem, kind


def ours(name: str) -> str | None:
    path = messages.TEMPLATES / name
    return path.read_text(encoding="utf-8") if path.is_file() else None


def template_list(client: ClientModel) -> list[dict]:
    own = (client.settings or {}).get("templates") or {}
    names = {f"{ch}/{f.name}" for ch in TEMPLATE_CHANNELS
             for f in (messages.TEMPLATES / ch).glob("*.j2")} | set(own)
    return [{"name": n, "source": "client" if n in own else "default",
             "partial": n.split("/", 1)[1].startswith("_")} for n in sorted(names)]


def template_text(client: ClientModel, name: str) -> str:
    own = (client.settings or {}).get("templates") or {}
    return own[name] if name in own else (ours(name) or "")


def _render_template(client: ClientModel, name: str, text: str | None, debtor: DebtorModel,
                     now: datetime) -> dict:
    channel, stem, _ = template_parts(name)
    if text is not None and len(text) > TEMPLATE_MAX:
        raise ValidationFailed.one("text", f"at most {TEMPLATE_MAX} characters")
    if stem.startswith("_"):
        stem = "friendly"  # a partial: shown inside the friendly message that includes it
    tone = _TONE_OF.get(stem, "friendly")
    return render_for(client, debtor, channel, stem, tone, now,
                      overrides={name: text} if text is not None else None)


def preview_template(p: Principal, client_id: str, name: str, text: str | None,
                     debtor_id: str | None, *, now: datetime) -> dict:
    """The template (as proposed, else as live) rendered for a real debtor of the client;
    a broken one is refused (422 naming `text` and Jinja's error)."""
    require_staff(p)
    client = load_client(p, client_id)
    debtor = _debtor(client, debtor_id)
    return {"name": name, **_render_template(client, name, text, debtor, now)}


def save_template(p: Principal, client_id: str, name: str, text: str | None, *,
                  note: str | None = None, debtor_id: str | None = None,
                  now: datetime) -> dict:
    """The client's own version of a template (admin), checked on a real debtor first and
    never saved broken; None removes the override (ours again). Kept as a version."""
    require_admin(p)
    client = load_client(p, client_id)
    template_parts(name)
    if text is not None:
        _render_template(client, name, text, _debtor(client, debtor_id), now)
    own = dict((client.settings or {}).get("templates") or {})
    before = own.get(name)
    if text is None:
        own.pop(name, None)
    else:
        own[name] = text
    agency_clients.update_client(p, client_id, ClientPatch(settings={"templates": own}),
                                 now=now)
    version = _record(p, client_id, "template", name,
                      {"text": text} if text is not None else None, note, now,
                      before={"text": before} if before is not None else None, had_before=True)
    return {"name": name, "source": "client" if text is not None else "default",
            "text": text if text is not None else (ours(name) or ""),
            "version": _version_dict(version)}


# ----------------------------------------------------------------------- send me a test

_LINK_PLACEHOLDER = "https://example.invalid/the-debtors-own-link"


def send_test(p: Principal, client_id: str, data, *, now: datetime) -> dict:
    """The rendered message (a step's, or a template as proposed) emailed to the signed-in
    user's own address from the client's sender: never to a debtor, on no timeline."""
    require_staff(p)
    client = load_client(p, client_id)
    try:
        me = UserModel.get(p.agency_id, p.user_id)
    except UserModel.DoesNotExist:
        raise NotFound("user") from None
    if not me.email:
        raise ValidationFailed.one("to", "your user has no email address")
    debtor = _debtor(client, data.debtor_id)
    if data.name:
        rendered = _render_template(client, data.name, data.text, debtor, now)
    else:
        rendered = render_for(client, debtor, data.channel, data.template, data.tone, now)
    if not sender.ready(client, now):
        raise Conflict(f"the client's sender {client.sender_email} is not verified "
                       f"({client.sender_status or 'unknown'}): nothing can be sent from it yet",
                       [FieldProblem("sender", "not verified")])
    channel = rendered["channel"]
    # The debtor's signed links would act on the real account (pay, opt out): a test
    # carries a placeholder instead.
    links = re.compile(re.escape(get_settings().public_base_url.rstrip("/"))
                       + r"/d/[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+")
    rendered = {**rendered, **{k: links.sub(_LINK_PLACEHOLDER, rendered[k])
                               for k in ("text", "html")}}
    label = {"email": "", "sms": " SMS", "letter": " letter", "call": " call script"}[channel]
    subject = f"[Test{label}] {rendered['subject'] or debtor.name}"
    note = (f"This is a test of {client.name}'s {channel} message as {debtor.name} would get "
            f"it. It was sent only to you.\n\n")
    sent = channels.send(Message(
        channel="email", to=me.email, subject=subject, text=note + rendered["text"],
        html=rendered["html"] if channel == "email" else "", sender=client.sender_email,
        reply_to=client.reply_to))
    if not sent.ok:
        raise Conflict(f"not sent: {sent.error}", [FieldProblem("sender", sent.error or "")])
    return {"to": me.email, "channel": channel, "subject": subject,
            "debtor_id": debtor.debtor_id, "debtor_name": debtor.name,
            "message_id": sent.message_id}
