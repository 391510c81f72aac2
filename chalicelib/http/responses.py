"""JSON schemas of the API's success bodies (what each service's render returns), for the
OpenAPI document; the schemathesis test checks every response against them."""
from __future__ import annotations

S = {"type": "string"}
S_ = {"type": ["string", "null"]}
I = {"type": "integer"}
I_ = {"type": ["integer", "null"]}
B = {"type": "boolean"}
B_ = {"type": ["boolean", "null"]}
O_ = {"type": ["object", "null"]}
A = {"type": "array"}


def obj(props: dict, *, optional: tuple[str, ...] = ()) -> dict:
    """An object with these properties, all present unless named optional; more may come."""
    return {"type": "object", "required": [k for k in props if k not in optional],
            "properties": props}


def page(item: dict) -> dict:
    return obj({"items": {"type": "array", "items": item}, "next_cursor": S_})


def strings() -> dict:
    return {"type": "array", "items": S}


USER = obj({"id": S, "email": S, "name": S, "role": {"enum": ["admin", "specialist",
                                                                 "client_viewer"]},
            "client_id": S_, "active": B_})
CLIENT = obj({"id": S, "name": S, "brand_name": S, "sender_email": S, "reply_to": S_,
              "timezone": S, "country": S, "currency": S, "specialist_ids": strings(),
              "settings": {"type": "object"}, "created_at": S, "updated_at": S, "version": I_,
              "sender_status": {"enum": ["verified", "pending", "failed", "unverified",
                                         "unknown"]},
              "sender_checked_at": S_})
ARCHIVED = obj({"id": S, "archived": B})
CONTACT = obj({"id": S, "role": S, "name": S_, "email": S_, "phone": S_, "timezone": S_,
               "preferred_channel": S, "opted_out": strings(), "notes": S_})
DELETED = obj({"id": S, "deleted": B})
DEBTOR = obj({"id": S, "account_ref": S, "name": S, "kind": S, "notes": S_, "currency": S,
              "timezone": S_, "country": S_, "segment": S_, "segment_pinned": B,
              "segment_reason": S_, "status": S, "balance_minor": I,
              "overdue_minor": I, "credit_minor": I, "open_invoices": I, "oldest_due": S_,
              "paused_until": S_, "next_action_at": S_, "version": I_})
DEBTOR_WITH_CONTACTS = {**DEBTOR, "required": [*DEBTOR["required"], "contacts"],
                        "properties": {**DEBTOR["properties"],
                                       "contacts": {"type": "array", "items": CONTACT}}}
INVOICE = obj({"id": S, "debtor_id": S, "number": S, "reference": S_, "issue_date": S,
               "due_date": S, "currency": S, "total_minor": I, "balance_minor": I,
               "status": S, "dispute": O_, "version": I_})
ENTRY = obj({"id": S, "at": S, "kind": S, "actor": S_, "summary": S_, "data": O_})
PAYMENT = obj({"id": S, "kind": S, "amount_minor": I, "currency": S},
              optional=())
LINK = obj({"url": S})
REVOKED = obj({"revoked": B})
TASK = obj({"id": S, "client_id": S, "debtor_id": S, "debtor_name": S_, "status": S,
            "score": I, "why": A, "reasons": A, "due_at": S_, "callback_at": S_,
            "claimed_by": S_, "claim_expires": S_, "timezone": S_, "callable_now": B,
            "callable_from": S_, "not_callable_because": S_})
OBJECTION = obj({"objection": S, "answer": S})
OBJECTIONS = {"type": "array", "items": OBJECTION}
CALL_SCRIPT = obj({"situation": S, "title": S, "source": {"enum": ["default", "client"]},
                   "version": I_, "updated_by": S_, "updated_at": S_, "template": S,
                   "objections": OBJECTIONS})
