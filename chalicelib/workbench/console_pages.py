"""The agency console (server-rendered, on the shared page edge): the agency home, onboarding
a client, its book (upload, row errors, history) and users and roles.

Every form calls the same use case as the JSON API: agency.clients (create_client,
update_client, create_user, update_user), book.importer (import_book, list_imports,
get_import), dunning.sender (for_principal), reporting.console (the home's figures, from
reports.overview). Sessions, CSRF, headers and error pages are the workspace's
(workbench.pages and http.pages)."""
from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation
from email.parser import BytesParser
from email.policy import HTTP
from urllib.parse import quote, urlencode

from chalice import Blueprint, Response

from chalicelib.agency import clients as agency_clients
from chalicelib.book import importer
from chalicelib.dunning import sender as sender_identity
from chalicelib.http import pages as edge
from chalicelib.http.access import load_client, require_admin, require_staff
from chalicelib.http.edge import UPLOAD_MAX_BYTES, validate
from chalicelib.http.schemas import ClientIn, ClientPatch, UserIn, UserPatch
from chalicelib.kernel.clock import utcnow
from chalicelib.kernel.errors import FieldProblem, ValidationFailed
from chalicelib.kernel.money import MoneyError, format_money, parse_major
from chalicelib.kernel.validation import check_brand_colour
from chalicelib.payments import charge_rules
from chalicelib.reporting import console
from chalicelib.store.models import ClientModel, UserModel
from chalicelib.workbench.pages import _csrf, _ctx, _html, _problems, _redirect, page

bp = Blueprint(__name__)
MULTIPART = ["multipart/form-data"]
ROLE_LABELS = {"admin": "Agency admin", "specialist": "Specialist", "client_viewer":
               "Client viewer (reports only)"}
CHARGE_LABELS = {"none": "No late charges", "fixed": "A fixed late fee",
                 "percentage": "A percentage of the invoice, once",
                 "daily_interest": "Daily interest at a yearly rate",
                 "uk_statutory": "UK statutory interest and compensation (B2B)"}
SORT_LABELS = {"name": "Client", "receivables": "Receivables", "overdue": "Overdue",
               "dso": "DSO", "dso_change": "DSO change", "queue": "Queue",
               "promises_due": "Promises due", "disputed": "Disputed",
               "last_import": "Last import"}


def _req():
    return bp.current_request


def _form_lists(c: edge.Caller) -> dict[str, list[str]]:
    """The urlencoded form, every value of each field (checkbox lists), CSRF checked."""
    data = edge.form_lists(_req())
    edge.require_csrf((data.pop("csrf", None) or [None])[0], _csrf(c))
    return data



def _money(minor, currency) -> str:
    return "—" if minor is None else format_money(int(minor), currency or "GBP")


def _query() -> dict:
    return dict(_req().query_params or {})


# ------------------------------------------------------------------------------ agency home


@bp.route("/w/home", methods=["GET"])
@page
def home(c):
    q = _query()
    desc = {"asc": False, "desc": True}.get(q.get("dir", ""))
    view = console.home(c.principal, today=utcnow().date(), sort=q.get("sort"),
                        descending=desc)
    return _html("console/home.html", **_ctx(c, view=view, money=_money,
                                             sorts=SORT_LABELS))


# ------------------------------------------------------------------------ onboard a client


def _staff(p) -> list[dict]:
    return [u for u in agency_clients.list_users(p, limit=200, cursor=None)["items"]
            if u["role"] in ("specialist", "admin") and u["active"] is not False]


def _cadence_choices(p) -> dict[str, dict]:
    """Default, or a named cadence one of the agency's clients already uses (copied)."""
    out: dict[str, dict] = {}
    for m in ClientModel.query(p.agency_id):
        if m.archived:
            continue
        named = dict((m.settings or {}).get("cadences") or {})
        if (m.settings or {}).get("cadence"):
            named.setdefault("own", (m.settings or {})["cadence"])
        for key, cad in named.items():
            if isinstance(cad, dict):
                out[f"{m.client_id}:{key}"] = {
                    "label": f"{cad.get('name') or key} (as {m.name})", "cadence": cad}
    return out


