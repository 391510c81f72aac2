"""Workspace pages of the cadence and template editor (server-rendered, no script):

- /w/clients/{id}/cadences: the client's cadence and its named cadences as timelines (one
  card per step: day, channel, template, tone), which segment uses which, a new named one;
- /w/clients/{id}/cadences/{slot}: the edit form (steps as plain fields: add, remove, move),
  each step rendered for a chosen real debtor, "Preview effect" (the dry run with the
  proposal next to the current one), "Save" (admins), "Send me a test", versions, restore;
- /w/clients/{id}/templates: a template's text, checked and rendered for a chosen debtor,
  saved as the client's own (admins), its versions.

Every action calls the use case the API calls (workbench/cadences.py)."""
from __future__ import annotations

import re
from urllib.parse import quote, urlencode

from chalice import Blueprint, Response

from chalicelib.agency import clients as agency_clients
from chalicelib.dunning import cadence as cad
from chalicelib.dunning import planner
from chalicelib.kernel.money import format_money
from chalicelib.http.edge import validate
from chalicelib.http.schemas import TrySendIn
from chalicelib.kernel.clock import utcnow
from chalicelib.kernel.errors import NotFound, RecoupError, ValidationFailed
from chalicelib.http.access import load_client
from chalicelib.workbench import cadences
from chalicelib.workbench import pages as ws

bp = Blueprint(__name__)
C = "/w/clients/{client_id}"
_STEP_FIELDS = ("key", "offset_days", "channel", "template", "tone", "repeat_every_days",
                "repeat_limit")


def _q() -> dict:
    return dict(bp.current_request.query_params or {})



def _timeline(cadence: dict) -> list[dict]:
    """The steps in day order with every day they send (repeats included)."""
    out = []
    for step in sorted(cadence.get("steps") or [], key=lambda s: s.get("offset_days") or 0):
        days = [step.get("offset_days")]
        if step.get("repeat_every_days") and step.get("repeat_limit"):
            days += [step["offset_days"] + k * step["repeat_every_days"]
                     for k in range(1, step["repeat_limit"] + 1)]
        out.append({**step, "days": days})
    return out


def _conditions(client) -> dict[str, str]:
    """When a step is skipped (the client's thresholds), by what it depends on."""
    cur = client.currency
    return {"final": "skipped when less than "
                     f"{format_money(planner.final_notice_min(client), cur)} is owed",
            "call": "skipped when less than "
                    f"{format_money(planner.call_task_min(client), cur)} is owed"}


def _day_label(day) -> str:
    if not isinstance(day, int):
        return f"day {day}"
    if day == 0:
        return "on the due date"
    return f"{abs(day)} day{'' if abs(day) == 1 else 's'} {'before' if day < 0 else 'after'} due"


# --------------------------------------------------------------------------- the overview


@bp.route(C + "/cadences", methods=["GET"])
@ws.page
def cadences_page(c, client_id):
    p = c.principal
    view = cadences.overview(p, client_id)
    client = load_client(p, client_id)
    for item in view["items"]:
        item["timeline"] = _timeline(item["cadence"])
    return ws._html("cadence/index.html", **ws._ctx(
        c, client=agency_clients.render(client), view=view, day_label=_day_label, errors=[],
        conditions=_conditions(client)))


@bp.route(C + "/cadences/new", methods=["POST"], content_types=ws.FORM)
@ws.page
def new_cadence(c, client_id):
    """A named cadence, starting as a copy of the client's own."""
    p = c.principal
    form = ws._form(c)
    cid, name = (form.get("id") or "").strip(), (form.get("name") or "").strip()
    client = load_client(p, client_id)
    if cid == cadences.CLIENT or cid in ((client.settings or {}).get("cadences") or {}):
        raise ValidationFailed.one("id", f"{cid!r} is taken")
    base = cadences.cadence_of(client, cadences.CLIENT)
    body = {**cad.to_dict(base), "id": cid, "name": name or cid}
    cadences.save_cadence(p, client_id, cid, body, note="created from the client's cadence",
                          now=utcnow())
    return ws._redirect(f"/w/clients/{client_id}/cadences/{quote(cid, safe='')}?" + urlencode(
        {"msg": f"Named cadence {cid} created from the client's cadence."}))


@bp.route(C + "/segments", methods=["POST"], content_types=ws.FORM)
@ws.page
def assign_segment(c, client_id):
    form = ws._form(c)
    segment = form.get("segment") or ""
    cadence_id = (form.get("cadence_id") or "").strip() or None
    cadences.assign_segment(c.principal, client_id, segment, cadence_id, now=utcnow())
    said = f"uses named cadence {cadence_id}" if cadence_id else "uses the client's cadence"
    return ws._redirect(f"/w/clients/{client_id}/cadences?" + urlencode(
        {"msg": f"Segment {segment.strip()} now {said}."}))


# ------------------------------------------------------------------------------ the editor