CALL_SCRIPT_VERSIONS = {**CALL_SCRIPT, "required": [*CALL_SCRIPT["required"], "versions"],
                        "properties": {**CALL_SCRIPT["properties"], "versions": {
                            "type": "array", "items": obj({
                                "version": I, "template": S_, "objections": {
                                    "anyOf": [OBJECTIONS, {"type": "null"}]},
                                "note": S_, "created_by": S, "created_at": S, "source": S})}}}
PHONE = obj({"contact_id": S, "name": S_, "role": S, "phone": S, "display": S, "callable": B})
TASK_SCRIPT = obj({"situation": S, "title": S, "why": S, "source": S, "version": I_,
                   "fallback": S_, "text": S, "objections": OBJECTIONS,
                   "facts": {"type": "object"}, "phones": {"type": "array", "items": PHONE},
                   "outcomes": strings(), "outcome_form": S, "outcome_api": S})
TASK_WITH_SCRIPT = {**TASK, "required": [*TASK["required"], "script"],
                    "properties": {**TASK["properties"], "script": TASK_SCRIPT}}
DISPUTE = obj({"id": S, "invoice_id": S, "invoice_number": S_, "reason": S, "detail": S_,
               "owner": S_, "status": S, "credit_minor": I, "history": A, "created_at": S,
               "updated_at": S_})
PROMISE = obj({"id": S, "amount_minor": I, "currency": S, "promised_for": S, "deadline": S_,
               "status": S, "paid_minor": I, "taken_by": S_, "created_at": S})
PLAN = obj({"id": S, "status": S, "currency": S, "total_minor": I, "paid_minor": I,
            "interval": S, "source": S_, "instalments": A, "broken_instalment": I_,
            "created_at": S})
CHARGE = obj({"id": S, "key": S_, "invoice_id": S_, "kind": S_, "amount_minor": I,
              "currency": S, "description": S_, "status": S, "period_start": S_,
              "period_end": S_, "waived": {}})
ESCALATION = obj({"id": S, "debtor_id": S, "debtor_name": S_, "status": S, "rules": A,
                  "amount_minor": I, "currency": S, "decided_by": S_, "decided_at": S_,
                  "decision_note": S_, "case": O_, "created_at": S})
REPLY = obj({"reply_id": S, "label": S, "channel": S_, "from": S_, "subject": S_,
             "excerpt": S_, "reasons": strings(), "received_at": S_, "attachments": A,
             "proposal": O_})
REPLY_CONFIRMED = obj({"reply_id": S, "label": S, "handled": B,
                       "promise": {"anyOf": [PROMISE, {"type": "null"}]},
                       "dispute": {"anyOf": [DISPUTE, {"type": "null"}]}})
REPLY_HANDLED = obj({"reply_id": S, "handled": B})

COUNTS = {"type": "object", "additionalProperties": I}
IMPORT_REPORT = obj({"import_id": S, "format": S_, "date_order": S_, "mode": S,
                     "counts": COUNTS, "errors": {"type": "array", "items": obj(
                         {"row": I_, "field": S_, "reason": S}, optional=("row", "field"))}})
IMPORT_RECORD = obj({"import_id": S, "filename": S_, "format": S_, "status": S, "mode": S_,
                     "resumed_at": S_, "counts": COUNTS, "created_at": S, "actor": S})
IMPORT_DETAIL = {**IMPORT_RECORD, "required": [*IMPORT_RECORD["required"], "errors"],
                 "properties": {**IMPORT_RECORD["properties"], "errors": A}}
PAYMENT_APPLIED = {**PAYMENT, "required": [*PAYMENT["required"], "replayed"],
                   "properties": {**PAYMENT["properties"], "replayed": B}}
OUTCOME = obj({"task_id": S, "outcome": S,
               "next_action": obj({"kind": S, "at": S_, "note": S}),
               "next_task": {"anyOf": [TASK, {"type": "null"}]}})
