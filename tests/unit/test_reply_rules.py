"""The reply classifier: class, reasons and what was found (dates relative to a given day)."""
from datetime import date

from chalicelib.dunning.reply_rules import classify, find_amount, find_date

TODAY = date(2027, 3, 1)  # a Monday


def test_paid_with_remittance_names_the_phrases_it_matched():
    v = classify("Re: Invoice INV-1", "We paid this yesterday. Remittance attached.", TODAY)
    assert v.label == "already_paid"
    assert any("remittance" in r.lower() for r in v.reasons)
    assert v.human


def test_promise_finds_date_and_amount():
    v = classify("Re: Reminder", "We will pay £1,250.50 on 15/03/2027.", TODAY)
    assert v.label == "promise_to_pay"
    assert v.found_date == date(2027, 3, 15)
    assert (v.amount_minor, v.currency) == (125050, "GBP")


def test_promise_in_german_with_relative_date():
    v = classify("AW: Mahnung", "Ich überweise 300,00 € nächste Woche.", TODAY)
    assert v.label == "promise_to_pay"
    assert v.found_date == date(2027, 3, 8)
    assert (v.amount_minor, v.currency) == (30000, "EUR")


def test_out_of_office_carries_return_date_and_is_not_human():
    v = classify("Réponse automatique", "Je suis en congés, de retour le 22 avril.", TODAY)
    assert v.label == "out_of_office"
    assert v.found_date == date(2027, 4, 22)
    assert not v.human


def test_out_of_office_wins_over_payment_words_in_an_auto_reply():
    v = classify("Automatic reply", "I am out of the office until 20 March. For payments "
                 "please contact accounts, invoices will be paid on my return.", TODAY)
    assert v.label == "out_of_office"
    assert v.found_date == date(2027, 3, 20)


def test_dispute_unsubscribe_and_other():
    assert classify("Re", "Wij betwisten deze factuur.", TODAY).label == "dispute_or_query"
    assert classify("Re", "Please unsubscribe me.", TODAY).label == "unsubscribe"
    other = classify("Re", "Who is this?", TODAY)
    assert other.label == "other" and other.reasons == ("no rule matched",)


def test_the_quoted_reminder_below_the_reply_is_ignored():
    body = "Thanks, noted.\n\nOn 1 Mar 2027, Acme wrote:\n> Please pay, or dispute it here"
    assert classify("Re: Reminder", body, TODAY).label == "other"


def test_a_date_earlier_in_the_year_than_today_rolls_to_next_year():
    assert find_date("we pay on 3 January", TODAY) == date(2028, 1, 3)
    assert find_date("nothing here", TODAY) is None
    assert find_amount("no money") == (None, None)


def test_asking_to_stop_email_is_an_unsubscribe_but_asking_for_an_email_is_not():
    for text in ("Please stop emailing me.", "Do not email us again", "Unsubscribe",
                 "Remove me from your mailing list", "stop sending me these reminders",
                 "Bitte abmelden", "I want to opt out"):
        v = classify("Re: Reminder", text, TODAY)
        assert v.label == "unsubscribe", text
        assert any(r.startswith("unsubscribe: ") for r in v.reasons)
    for text in ("Can you email me a copy of the invoice?", "Do not email me a copy please",
                 "I will pay on Friday, stop worrying"):
        assert classify("Re: Reminder", text, TODAY).label != "unsubscribe", text