def _from_form(form: dict) -> tuple[dict, list[dict]]:
    """(cadence dict, rows as typed) from the form: steps-<i>-<field>, `n` rows."""
    try:
        n = min(int(form.get("n") or 0), 40)
    except ValueError:
        n = 0
    rows = [{f: (form.get(f"steps-{i}-{f}") or "").strip() for f in _STEP_FIELDS}
            for i in range(n)]
    action = form.get("action") or ""
    if action == "add":
        def _n(v: str) -> int:
            return int(v) if re.fullmatch(r"-?\d{1,4}", v) else 0

        # after the last day anything sends, repeats included
        last = max((_n(r["offset_days"]) + _n(r["repeat_every_days"]) * _n(r["repeat_limit"])
                    for r in rows), default=0)
        rows.append({"key": "", "offset_days": str(last + 7), "channel": "email",
                     "template": "friendly", "tone": rows[-1]["tone"] if rows else "friendly",
                     "repeat_every_days": "", "repeat_limit": ""})
    elif action.startswith(("remove-", "up-", "down-")):
        verb, _, index = action.partition("-")
        i = int(index) if index.isdigit() else -1
        if 0 <= i < len(rows):
            if verb == "remove":
                rows.pop(i)
            elif verb == "up" and i > 0:
                rows[i - 1], rows[i] = rows[i], rows[i - 1]
            elif verb == "down" and i < len(rows) - 1:
                rows[i + 1], rows[i] = rows[i], rows[i + 1]
    steps = []
    for i, r in enumerate(rows):
        step: dict = {}
        for f in _STEP_FIELDS:
            value = r[f]
            if f in ("offset_days", "repeat_every_days", "repeat_limit"):
                if not value:
                    if f == "offset_days":
                        step[f] = None
                    continue
                try:
                    step[f] = int(value)
                except ValueError:
                    step[f] = value  # the cadence rules name it: must be a whole number
            else:
                step[f] = value
        if not step.get("key") and isinstance(step.get("offset_days"), int):
            d = step["offset_days"]
            step["key"] = "due" if d == 0 else f"due{d:+d}"
        steps.append(step)
    try:
        gap = int(form.get("min_gap_days") or 0)
    except ValueError:
        gap = form.get("min_gap_days")
    body = {"id": (form.get("id") or "").strip(), "name": (form.get("name") or "").strip(),
            "min_gap_days": gap, "steps": steps}
    return body, [{**r, "key": s.get("key") or r["key"]} for r, s in zip(rows, steps)]


def _rows(body: dict) -> list[dict]:
    return [{f: "" if s.get(f) is None else str(s.get(f)) for f in _STEP_FIELDS}
            for s in body.get("steps") or []]


def _editor(c, client_id: str, slot: str, *, body: dict | None = None,
            rows: list[dict] | None = None, effect: dict | None = None,
            errors: list | None = None, status: int = 200) -> Response:
    p = c.principal
    client = load_client(p, client_id)
    now = utcnow()
    if body is None:
        body = cad.to_dict(cadences.cadence_of(client, slot))
        rows = _rows(body)
    debtor_id = _q().get("debtor_id") or None
    debtors = cadences.debtor_choices(client)
    previews: list[dict] = []
    proposed = None
    try:
        proposed = cadences.parse_cadence(body)
        trial = cadences.with_cadence(client, slot, cad.to_dict(proposed))
        previews = cadences.step_previews(trial, proposed, debtor_id, now) if debtors else []
    except ValidationFailed as err:
        errors = errors or ws._problems(err)  # after add/remove/move: say what is wrong now
    by_key = {pr["key"]: pr for pr in previews}
    versions = cadences.list_versions(p, client_id, "cadence", slot)["items"]
    return ws._html("cadence/edit.html", status, **ws._ctx(
        c, client=agency_clients.render(client), slot=slot, body=body, rows=rows or [], effect=effect,
        errors=errors or [], previews=by_key, debtors=debtors, debtor_id=debtor_id,
        versions=versions, channels=cad.CHANNELS, tones=cad.TONES, day_label=_day_label,
        conditions=_conditions(client),
        timeline=_timeline(cad.to_dict(proposed)) if proposed is not None else []))


@bp.route(C + "/cadences/{slot}", methods=["GET"])
@ws.page
def edit_cadence(c, client_id, slot):
    return _editor(c, client_id, slot)


@bp.route(C + "/cadences/{slot}", methods=["POST"], content_types=ws.FORM)
@ws.page
def post_cadence(c, client_id, slot):
    """Preview effect / Save / add, remove or move a step (one form, named buttons)."""
    p = c.principal
    form = ws._form(c)
    body, rows = _from_form(form)
    action = form.get("action") or "effect"
    if action not in ("effect", "save"):
        return _editor(c, client_id, slot, body=body, rows=rows)
    try:
        if action == "save":
            saved = cadences.save_cadence(p, client_id, slot, body,
                                          note=(form.get("note") or "").strip() or None,
                                          now=utcnow())
            return ws._redirect(f"/w/clients/{client_id}/cadences/{quote(slot, safe='')}?"
                                + urlencode({"msg": f"Saved as version "
                                             f"{saved['version']['version']}: accounts are "
                                             "re-planned with it."}))
        eff = cadences.effect(p, client_id, slot, body, now=utcnow())
    except ValidationFailed as err:
        return _editor(c, client_id, slot, body=body, rows=rows, errors=ws._problems(err),
                       status=422)
    return _editor(c, client_id, slot, body=body, rows=rows, effect=eff)