REPORT = obj({"client": obj({"id": S, "name": S, "currency": S}), "as_of": S, "source": S,
              "figures": {"type": "object"}, "activity": {"type": "object"},
              "activity_by_month": {"type": "object"}, "trend": {},
              "baseline": O_, "change_since_takeover": O_,
              "definitions": {"type": "object", "additionalProperties": S}})
_SPLIT = obj({"total_minor": I, "predicted_minor": I, "promised_minor": I, "plan_minor": I})
FORECAST = obj({
    "client": obj({"id": S, "name": S, "currency": S, "timezone": S}),
    "forecast": obj({"as_of": S, "weeks": strings(), "kept_rate": {"type": "number"},
                     "computed_at": S, "client_currency": S,
                     "currencies": {"type": "array", "items": obj({
                         "currency": S, "weeks": {"type": "array", "items": _SPLIT},
                         "later": _SPLIT, "total_minor": I})}}),
    "versus_actual": {"type": "array", "items": obj({
        "week": S, "forecast_made_on": S, "forecast_minor": I, "split": _SPLIT,
        "actual_minor": I, "difference_minor": I})},
    "definitions": {"type": "object", "additionalProperties": S}})
OVERVIEW = obj({"clients": A, "specialists": A,
                "definitions": {"type": "object", "additionalProperties": S}})

SEND_WINDOW = obj({"open_now": B, "next_allowed_at": S_, "timezone": S, "override_allowed": B})
_SEND = {"kind": S, "channel": S, "template": S, "tone": S, "to": S_, "invoice_ids": strings(),
         "counts_as_step": S_, "window": SEND_WINDOW, "window_override": B}
SEND_PREVIEW = obj({**_SEND, "subject": S, "text": S, "html": S, "attachments": strings(),
                    "may_send": B,
                    "refusal": {"anyOf": [obj({"code": S, "field": S, "reason": S}),
                                          {"type": "null"}]},
                    "templates": {"type": "array", "items": obj(
                        {"template": S, "tone": S, "label": S})}})
SENT = obj({**_SEND, "outcome": {"enum": ["sent", "already_sent", "in_flight", "unknown"]}})

SEARCH_HIT = obj({"client_id": S, "client_name": S, "debtor_id": S, "name": S,
                  "account_ref": S, "status": S, "currency": S, "balance_minor": I,
                  "overdue_minor": I, "open_invoices": I,
                  "match": {"enum": ["invoice", "account_ref", "email", "phone", "name"]},
                  "matched": S})
SEARCH = obj({"q": S, "items": {"type": "array", "items": SEARCH_HIT}, "truncated": B,
              "partial_clients": strings(), "next_cursor": S_})

C = "/v1/clients/{client_id}"
D = C + "/debtors/{debtor_id}"
E = C + "/escalations/{escalation_id}"
T = C + "/tasks/{task_id}"

# (method, path) -> success body. Kept here, beside the shapes, rather than on each route;
PREVIEW_MESSAGE = obj({"at": S, "day": S, "debtor_id": S, "debtor_name": S, "channel": S,
                       "step": S, "occurrence": S, "tone": S, "template": S,
                       "first_contact": B, "fallback": B, "to": S_, "local_time": S, "tz": S,
                       "invoice_ids": A, "subject": S, "text": S, "html": S, "held": S_})
N = {"type": "number"}
WHAT_IF_ROW = obj({"playbook": {"enum": ["current", "proposed", "baseline", "none"]},
                   "debtors": I, "dso_days": N, "days_beyond_terms": N, "mean_days_late": N,
                   "on_time_ratio": N,
                   "collected_ratio": obj({"30d": N, "60d": N, "90d": N}),
                   "touches_per_debtor": N,
                   "touches_by_channel": obj({"email": N, "sms": N, "call": N, "letter": N}),
                   "calls_per_debtor": N})
