"""Call scripts: which script a task gets, and the product's scripts filled with the facts."""
from __future__ import annotations

import pytest

from chalicelib.dunning import messages
from chalicelib.workbench import call_scripts
from chalicelib.workbench.call_rules import (
    OBJECTIONS,
    SITUATION_TITLES,
    SITUATIONS,
    ScriptFacts,
    objections_for,
    script_situation,
)


def r(reason, **details):
    return {"reason": reason, "details": details}


@pytest.mark.parametrize("reasons,facts,expected", [
    ([r("cadence_step", tone="firm", template="call_overdue")], ScriptFacts(), "first_call"),
    ([r("email_bounced", no_channel_left=True)], ScriptFacts(), "first_call"),
    ([r("retry after no answer")], ScriptFacts(), "first_call"),
    ([r("promise broken")], ScriptFacts(), "broken_promise"),
    ([r("plan_broken")], ScriptFacts(), "broken_promise"),
    ([r("retry after no answer")], ScriptFacts(last_promise_broken=True), "broken_promise"),
    ([r("reply_dispute")], ScriptFacts(), "dispute_follow_up"),
    ([r("debtor raised a dispute on the payment page", action="dispute")], ScriptFacts(),
     "dispute_follow_up"),
    ([r("cadence_step", tone="final", template="call_final")], ScriptFacts(), "final_call"),
    ([r("cadence_step", tone="firm")], ScriptFacts(escalation_proposed=True), "final_call"),
    ([r("callback requested")], ScriptFacts(), "follow_up"),
    ([r("debtor asked a question on the payment page", action="question")], ScriptFacts(),
     "follow_up"),
    ([r("Please call about the new contract")], ScriptFacts(), "follow_up"),  # by hand
    ([], ScriptFacts(), "first_call"),
])
def test_each_call_task_reason_gets_its_script(reasons, facts, expected):
    situation, why = script_situation(reasons, facts)
    assert situation == expected
    assert why.startswith(SITUATION_TITLES[expected])


def test_the_most_pressing_situation_wins_and_a_dispute_comes_first():
    reasons = [r("cadence_step", tone="final"), r("promise broken"), r("reply_dispute")]
    assert script_situation(reasons)[0] == "dispute_follow_up"
    assert script_situation(reasons[:2])[0] == "final_call"
    assert script_situation([r("cadence_step", tone="firm"), r("reply")])[0] == "follow_up"
    assert script_situation([r("closed: account paid"), r("promise broken")])[0] == \
        "broken_promise"


def test_every_situation_ships_a_script_and_objections():
    assert set(SITUATIONS) == set(SITUATION_TITLES) == set(OBJECTIONS)
    for situation in SITUATIONS:
        assert len(objections_for(situation)) >= 3
        assert call_scripts.default_template(situation).strip()
        call_scripts.check_script(call_scripts.default_template(situation),
                                  [{"objection": o.objection, "answer": o.answer}
                                   for o in objections_for(situation)])
    with pytest.raises(ValueError):
        objections_for("small_talk")


def test_the_broken_promise_script_reads_the_debtors_facts():
    ctx = {**call_scripts.SAMPLE, "broken_promises": 2}
    text, objections = call_scripts.fill(messages.sandbox({}), "broken_promise", None, None, ctx)
    assert "Hello, may I speak to Jo Bloggs at Bramble Bakery?" in text
    assert "you agreed to pay £1,200.00 by 1 Dec 2026, and we haven't received it" in text
    assert "2 payment dates agreed on this account have now passed" in text
    assert "the oldest invoice, INV-1, is 55 days overdue" in text
    assert "invoice INV-2 is in dispute (pricing, open)" in text
    assert any("£1,200.00 today" in o["answer"] for o in objections)  # answers are filled too


def test_a_bare_account_reads_naturally_and_a_client_text_overrides_ours():
    text, _ = call_scripts.fill(messages.sandbox({}), "first_call", None, None,
                                call_scripts.SAMPLE_BARE)
    assert "the person who looks after accounts at Bramble Bakery" in text
    assert "dispute" not in text and "None" not in text
    own, objs = call_scripts.fill(messages.sandbox({}), "first_call",
                                  "Hi {{ contact_name }}, {{ overdue_total }} please.",
                                  [{"objection": "No", "answer": "{{ debtor_name }} owes it"}],
                                  call_scripts.SAMPLE)
    assert own == "Hi Jo Bloggs, £1,200.00 please.\n"
    assert objs == [{"objection": "No", "answer": "Bramble Bakery owes it"}]
