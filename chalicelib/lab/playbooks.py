"""The playbooks the outcomes lab compares: the product's default, a Xero-style e-mail
sequence, no reminders, and a named lighter alternative the simulation suggests."""
from __future__ import annotations

from chalicelib.dunning import cadence as cad
from chalicelib.lab.simulator import Playbook

# What small-business software does out of the box: three e-mails after the due date,
# no SMS, no calls, no statement first.
XERO_STYLE = cad.Cadence(
    id="xero-style", name="E-mail at +7/+14/+21 days",
    steps=(cad.Step("due+7", 7, "email", "overdue_friendly", "friendly"),
           cad.Step("due+14", 14, "email", "overdue_firm", "firm"),
           cad.Step("due+21", 21, "email", "overdue_firm2", "firm")))

# A lighter playbook the lab found (docs/ARCHITECTURE.md "Outcomes lab"): no more touches
# per debtor than the e-mail sequence, still better DSO, at the cost of a call for about a
# third of debtors. Used with the client setting first_contact: false.
SMS_FIRST = cad.Cadence(
    id="sms-first", name="SMS next day, call at +10, final notice at +30",
    steps=(cad.Step("due+1", 1, "sms", "sms_overdue_nudge", "friendly"),
           cad.Step("due+10", 10, "call", "call_overdue", "firm"),
           cad.Step("due+30", 30, "email", "final_notice", "final")),
    min_gap_days=2)


def standard(final_min_minor: int, call_min_minor: int) -> list[Playbook]:
    """default (as the product runs it: first-contact statement, floors), baseline, none,
    and the lighter alternative."""
    return [
        Playbook("default", cad.DEFAULT_CADENCE, first_contact=True,
                 final_min_minor=final_min_minor, call_min_minor=call_min_minor),
        Playbook("baseline", XERO_STYLE),
        Playbook("none", None),
        Playbook("sms_first", SMS_FIRST, first_contact=False,
                 final_min_minor=final_min_minor, call_min_minor=call_min_minor),
    ]