WHAT_IF = obj({"debtors": I, "invoices": I, "samples": I, "debtors_with_history": I,
               "seed": I, "assumes": S, "proposed_cadence": {"type": "object"},
               "playbooks": {"type": "array", "items": WHAT_IF_ROW},
               "dso_change_vs_current": N, "dso_reduction_vs_current": N})
PREVIEW = obj({"client_id": S, "chasing": {"enum": ["preview", "active"]}, "from": S, "to": S,
               "sender_email": S, "sender_status": S,
               "days": {"type": "array", "items": obj({"date": S, "messages": I,
                                                        "by_channel": COUNTS,
                                                        "by_step": COUNTS})},
               "by_step": COUNTS, "by_channel": COUNTS, "accounts": I,
               "accounts_contacted": I, "messages_total": I,
               "messages": {"type": "array", "items": PREVIEW_MESSAGE}, "truncated": B,
               "proposed_cadence": B, "assumes": S})
CADENCE_BODY = obj({"id": S, "name": S, "steps": A})
SETTINGS_VERSION = obj({"kind": {"enum": ["cadence", "template"]}, "name": S, "version": I,
                        "body": O_, "note": S_, "created_by": S, "created_at": S})
CADENCES = obj({"client_id": S, "items": {"type": "array", "items": obj({
    "slot": S, "title": S, "default": B, "segments": strings(), "cadence": CADENCE_BODY})},
    "segment_cadences": {"type": "object"}, "templates": A, "next_cursor": S_})
CADENCE_SAVED = obj({"slot": S, "cadence": CADENCE_BODY, "default": B,
                     "version": SETTINGS_VERSION})
_EFFECT_SIDE = obj({"messages_total": I, "accounts": I, "accounts_contacted": I,
                    "by_step": {"type": "object"}, "by_channel": {"type": "object"},
                    "days": A})
CADENCE_EFFECT = obj({"slot": S, "days": I, "current": _EFFECT_SIDE, "proposed": _EFFECT_SIDE,
                      "steps": A, "change": I})
TEMPLATE_RENDERED = obj({"name": S, "channel": S, "subject": S, "text": S, "html": S,
                         "debtor_id": S, "debtor_name": S, "to": S_})
TEMPLATE_SAVED = obj({"name": S, "source": {"enum": ["client", "default"]}, "text": S,
                      "version": SETTINGS_VERSION})
SETTINGS_VERSIONS = obj({"kind": S, "name": S, "items": {"type": "array",
                                                        "items": SETTINGS_VERSION},
                         "next_cursor": S_})
TEST_SENT = obj({"to": S, "channel": S, "subject": S, "debtor_id": S, "debtor_name": S,
                 "message_id": S_})
# tests/functional/test_openapi_document.py fails when a JSON operation has none.
F_ = {"type": ["number", "null"]}
N = {"type": "number"}
BEHAVIOUR = obj({
    "summary": strings(),
    "segment": obj({"name": S_, "label": S_, "reason": S_, "pinned": B, "computed": S,
                    "computed_label": S, "computed_reason": S}),
    "profile": obj({"paid_invoices": I, "settled_invoices": I, "mean_days_late": F_,
                    "weighted_days_late": F_, "typical_days_late": F_, "spread_days": F_,
                    "trend_days": F_, "trend": S_, "share_late": F_, "paid_in_parts": I,
                    "invoices_seen": I, "promises_made": I, "promises_kept": I,
                    "promises_broken": I, "disputes_raised": I, "open_disputes": I,
                    "channels": A, "best_channel": S_}),
    "predictions": {"type": "array", "items": obj({
        "invoice_id": S, "number": S, "due_date": S, "balance_minor": I, "currency": S,
        "pay_on": S, "days_late": N, "p_late": N, "expected_days_late": N,
        "moved": strings()})},
    "expected_overdue_minor_days": I, "p_late": N, "expected_days_late": N,
    "prior": obj({"invoices": I, "typical_days_late": N, "k": N}),
})
_TERMS = obj({"limit_minor": I_, "currency": S_, "terms_days": I_})
CREDIT_POLICY = obj({"client_id": S, "currency": S, "default": _TERMS,
                     "segments": {"type": "object", "additionalProperties": _TERMS},
                     "behaviour_segments": strings(),
                     "bands": {"type": "object", "additionalProperties": S},
                     "default_terms_days": I, "version": I_})