def _onboard_page(c, form: dict, errors: list | None = None, status: int = 200) -> Response:
    p = c.principal
    require_admin(p)
    return _html("console/onboard.html", status, **_ctx(
        c, form=form, errors=errors or [], bad={e.field for e in errors or []},
        staff=_staff(p), cadences=_cadence_choices(p), charge_kinds=CHARGE_LABELS))


@bp.route("/w/clients/new", methods=["GET"])
@page
def onboard_form(c):
    return _onboard_page(c, {"timezone": "Europe/London", "country": "GB", "currency": "GBP",
                             "charges_kind": "none", "cadence": "default"})


def _decimal(form: dict, name: str) -> Decimal | None:
    raw = (form.get(name) or "").strip()
    if not raw:
        return None
    try:
        return Decimal(raw)
    except InvalidOperation:
        raise charge_rules.ChargeError(name, "must be a number") from None


def _charges(form: dict, currency: str) -> dict:
    """The fee and interest policy as settings.charges (payments.charge_rules checks it)."""
    kind = form.get("charges_kind") or "none"
    data: dict = {"kind": kind}
    if (form.get("grace_days") or "").strip():
        raw = form["grace_days"].strip()
        data["grace_days"] = int(raw) if raw.isdigit() else -1
    if kind == "fixed":
        try:
            data["fixed_minor"] = parse_major(form.get("fixed_fee") or "", currency)
        except MoneyError as exc:
            raise charge_rules.ChargeError("fixed_fee", str(exc)) from None
        data["fixed_currency"] = currency
    if kind == "percentage":
        data["percent"] = _decimal(form, "percent")
    if kind == "daily_interest":
        rate = _decimal(form, "annual_rate")
        data["annual_rate"] = None if rate is None else rate / 100
    policy = charge_rules.ChargePolicy.from_dict(data)
    return {k: v for k, v in policy.to_dict().items() if v is not None}


FIELD_OF = {"fixed_minor": "fixed_fee", "percent": "percent", "annual_rate": "annual_rate",
            "grace_days": "grace_days", "kind": "charges_kind"}


def _client_from_form(p, form: dict, specialists: list[str]) -> ClientIn:
    """ClientIn from the onboarding form; every bad field named at once."""
    problems: list[FieldProblem] = []
    brand: dict = {}
    for name in ("primary_colour", "accent_colour"):
        value = (form.get(name) or "").strip()
        if value:
            try:
                brand[name] = check_brand_colour(value)
            except ValueError as exc:
                problems.append(FieldProblem(name, str(exc)))
    logo = (form.get("logo_url") or "").strip()
    if logo:
        if not logo.startswith("https://") or len(logo) > 500:
            problems.append(FieldProblem("logo_url", "must be an https:// address"))
        brand["logo_url"] = logo
    if (form.get("brand_name") or "").strip():
        brand["display_name"] = form["brand_name"].strip()
    if (form.get("payment_terms") or "").strip():
        brand["payment_terms"] = form["payment_terms"].strip()[:200]
    settings: dict = {"brand": brand} if brand else {}
    currency = (form.get("currency") or "GBP").strip().upper()
    try:
        settings["charges"] = _charges(form, currency)
    except charge_rules.ChargeError as exc:
        problems.append(FieldProblem(FIELD_OF.get(exc.field, exc.field), exc.reason))
    choice = form.get("cadence") or "default"
    if choice != "default":
        chosen = _cadence_choices(p).get(choice)
        if chosen is None:
            problems.append(FieldProblem("cadence", "choose the default or a listed cadence"))
        else:
            settings["cadence"] = chosen["cadence"]
    data = {k: (form.get(k) or "").strip() for k in ("name", "sender_email", "timezone",
                                                     "country", "currency")}
    if (form.get("brand_name") or "").strip():
        data["brand_name"] = form["brand_name"].strip()
    if (form.get("reply_to") or "").strip():
        data["reply_to"] = form["reply_to"].strip()
    data["specialist_ids"] = specialists
    data["settings"] = settings
    try:
        out = validate(ClientIn, data)
    except ValidationFailed as err:
        problems += _problems(err)
        out = None
    if problems:
        raise ValidationFailed("; ".join(f"{x.field}: {x.reason}" for x in problems),
                               problems)
    return out