@bp.route(C + "/cadences/{slot}/restore", methods=["POST"], content_types=ws.FORM)
@ws.page
def restore_cadence(c, client_id, slot):
    form = ws._form(c)
    number = int(form["version"]) if (form.get("version") or "").isdigit() else 0
    out = cadences.restore(c.principal, client_id, "cadence", slot, number, now=utcnow())
    return ws._redirect(f"/w/clients/{client_id}/cadences/{quote(slot, safe='')}?" + urlencode(
        {"msg": f"Version {number} restored (now version {out['version']['version']})."}))


def _test_msg(out: dict) -> str:
    return (f"Test sent to {out['to']} (rendered for {out['debtor_name']}); no debtor was "
            "contacted.")


@bp.route(C + "/test-send", methods=["POST"], content_types=ws.FORM)
@ws.page
def test_send(c, client_id):
    """Send me a test (a step's message, or a template as typed), then back to the page."""
    form = ws._form(c)
    back = form.get("back") or f"/w/clients/{client_id}/cadences"
    if not back.startswith(f"/w/clients/{client_id}/"):
        back = f"/w/clients/{client_id}/cadences"
    data = {k: form[k].strip() for k in ("channel", "template", "tone", "name", "debtor_id")
            if (form.get(k) or "").strip()}
    if form.get("text"):
        data["text"] = form["text"]
    try:
        out = cadences.send_test(c.principal, client_id, validate(TrySendIn, data),
                                 now=utcnow())
        msg = _test_msg(out)
    except RecoupError as err:
        if isinstance(err, NotFound):
            raise
        msg = f"Not sent: {err.message}"
    sep = "&" if "?" in back else "?"
    return ws._redirect(back + sep + urlencode({"msg": msg}))


# ----------------------------------------------------------------------------- templates


def _template_page(c, client_id: str, name: str | None, *, text: str | None = None,
                   debtor_id: str | None = None, errors: list | None = None,
                   status: int = 200) -> Response:
    p = c.principal
    client = load_client(p, client_id)
    listing = cadences.template_list(client)
    debtors = cadences.debtor_choices(client)
    rendered, versions = None, []
    if name:
        cadences.template_parts(name)
        if text is None:
            text = cadences.template_text(client, name)
        if not errors and debtors:
            try:
                rendered = cadences.preview_template(p, client_id, name, text, debtor_id,
                                                     now=utcnow())
            except ValidationFailed as err:
                errors, status = ws._problems(err), 422
        versions = cadences.list_versions(p, client_id, "template", name)["items"]
    return ws._html("cadence/template.html", status, **ws._ctx(
        c, client=agency_clients.render(client), tname=name, text=text or "", listing=listing, debtors=debtors,
        debtor_id=debtor_id, rendered=rendered, errors=errors or [], versions=versions,
        own=name in ((client.settings or {}).get("templates") or {}) if name else False))


@bp.route(C + "/templates", methods=["GET"])
@ws.page
def templates_page(c, client_id):
    q = _q()
    return _template_page(c, client_id, q.get("name") or None,
                          debtor_id=q.get("debtor_id") or None)


@bp.route(C + "/templates", methods=["POST"], content_types=ws.FORM)
@ws.page
def post_template(c, client_id):
    """Preview (render the text as typed for the chosen debtor) / Save / Use ours again."""
    p = c.principal
    form = ws._form(c)
    name = (form.get("name") or "").strip()
    text = form.get("text")
    debtor_id = (form.get("debtor_id") or "").strip() or None
    action = form.get("action") or "preview"
    back = f"/w/clients/{client_id}/templates?" + urlencode({"name": name})
    try:
        if action == "save":
            out = cadences.save_template(p, client_id, name, text, debtor_id=debtor_id,
                                         note=(form.get("note") or "").strip() or None,
                                         now=utcnow())
            return ws._redirect(back + "&" + urlencode(
                {"msg": f"Saved {name} as version {out['version']['version']}."}))
        if action == "reset":
            out = cadences.save_template(p, client_id, name, None, now=utcnow())
            return ws._redirect(back + "&" + urlencode(
                {"msg": f"{name}: ours again (version {out['version']['version']})."}))
    except ValidationFailed as err:
        return _template_page(c, client_id, name, text=text, debtor_id=debtor_id,
                              errors=ws._problems(err), status=422)
    return _template_page(c, client_id, name, text=text, debtor_id=debtor_id)


@bp.route(C + "/templates/restore", methods=["POST"], content_types=ws.FORM)
@ws.page
def restore_template(c, client_id):
    form = ws._form(c)
    name = (form.get("name") or "").strip()
    number = int(form["version"]) if (form.get("version") or "").isdigit() else 0
    out = cadences.restore(c.principal, client_id, "template", name, number, now=utcnow())
    return ws._redirect(f"/w/clients/{client_id}/templates?" + urlencode(
        {"name": name, "msg": f"Version {number} restored (now version "
                              f"{out['version']['version']})."}))