BAND = {"enum": ["low", "medium", "high"]}
CREDIT_ALERT = obj({"id": S, "debtor_id": S, "debtor_name": S_,
                    "kind": {"enum": ["over_limit", "band_changed"]}, "kind_label": S,
                    "status": {"enum": ["open", "acknowledged", "resolved"]}, "message": S,
                    "recommendation": S, "recommendation_label": S, "raised_at": S,
                    "acknowledged_by": S_, "acknowledged_at": S_, "resolved_at": S_,
                    "resolution": S_, "note": S_, "data": {"type": "object"}})
DEBTOR_CREDIT = obj({"debtor_id": S, "debtor_name": S, "enabled": B, "limit_minor": I_, "currency": S_,
                     "terms_days": I, "limit_source": S, "terms_source": S, "limit_label": S,
                     "limit_source_label": S, "terms_source_label": S, "override": O_, "override_limit_text": S_,
                     "exposure_minor": I, "exposure_currency": S, "exposure_label": S,
                     "other_currencies": A, "over_limit": B, "headroom_minor": I_,
                     "headroom_label": S_, "band": BAND, "band_label": S, "band_reason": S,
                     "hold": O_, "on_hold": B, "hold_recommended": B,
                     "alerts": {"type": "array", "items": CREDIT_ALERT}, "evaluated_at": S_})