@bp.route("/w/clients/new", methods=["POST"], content_types=edge.FORM)
@page
def onboard(c):
    p = c.principal
    require_admin(p)
    lists = _form_lists(c)
    form = {k: v[0] for k, v in lists.items()}
    specialists = [s for s in lists.get("specialist_ids", []) if s]
    try:
        client = agency_clients.create_client(p, _client_from_form(p, form, specialists),
                                              now=utcnow())
    except ValidationFailed as err:
        form["specialist_ids"] = specialists
        return _onboard_page(c, form, _problems(err), 422)
    # ask SES to verify the sender now, so the next page shows where it stands
    client = sender_identity.for_principal(p, client["id"], now=utcnow())
    return _redirect(f"/w/clients/{client['id']}/book?" + urlencode(
        {"msg": f"{client['name']} is onboarded, in preview: nothing is sent until you "
                "activate it. Next: upload its book."}))


# ------------------------------------------------------------------------------- the book


SENDER_SAYS = {"verified": "verified: email steps go.",
               "pending": "verification pending: SES emailed its owner a link; email steps "
                          "are held until it is clicked.",
               "failed": "refused by SES: email steps are held.",
               "unverified": "not verified: email steps are held."}


def _book_page(c, client_id: str, *, errors: list | None = None, status: int = 200,
               form: dict | None = None) -> Response:
    p = c.principal
    client = agency_clients.get_client(p, client_id)
    history = importer.list_imports(p.agency_id, client_id)
    running = [h for h in history if h["status"] == "applying"]
    return _html("console/book.html", status, **_ctx(
        c, client=client, history=history, running=running, errors=errors or [],
        form=form or {}, sender_says=SENDER_SAYS.get(client["sender_status"],
                                                     "not checked yet: email steps are held."),
        max_mb=UPLOAD_MAX_BYTES // 1_000_000))


@bp.route("/w/clients/{client_id}/book", methods=["GET"])
@page
def book(c, client_id):
    require_staff(c.principal)
    return _book_page(c, client_id)


def _multipart(c) -> tuple[dict[str, str], tuple[str, bytes] | None]:
    """The fields and the uploaded file (name, bytes) of a multipart form, CSRF checked."""
    req = _req()
    raw = req.raw_body or b""
    if isinstance(raw, str):
        raw = raw.encode("utf-8", "replace")
    if len(raw) > UPLOAD_MAX_BYTES:
        raise ValidationFailed.one("file", f"is larger than {UPLOAD_MAX_BYTES // 1_000_000} MB;"
                                           " split the book and import it in parts")
    ctype = (req.headers or {}).get("content-type") or ""
    msg = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + ctype.encode("latin-1", "replace") + b"\r\n\r\n" + raw)
    fields: dict[str, str] = {}
    upload = None
    if msg.is_multipart():
        for part in msg.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not name:
                continue
            body = part.get_payload(decode=True) or b""
            if part.get_filename() is not None:
                upload = (part.get_filename(), body)
            else:
                fields[name] = body.decode("utf-8", "replace")
    edge.require_csrf(fields.pop("csrf", None), _csrf(c))
    return fields, upload


@bp.route("/w/clients/{client_id}/imports", methods=["POST"], content_types=MULTIPART)
@page
def upload(c, client_id):
    """The uploaded CSV goes to the importer, as POST /v1/clients/{c}/imports does."""
    p = c.principal
    require_staff(p)
    load_client(p, client_id)
    fields, upload_ = _multipart(c)
    try:
        if upload_ is None or not upload_[1].strip():
            raise ValidationFailed.one("file", "choose a CSV file of the book")
        filename, data = upload_
        report = importer.import_book(
            p.agency_id, client_id, data, actor=p.user_id, filename=filename or None,
            date_order=fields.get("date_order") or None, mode=fields.get("mode") or "full",
            now=utcnow())
    except importer.ImportInProgress as busy:
        return _book_page(c, client_id, status=409, form=fields, errors=[FieldProblem(
            "file", f"another import of this book is running; try again in "
                    f"{busy.retry_after} seconds")])
    except ValidationFailed as err:
        return _book_page(c, client_id, errors=_problems(err), status=422, form=fields)
    return _redirect(f"/w/clients/{client_id}/imports/{quote(report['import_id'])}")


@bp.route("/w/clients/{client_id}/imports/{import_id}", methods=["GET"])
@page
def import_report(c, client_id, import_id):
    p = c.principal
    require_staff(p)
    client = agency_clients.get_client(p, client_id)
    report = importer.get_import(p.agency_id, client_id, import_id)
    return _html("console/import.html", **_ctx(c, client=client, report=report))


@bp.route("/w/clients/{client_id}/imports/{import_id}/errors.csv", methods=["GET"])
@page
def import_errors_csv(c, client_id, import_id):
    p = c.principal
    require_staff(p)
    load_client(p, client_id)
    report = importer.get_import(p.agency_id, client_id, import_id)
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["row", "field", "reason", "value"])
    for e in report["errors"] or []:
        w.writerow([e.get("row"), e.get("field"), e.get("reason"), e.get("value") or ""])
    headers = edge.headers(edge.new_nonce(), content_type="text/csv; charset=utf-8")
    headers["Content-Disposition"] = f'attachment; filename="import-{import_id}-errors.csv"'
    return Response(body=out.getvalue(), status_code=200, headers=headers)


