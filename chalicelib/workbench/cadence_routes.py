"""The cadence and template editor's API (the same use cases as its workspace pages,
workbench/cadences.py): the client's PATCH (its cadences and templates saved and versioned as
the editor saves them), cadences and their dry-run effect, template preview and save,
versions and restore, send me a test."""
from __future__ import annotations

from chalice import Blueprint

from chalicelib.http.authorizer import bearer
from chalicelib.http.edge import endpoint, query_params
from chalicelib.http.schemas import (
    CadenceEffectIn,
    CadenceSaveIn,
    ClientPatch,
    RestoreIn,
    TemplatePreviewIn,
    TemplateSaveIn,
    TrySendIn,
)
from chalicelib.kernel.clock import utcnow
from chalicelib.workbench import cadences

bp = Blueprint(__name__)
C = "/v1/clients/{client_id}"


@endpoint(bp, C, "PATCH", summary="Change a client's details, brand or settings (admin); "
          "cadences and templates are saved as the editor saves them (validated, versioned)",
          body=ClientPatch, authorizer=bearer)
def patch_client(p, data, client_id):
    return cadences.update_client(p, client_id, data, now=utcnow())


@endpoint(bp, C + "/cadences", summary="The client's cadences, named cadences and segments",
          authorizer=bearer)
def list_cadences(p, client_id):
    return cadences.overview(p, client_id)


@endpoint(bp, C + "/cadences/{slot}", "PUT",
          summary="Save a cadence (admin): 'client' or a named cadence's id; kept as a version",
          body=CadenceSaveIn, authorizer=bearer)
def save_cadence(p, data, client_id, slot):
    return cadences.save_cadence(p, client_id, slot, data.cadence, note=data.note,
                                 now=utcnow())


@endpoint(bp, C + "/cadences/{slot}/effect", "POST",
          summary="A proposed cadence's dry-run counts next to the current one (not saved)",
          body=CadenceEffectIn, authorizer=bearer)
def cadence_effect(p, data, client_id, slot):
    return cadences.effect(p, client_id, slot, data.cadence, now=utcnow(), days=data.days)


@endpoint(bp, C + "/templates/preview", "POST",
          summary="Render a template (as proposed or live) for a real debtor; 422 if broken",
          body=TemplatePreviewIn, authorizer=bearer)
def preview_template(p, data, client_id):
    return cadences.preview_template(p, client_id, data.name, data.text, data.debtor_id,
                                     now=utcnow())


@endpoint(bp, C + "/templates", "PUT",
          summary="Save the client's own template (admin); a broken one is refused",
          body=TemplateSaveIn, authorizer=bearer)
def save_template(p, data, client_id):
    return cadences.save_template(p, client_id, data.name, data.text, note=data.note,
                                  debtor_id=data.debtor_id, now=utcnow())


@endpoint(bp, C + "/settings-versions",
          summary="Saved versions of a cadence or template, newest first",
          query={"kind": "cadence | template", "name": "the cadence slot or template name"},
          authorizer=bearer)
def list_versions(p, client_id):
    q = query_params(bp)
    return cadences.list_versions(p, client_id, q.get("kind") or "", q.get("name") or "")


@endpoint(bp, C + "/settings-versions/restore", "POST",
          summary="Make an earlier version live again (admin), kept as a new version",
          body=RestoreIn, authorizer=bearer)
def restore_version(p, data, client_id):
    return cadences.restore(p, client_id, data.kind, data.name, data.version, now=utcnow())


@endpoint(bp, C + "/test-sends", "POST",
          summary="Send me a test: the rendered message to my own email, never a debtor",
          body=TrySendIn, authorizer=bearer)
def send_test(p, data, client_id):
    return cadences.send_test(p, client_id, data, now=utcnow())