RESPONSES: dict[tuple[str, str], dict] = {
    ("GET", "/v1/me"): USER,
    ("GET", "/v1/users"): page(USER),
    ("POST", "/v1/users"): USER,
    ("PATCH", "/v1/users/{user_id}"): USER,
    ("GET", "/v1/clients"): page(CLIENT),
    ("POST", "/v1/clients"): CLIENT,
    ("GET", C): CLIENT,
    ("PATCH", C): CLIENT,
    ("DELETE", C): ARCHIVED,
    ("GET", C + "/debtors"): page(DEBTOR),
    ("POST", C + "/debtors"): DEBTOR,
    ("GET", D): DEBTOR_WITH_CONTACTS,
    ("PATCH", D): DEBTOR,
    ("GET", D + "/contacts"): page(CONTACT),
    ("POST", D + "/contacts"): CONTACT,
    ("PATCH", D + "/contacts/{contact_id}"): CONTACT,
    ("DELETE", D + "/contacts/{contact_id}"): DELETED,
    ("GET", D + "/invoices"): page(INVOICE),
    ("POST", D + "/invoices"): INVOICE,
    ("GET", D + "/invoices/{invoice_id}"): INVOICE,
    ("PATCH", D + "/invoices/{invoice_id}"): INVOICE,
    ("GET", C + "/invoices"): page(INVOICE),
    ("GET", D + "/timeline"): page(ENTRY),
    ("POST", D + "/notes"): ENTRY,
    ("GET", D + "/payments"): page(PAYMENT),
    ("GET", D + "/plans"): page(PLAN),
    ("GET", D + "/charges"): page(CHARGE),
    ("POST", D + "/link"): LINK,
    ("POST", D + "/sends/preview"): SEND_PREVIEW,
    ("POST", D + "/sends"): SENT,
    ("POST", D + "/link/revoke-all"): REVOKED,
    ("GET", "/v1/tasks"): page(TASK),
    ("POST", "/v1/tasks/next"): TASK,
    ("GET", C + "/tasks"): page(TASK),
    ("POST", C + "/tasks/next"): TASK,
    ("GET", T): TASK_WITH_SCRIPT,
    ("GET", C + "/call-scripts"): page(CALL_SCRIPT),
    ("GET", C + "/call-scripts/{situation}"): CALL_SCRIPT_VERSIONS,
    ("PUT", C + "/call-scripts/{situation}"): CALL_SCRIPT_VERSIONS,
    ("POST", T + "/release"): TASK,
    ("POST", D + "/tasks"): TASK,
    ("GET", D + "/promises"): page(PROMISE),
    ("GET", D + "/replies/waiting"): REPLY,
    ("POST", D + "/replies/{reply_id}/confirm"): REPLY_CONFIRMED,
    ("POST", D + "/replies/{reply_id}/handled"): REPLY_HANDLED,
    ("GET", D + "/disputes"): page(DISPUTE),
    ("POST", D + "/disputes"): DISPUTE,
    ("PATCH", D + "/disputes/{dispute_id}"): DISPUTE,
    ("GET", C + "/escalations"): page(ESCALATION),
    ("POST", C + "/escalations/evaluate"): page(ESCALATION),
    ("GET", E): ESCALATION,
    ("POST", E + "/decision"): ESCALATION,
    ("PATCH", E + "/case"): ESCALATION,
    ("GET", "/v1/portal/escalations"): page(ESCALATION),
    ("POST", "/v1/portal/escalations/{escalation_id}/decision"): ESCALATION,
    ("GET", C + "/report"): REPORT,
    ("GET", C + "/forecast"): FORECAST,
    ("GET", "/v1/overview"): OVERVIEW,
    ("POST", C + "/imports"): IMPORT_REPORT,
    ("GET", C + "/imports"): page(IMPORT_RECORD),
    ("GET", C + "/imports/{import_id}"): IMPORT_DETAIL,
    ("POST", T + "/outcome"): OUTCOME,
    ("POST", D + "/payments"): PAYMENT_APPLIED,
    ("POST", D + "/plans"): PLAN,
    ("POST", D + "/plans/{plan_id}/approve"): PLAN,
    ("POST", D + "/charges/{charge_id}/waive"): CHARGE,
    ("POST", C + "/preview"): PREVIEW,
    ("POST", C + "/what-if"): WHAT_IF,
    ("POST", C + "/chasing"): CLIENT,
    ("POST", C + "/sender/check"): CLIENT,
    ("GET", C + "/cadences"): CADENCES,
    ("PUT", C + "/cadences/{slot}"): CADENCE_SAVED,
    ("POST", C + "/cadences/{slot}/effect"): CADENCE_EFFECT,
    ("POST", C + "/templates/preview"): TEMPLATE_RENDERED,
    ("PUT", C + "/templates"): TEMPLATE_SAVED,
    ("GET", C + "/settings-versions"): SETTINGS_VERSIONS,
    ("POST", C + "/settings-versions/restore"): {"anyOf": [CADENCE_SAVED, TEMPLATE_SAVED]},
    ("POST", C + "/test-sends"): TEST_SENT,
    ("GET", D + "/behaviour"): BEHAVIOUR,
    ("GET", C + "/credit-policy"): CREDIT_POLICY,
    ("PUT", C + "/credit-policy"): CREDIT_POLICY,
    ("GET", D + "/credit"): DEBTOR_CREDIT,
    ("PUT", D + "/credit"): DEBTOR_CREDIT,
    ("POST", D + "/credit/hold"): DEBTOR_CREDIT,
    ("GET", C + "/credit-alerts"): page(CREDIT_ALERT),
    ("POST", C + "/credit-alerts/{alert_id}"): CREDIT_ALERT,
    # the specialist's debtor work (search, escalate, decline a plan)
    ("GET", "/v1/search"): SEARCH,
    ("POST", D + "/escalation"): ESCALATION,
    ("POST", D + "/plans/{plan_id}/decline"): PLAN,
}