# ------------------------------------------------------------------------- users and roles


def _users_page(c, *, errors: list | None = None, form: dict | None = None,
                status: int = 200) -> Response:
    p = c.principal
    require_admin(p)
    users = agency_clients.list_users(p, limit=200, cursor=None)["items"]
    clients = agency_clients.list_clients(p, limit=200, cursor=None)["items"]
    names = {cl["id"]: cl["name"] for cl in clients}
    for u in users:
        u["clients"] = [cl["name"] for cl in clients if u["id"] in cl["specialist_ids"]]
        u["viewer_of"] = names.get(u["client_id"] or "")
    staff = [u for u in users if u["role"] in ("admin", "specialist")]
    return _html("console/users.html", status, **_ctx(
        c, users=users, clients=clients, staff=staff, roles=ROLE_LABELS, errors=errors or [],
        form=form or {"role": "specialist"}))


@bp.route("/w/users", methods=["GET"])
@page
def users(c):
    return _users_page(c)


@bp.route("/w/users", methods=["POST"], content_types=edge.FORM)
@page
def invite(c):
    p = c.principal
    require_admin(p)
    form = {k: v[0].strip() for k, v in _form_lists(c).items()}
    data = {k: form.get(k, "") for k in ("email", "name", "role")}
    if data["role"] == "client_viewer" or form.get("client_id"):
        data["client_id"] = form.get("client_id") or None
    if data["role"] != "client_viewer":
        data.pop("client_id", None)
    try:
        user = agency_clients.create_user(p, validate(UserIn, data), now=utcnow())
    except ValidationFailed as err:
        return _users_page(c, errors=_problems(err), form=form, status=422)
    then = (" They sign in to the client portal (/portal/login) with a token issued for "
            "this user id." if user["role"] == "client_viewer" else
            " They sign in to the workspace (/w/login) with a token issued for this user id.")
    return _redirect("/w/users?" + urlencode({"msg": f"{user['name']} added: "
                                                     f"{ROLE_LABELS[user['role']]}, user id "
                                                     f"{user['id']}.{then}"}))


@bp.route("/w/users/{user_id}/active", methods=["POST"], content_types=edge.FORM)
@page
def set_active(c, user_id):
    form = {k: v[0] for k, v in _form_lists(c).items()}
    want = form.get("active") == "1"
    try:
        user = agency_clients.update_user(c.principal, user_id, UserPatch(active=want),
                                          now=utcnow())
    except ValidationFailed as err:
        return _users_page(c, errors=_problems(err), status=422)
    said = "reactivated" if user["active"] else "deactivated: their token no longer works"
    return _redirect("/w/users?" + urlencode({"msg": f"{user['name']} {said}."}))


@bp.route("/w/clients/{client_id}/specialists", methods=["POST"], content_types=edge.FORM)
@page
def assign(c, client_id):
    p = c.principal
    ids = [s for s in _form_lists(c).get("specialist_ids", []) if s]
    try:
        client = agency_clients.update_client(p, client_id, validate(ClientPatch, {"specialist_ids": ids}),
                                              now=utcnow())
    except ValidationFailed as err:
        return _users_page(c, errors=_problems(err), status=422)
    names = {u.user_id: u.name for u in UserModel.query(p.agency_id)}
    who = ", ".join(names.get(i, i) for i in client["specialist_ids"]) or "nobody"
    return _redirect("/w/users?" + urlencode({"msg": f"{client['name']} is worked by {who}."}))
