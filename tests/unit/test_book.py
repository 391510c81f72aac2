"""Debtor-book parser: generic, Xero, QuickBooks and Sage exports into invoices and row errors."""
from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chalicelib.book.rows import AmbiguousDateOrder, BookFormatError, ParsedBook, parse_book
from tests.conftest import BOOKS

GENERIC_HEADER = "customer,invoice no,invoice date,due date,amount,amount paid,currency"


def read_csv(name: str) -> list[dict[str, str]]:
    with open(BOOKS / name, encoding="utf-8-sig", newline="") as fh:
        return list(csv.DictReader(fh))


def pence(text: str) -> int:
    """Major-unit text from the sample files to minor units, independently of the parser."""
    return int(Decimal(text.replace(",", "")) * 100)


def parse_lines(*lines: str, **kw: object) -> ParsedBook:
    return parse_book("\n".join(lines) + "\n", **kw)  # type: ignore[arg-type]


def one_invoice(amount: str = "100.00", paid: str = "0", issue: str = "2026-08-01",
                due: str = "2026-08-31", **kw: object) -> ParsedBook:
    return parse_lines(GENERIC_HEADER, f'Acme Ltd,INV-1,"{issue}","{due}","{amount}",{paid},GBP', **kw)


def fields(book: ParsedBook) -> list[tuple[int, str]]:
    return [(e.row, e.field) for e in book.errors]


# --- the sample books ---------------------------------------------------------------------

def test_given_the_acme_generic_book_when_parsed_then_all_300_invoices_land_with_the_file_totals() -> None:
    expected = read_csv("acme_generic.csv")

    book = parse_book((BOOKS / "acme_generic.csv").read_bytes())

    assert (book.format, book.errors, book.total_lines) == ("generic", [], len(expected))
    assert len(book.rows) == len(expected) == 300
    assert sum(r.total_minor for r in book.rows) == sum(pence(e["amount"]) for e in expected)
    assert sum(r.paid_minor for r in book.rows) == sum(pence(e["amount_paid"]) for e in expected)
    assert sum(r.balance_minor for r in book.rows) == sum(
        pence(e["amount"]) - pence(e["amount_paid"]) for e in expected)


def test_given_the_acme_book_then_each_row_keeps_its_line_number_and_normalised_details() -> None:
    expected = read_csv("acme_generic.csv")

    book = parse_book((BOOKS / "acme_generic.csv").read_bytes())

    for row in book.rows:
        src = expected[row.row - 2]  # header is line 1
        assert (row.invoice_number, row.debtor_ref, row.debtor_name) == (
            src["invoice_number"], src["debtor_ref"], src["debtor_name"])
        assert (row.issue_date.isoformat(), row.due_date.isoformat()) == (
            src["issue_date"], src["due_date"])
        assert (row.phone, row.timezone, row.country) == (src["phone"], src["timezone"], src["country"])
        assert row.email == src["email"] and row.secondary_email == (src["secondary_email"] or None)
        assert row.reference == (src["reference"] or None) and row.debtor_kind == "business"
    assert any(not r.email.isascii() for r in book.rows if r.email), "IDN email domains are kept"


def test_given_the_xero_export_when_parsed_then_line_items_collapse_to_150_invoices_owing_the_amount_due() -> None:
    lines = read_csv("northwind_xero.csv")
    first_line: dict[str, int] = {}
    due: dict[str, int] = {}
    total: dict[str, int] = {}
    for i, item in enumerate(lines, start=2):
        first_line.setdefault(item["InvoiceNumber"], i)
        due[item["InvoiceNumber"]] = pence(item["InvoiceAmountDue"])
        total[item["InvoiceNumber"]] = pence(item["Total"])

    book = parse_book((BOOKS / "northwind_xero.csv").read_bytes())

    assert (book.format, book.date_order, book.errors) == ("xero", "DMY", [])
    assert book.total_lines == len(lines)
    assert len(book.rows) == len(due) == 150
    assert sum(r.balance_minor for r in book.rows) == sum(due.values())
    assert sum(r.total_minor for r in book.rows) == sum(total.values())
    assert {r.invoice_number: r.row for r in book.rows} == first_line


def test_given_the_xero_export_then_accounts_are_keyed_by_a_stable_reference_from_the_contact_name() -> None:
    lines = read_csv("northwind_xero.csv")

    book = parse_book((BOOKS / "northwind_xero.csv").read_bytes())

    refs_by_name = {(r.debtor_name, r.debtor_ref) for r in book.rows}
    assert len(refs_by_name) == len({item["ContactName"] for item in lines}) == 25
    assert len({ref for _, ref in refs_by_name}) == 25
    assert ("Saltmarsh Joinery", "SALTMARSH-JOINERY") in refs_by_name
    inv = next(r for r in book.rows if r.invoice_number == "INV-10000")
    assert (inv.issue_date, inv.due_date, inv.country) == (date(2026, 8, 1), date(2026, 9, 30), "US")
    assert inv.contact_name is None and inv.email == "freya@zenithmediagroup.example.com"


def test_given_the_dirty_book_then_each_bad_row_is_reported_on_its_own_line_and_every_good_row_lands() -> None:
    raw = (BOOKS / "dirty_generic.csv").read_text(encoding="utf-8-sig").splitlines()
    line_of = {text.split(",")[0]: n for n, text in enumerate(raw, start=1)}
    # One problem per bad row, except D9003 whose issue AND due dates are both impossible.
    problems = {"D9001": ["amount"], "D9002": ["due_date"], "D9003": ["issue_date", "due_date"],
                "D9004": ["currency"], "D9005": ["email"], "D9006": ["timezone"],
                "D9007": ["amount_paid"], "D9008": ["debtor_name"], "D9009": ["invoice_number"],
                "D9010": ["phone"], "D9011": ["row"], "D9012": ["amount"]}
    expected = [(line_of[ref], f) for ref, fs in problems.items() for f in fs]

    book = parse_book((BOOKS / "dirty_generic.csv").read_bytes())

    assert fields(book) == expected
    assert len({e.row for e in book.errors}) == 12
    assert len(book.rows) == len(raw) - 1 - 12 == 20
    assert not any(r.debtor_ref.startswith("D9") for r in book.rows)
    first = next(r for r in book.rows if r.invoice_number == "INV-10000")
    assert first.row == 2 and first.debtor_ref == "D0003", "the first occurrence of a duplicate lands"
    assert book.rejected_invoice_numbers >= {"INV-B1", "INV-B8", "INV-B12"}
    assert "INV-10000" not in book.rejected_invoice_numbers


def test_given_the_dirty_book_then_reasons_are_plain_english_and_name_the_value() -> None:
    book = parse_book((BOOKS / "dirty_generic.csv").read_bytes())
    reasons = {(e.field, e.value): e.reason for e in book.errors}

    assert reasons[("due_date", "2026-02-30")] == "due date 2026-02-30 is not a real date"
    assert reasons[("amount", "-120.00")] == "amount -120.00 is negative"
    assert "overpaid" in reasons[("amount_paid", "25.00")]
    assert "more decimal places than GBP" in reasons[("amount", "10.005")]
    assert "already appears on line 2" in reasons[("invoice_number", "INV-10000")]
    assert "formula" in reasons[("debtor_name", None)], "the formula itself is never echoed back"


# --- dates --------------------------------------------------------------------------------

AMBIGUOUS = (GENERIC_HEADER, "A Ltd,1,03/04/2026,05/06/2026,10.00,0,GBP",
             "B Ltd,2,01/02/2026,01/03/2026,10.00,0,GBP")


def test_given_only_ambiguous_slash_dates_when_no_order_is_given_then_the_import_refuses_to_guess() -> None:
    with pytest.raises(AmbiguousDateOrder) as exc:
        parse_lines(*AMBIGUOUS)

    assert exc.value.field == "date_order"
    assert "03/04/2026" in str(exc.value) and "DMY" in str(exc.value) and "MDY" in str(exc.value)


@pytest.mark.parametrize(("order", "issued"), [("DMY", date(2026, 4, 3)), ("MDY", date(2026, 3, 4))])
def test_given_ambiguous_dates_when_the_order_is_supplied_then_dates_follow_it(order: str, issued: date) -> None:
    book = parse_lines(*AMBIGUOUS, date_order=order)

    assert book.date_order == order and book.errors == []
    assert book.rows[0].issue_date == issued


@pytest.mark.parametrize(("proof", "order"), [("25/04/2026", "DMY"), ("04/25/2026", "MDY")])
def test_given_one_date_that_proves_the_order_then_the_whole_file_follows_it(proof: str, order: str) -> None:
    book = parse_lines(*AMBIGUOUS, f"C Ltd,3,{proof},{proof},1.00,0,GBP")

    assert book.date_order == order and len(book.rows) == 3


def test_given_dates_that_prove_both_orders_then_the_import_refuses_and_names_both() -> None:
    lines = (*AMBIGUOUS, "C Ltd,3,25/04/2026,04/30/2026,1.00,0,GBP")

    with pytest.raises(AmbiguousDateOrder, match="25/04/2026.*04/30/2026"):
        parse_lines(*lines)
    book = parse_lines(*lines, date_order="DMY")
    assert fields(book) == [(4, "due_date")], "04/30/2026 is not a day-first date"


@pytest.mark.parametrize("text", ["2026-08-01", "01/08/2026", "1/8/26", "01-08-2026", "01.08.2026",
                                  "01 Aug 2026", "1-Aug-26", "1st August 2026", "Aug 1, 2026",
                                  "August 1 2026", "2026/08/01", "01/08/2026 00:00",
                                  "2026-08-01T00:00:00"])
def test_given_a_common_date_spelling_then_it_reads_as_that_day(text: str) -> None:
    book = one_invoice(issue=text, date_order="DMY")

    assert book.errors == [] and book.rows[0].issue_date == date(2026, 8, 1)


@pytest.mark.parametrize(("issue", "due", "field", "why"), [
    ("2026-13-01", "2026-12-31", "issue_date", "is not a real date"),
    ("2026-08-01", "29/02/2027", "due_date", "is not a real date"),
    ("2026-08-01", "next week", "due_date", "format I recognise"),
    ("2026-08-01", "2026-07-31", "due_date", "before the issue date"),
])
def test_given_an_impossible_date_then_that_row_is_rejected(issue: str, due: str, field: str, why: str) -> None:
    book = one_invoice(issue=issue, due=due, date_order="DMY")

    assert book.rows == [] and fields(book) == [(2, field)] and why in book.errors[0].reason


# --- numbers ------------------------------------------------------------------------------

@pytest.mark.parametrize("text", ["1,234.50", "£1,234.50", "$1,234.50", " 1234.5 ", "1234.50GBP"])
def test_given_a_common_amount_spelling_then_it_reads_as_the_same_money(text: str) -> None:
    book = one_invoice(amount=text)

    assert book.errors == [] and book.rows[0].total_minor == 123450


@pytest.mark.parametrize(("text", "why"), [("(12.00)", "is negative"), ("-12.00", "is negative"),
                                           ("€12.00", "is in EUR"), ("12.5.0", "thousands separators"),
                                           ("1,23.00", "thousands separators"), ("ten", "not a number")])
def test_given_a_bad_amount_then_the_row_says_why(text: str, why: str) -> None:
    book = one_invoice(amount=text)

    assert fields(book) == [(2, "amount")] and why in book.errors[0].reason


def test_given_a_continental_export_then_comma_decimals_and_dot_thousands_are_read_per_column() -> None:
    book = parse_lines("Kunde Nr;Customer;Invoice No;Invoice Date;Due Date;Total;Amount Paid;Currency",
                       "K1;Müller GmbH;R-1;01.08.2026;31.08.2026;1.234,50;234,50;EUR",
                       "K2;Dupont SARL;R-2;15.08.2026;14.09.2026;12,00;0;EUR",
                       "K3;Rossi Srl;R-3;20.08.2026;19.09.2026;1.500;1.500;EUR")

    assert (book.format, book.date_order, book.errors) == ("generic", "DMY", [])
    assert [(r.total_minor, r.paid_minor) for r in book.rows] == [(123450, 23450), (1200, 0),
                                                                   (150000, 150000)]
    assert book.rows[0].debtor_ref == "MÜLLER-GMBH"


def test_given_a_dot_grouped_amount_with_nothing_proving_the_convention_then_it_is_not_guessed() -> None:
    book = parse_lines("customer;invoice no;invoice date;due date;total;currency",
                       "Rossi Srl;R-3;2026-08-20;2026-09-19;1.500;EUR")

    assert book.rows == [] and fields(book) == [(2, "amount")]
    assert "thousands or as decimals" in book.errors[0].reason


@settings(max_examples=60, deadline=None)
@given(minor=st.integers(min_value=0, max_value=10**11), style=st.sampled_from(["uk", "eu", "plain"]))
def test_given_any_amount_written_in_uk_eu_or_plain_style_then_the_same_minor_units_come_back(
        minor: int, style: str) -> None:
    major, cents = divmod(minor, 100)
    text = {"uk": f"£{major:,}.{cents:02d}", "plain": f"{major}.{cents:02d}",
            "eu": f"{major:,}.{cents:02d}".replace(",", " ").replace(".", ",").replace(" ", ".")}[style]
    sep = ";" if style == "eu" else ","
    book = parse_lines(sep.join(["customer", "invoice no", "invoice date", "due date", "total",
                                 "currency"]),
                       sep.join(["Acme", "INV-1", "2026-08-01", "2026-08-31", f'"{text}"', "GBP"]))

    assert book.errors == [] and book.rows[0].total_minor == minor


# --- other exports ------------------------------------------------------------------------

QUICKBOOKS_INVOICE_LIST = """\
Harbour Supplies Inc.
Invoice List
All Dates

Date,Transaction type,No.,Customer,Memo/Description,Due date,Amount,Open balance
05/14/2026,Invoice,1001,Harbour Cafe,Catering,06/13/2026,"1,200.00",450.00
05/20/2026,Payment,,Harbour Cafe,,,-750.00,0.00
06/02/2026,Invoice,1002,"Mills & Sons, Inc.",Consulting,07/02/2026,$980.50,$980.50
06/03/2026,Credit Memo,CM-7,Harbour Cafe,,,-20.00,-20.00
Total,,,,,,"2,160.50","1,410.50"


Monday, October 5, 2026 10:00 AM GMT-07:00
"""


def test_given_a_quickbooks_invoice_list_then_only_invoices_land_and_titles_totals_and_footer_are_skipped() -> None:
    book = parse_book(QUICKBOOKS_INVOICE_LIST.encode(), default_currency="USD")

    assert (book.format, book.date_order, book.errors) == ("quickbooks", "MDY", [])
    assert [(r.row, r.invoice_number, r.debtor_name, r.currency) for r in book.rows] == [
        (6, "1001", "Harbour Cafe", "USD"), (8, "1002", "Mills & Sons, Inc.", "USD")]
    assert [(r.total_minor, r.balance_minor) for r in book.rows] == [(120000, 45000), (98050, 98050)]
    assert book.rows[0].due_date == date(2026, 6, 13)
    assert (book.total_lines, book.skipped_lines) == (6, 4)


def test_given_a_quickbooks_aged_receivables_detail_then_bucket_headings_and_subtotals_are_skipped() -> None:
    report = "\r\n".join([
        "A/R Aging Detail", "As of October 5, 2026", "",
        ",Date,Transaction Type,Num,Customer,Due Date,Past Due,Amount,Open Balance",
        "Current,,,,,,,,",
        ",09/28/2026,Invoice,2040,Bramble Bakery,10/28/2026,0,300.00,300.00",
        "Total for Current,,,,,,,300.00,300.00",
        "1 - 30 days past due,,,,,,,,",
        ',08/15/2026,Invoice,2031,Oak & Ash Ltd,09/14/2026,21,"1,050.00",525.00',
        'Total for 1 - 30 days past due,,,,,,,"1,050.00",525.00',
        'TOTAL,,,,,,,"1,350.00",825.00', ""])

    book = parse_book(report.encode(), default_currency="USD")

    assert (book.format, book.errors) == ("quickbooks", [])
    assert [(r.row, r.invoice_number, r.balance_minor) for r in book.rows] == [(6, "2040", 30000),
                                                                               (9, "2031", 52500)]


def test_given_a_sage_customer_activity_export_then_sales_invoices_land_keyed_by_account_reference() -> None:
    book = parse_lines(
        "A/C,Name,Type,Date,Ref,Details,Due Date,Gross,O/S,Currency",
        "HARB001,Harbour Cafe Ltd,SI,14/05/2026,10234,Catering,13/06/2026,1200.00,450.00,GBP",
        "HARB001,Harbour Cafe Ltd,SR,20/05/2026,10234,Receipt,,750.00,0.00,GBP",
        "MILL002,Mills & Sons,SI,02/06/2026,10235,Consulting,02/07/2026,980.50,980.50,GBP",
        "MILL002,Mills & Sons,SC,03/06/2026,10236,Credit note,03/06/2026,20.00,20.00,GBP")

    assert (book.format, book.date_order, book.errors, book.skipped_lines) == ("sage", "DMY", [], 2)
    assert [(r.debtor_ref, r.debtor_name, r.invoice_number, r.issue_date, r.balance_minor)
            for r in book.rows] == [
        ("HARB001", "Harbour Cafe Ltd", "10234", date(2026, 5, 14), 45000),
        ("MILL002", "Mills & Sons", "10235", date(2026, 6, 2), 98050)]


def test_given_a_hand_made_aged_debt_sheet_with_aliases_then_outstanding_is_what_is_owed() -> None:
    book = parse_lines("Debtors at 30 Sept", "", "Account,Customer,Invoice No,Invoice Date,Due,Outstanding",
                       "A1,Acme Ltd,77,2026-08-01,2026-08-31,99.95", default_currency="gbp")

    assert book.errors == []
    row = book.rows[0]
    assert (row.row, row.debtor_ref, row.invoice_number, row.currency) == (4, "A1", "77", "GBP")
    assert (row.total_minor, row.paid_minor, row.balance_minor) == (9995, 0, 9995)


def test_given_an_export_with_an_unknown_transaction_type_then_that_line_is_reported_not_dropped() -> None:
    book = parse_book(QUICKBOOKS_INVOICE_LIST.replace("Credit Memo", "Mystery Thing").encode(),
                      default_currency="USD")

    assert fields(book) == [(9, "transaction_type")] and len(book.rows) == 2


# --- Xero line items ----------------------------------------------------------------------

def xero_lines() -> tuple[str, list[str]]:
    text = (BOOKS / "northwind_xero.csv").read_text(encoding="utf-8-sig")
    header, *lines = text.splitlines()
    return header, lines


def test_given_xero_drafts_and_voided_invoices_then_they_are_skipped() -> None:
    header, lines = xero_lines()
    paid = lines[0]  # INV-10000, a single line
    draft = paid.replace("INV-10000", "INV-90001").replace(",Paid", ",Draft")
    voided = paid.replace("INV-10000", "INV-90002").replace(",Paid", ",Voided")

    book = parse_lines(header, paid, draft, voided)

    assert [r.invoice_number for r in book.rows] == ["INV-10000"]
    assert (book.errors, book.skipped_lines, book.total_lines) == ([], 2, 3)


def test_given_xero_line_items_that_disagree_on_the_invoice_total_then_the_invoice_is_held_back() -> None:
    header, lines = xero_lines()
    items = [x for x in lines if ",INV-10002," in x]
    assert len(items) == 2
    altered = items[1].replace(",831.01,138.50,0.00,831.01,", ",832.01,138.50,0.00,832.01,")

    book = parse_lines(header, items[0], altered)

    assert book.rows == [] and fields(book) == [(3, "amount"), (3, "amount_due")]
    assert "line 2" in book.errors[0].reason and "INV-10002" in book.rejected_invoice_numbers


# --- encodings, formulas, shapes ----------------------------------------------------------

def test_given_a_windows_1252_file_then_accents_and_pound_signs_survive() -> None:
    data = f'{GENERIC_HEADER}\r\nCafé Crème,INV-1,2026-08-01,2026-08-31,"£1,234.50",£0.00,GBP\r\n'.encode("cp1252")

    book = parse_book(data)

    assert book.errors == [] and book.rows[0].debtor_name == "Café Crème"
    assert book.rows[0].total_minor == 123450


@pytest.mark.parametrize(("column", "cell"), [
    ("reference", "=1+1"), ("contact_name", "@SUM(A1:A9)"), ("email", "+cmd|' /C calc'!A0"),
    ("reference", "\t=HYPERLINK(\"http://evil.example\")"), ("contact_name", "-2+3+A1"),
    ("reference", "\rSUM(A1)"), ("debtor_name", " =1+1"),
])
def test_given_a_formula_in_any_imported_column_then_the_row_is_rejected_and_nothing_is_stored(
        column: str, cell: str) -> None:
    values = {"debtor_name": "Acme", "contact_name": "Ann", "email": "ann@acme.example.com",
              "reference": "PO1", "invoice_number": "INV-1", "issue_date": "2026-08-01",
              "due_date": "2026-08-31", "amount": "10.00", "currency": "GBP"}
    values[column] = cell
    out = io.StringIO()
    csv.writer(out).writerows([list(values), list(values.values())])

    book = parse_book(out.getvalue())

    assert book.rows == [] and fields(book) == [(2, column)]
    assert book.errors[0].value is None


def test_given_cells_that_merely_start_with_plus_or_minus_then_they_are_not_mistaken_for_formulas() -> None:
    book = parse_lines("customer,contact,phone,invoice no,invoice date,due date,amount,currency",
                       "Acme,- Ann -,+44 20 7946 0000,INV-1,2026-08-01,2026-08-31,10.00,GBP",
                       "Bolt,Bo,020 7946 0001,INV-2,2026-08-01,2026-08-31,-5.00,GBP", default_country="GB")

    assert [r.phone for r in book.rows] == ["+442079460000"]
    assert fields(book) == [(3, "amount")] and "negative" in book.errors[0].reason


def test_given_a_row_with_several_problems_then_each_field_is_reported_once() -> None:
    book = parse_lines("customer,email,timezone,invoice no,invoice date,due date,amount,currency",
                       "Acme,nope,Mars/Olympus,INV-1,2026-02-30,,-1.00,XXQ")

    assert fields(book) == [(2, f) for f in ("email", "timezone", "issue_date", "due_date",
                                              "currency", "amount")]


def test_given_defaults_then_rows_without_currency_country_or_zone_use_them() -> None:
    lines = ("customer,phone,invoice no,invoice date,due date,amount",
             "Acme,020 7946 0000,INV-1,2026-08-01,2026-08-31,10.00")

    missing = parse_lines(*lines)
    book = parse_lines(*lines, default_currency="GBP", default_country="gb",
                       default_timezone="Europe/London")

    assert fields(missing) == [(2, "phone"), (2, "currency")]
    row = book.rows[0]
    assert (row.currency, row.country, row.timezone, row.phone) == ("GBP", "GB", "Europe/London",
                                                                    "+442079460000")


def test_given_a_country_name_and_a_consumer_kind_column_then_both_are_normalised() -> None:
    book = parse_lines("customer,customer type,country,invoice no,invoice date,due date,amount,currency",
                       "Jo Bloggs,Individual,United Kingdom,INV-1,2026-08-01,2026-08-31,10.00,GBP",
                       "Acme,robot,Narnia,INV-2,2026-08-01,2026-08-31,10.00,GBP")

    assert [(r.debtor_kind, r.country) for r in book.rows] == [("consumer", "GB")]
    assert fields(book) == [(3, "debtor_kind"), (3, "country")]


def test_given_an_unquoted_comma_or_a_truncated_line_then_the_line_is_rejected_not_misread() -> None:
    book = parse_lines(GENERIC_HEADER, "Smith, Jones & Co,INV-1,2026-08-01,2026-08-31,10.00,0,GBP",
                       "Acme,INV-2", "Good Ltd,INV-3,2026-08-01,2026-08-31,10.00,0,GBP", "", "  ", "")

    assert fields(book) == [(2, "row"), (3, "row")]
    assert [r.invoice_number for r in book.rows] == ["INV-3"] and book.total_lines == 3


def test_given_the_same_invoice_number_in_another_case_then_it_is_still_a_duplicate() -> None:
    book = parse_lines(GENERIC_HEADER, "Acme,inv-1,2026-08-01,2026-08-31,10.00,0,GBP",
                       "Bolt,INV-1,2026-08-01,2026-08-31,12.00,0,GBP")

    assert [r.debtor_name for r in book.rows] == ["Acme"] and fields(book) == [(3, "invoice_number")]


def test_given_a_blank_balance_then_the_row_is_not_assumed_unpaid() -> None:
    book = parse_lines("customer,invoice no,invoice date,due date,total,balance,currency",
                       "Acme,INV-1,2026-08-01,2026-08-31,10.00,,GBP")

    assert book.rows == [] and fields(book) == [(2, "amount_due")]


@pytest.mark.parametrize(("data", "field"), [
    (b"", "file"), (b"\r\n\r\n", "file"), (b"PK\x03\x04rest-of-a-zip", "file"),
    (b"hello,world\n1,2\n", "header"),
    (b"customer,invoice no,invoice date,amount,currency\nA,1,2026-01-01,5,GBP\n", "due_date"),
    (b"customer,invoice date,due date,amount\nA,2026-01-01,2026-02-01,5\n", "invoice_number"),
])
def test_given_a_file_that_is_not_a_debtor_book_then_the_whole_file_is_refused(data: bytes, field: str) -> None:
    with pytest.raises(BookFormatError) as exc:
        parse_book(data)

    assert exc.value.field == field and exc.value.reason == str(exc.value)


def test_given_an_unknown_default_currency_or_order_then_the_call_is_refused() -> None:
    with pytest.raises(BookFormatError) as bad_currency:
        one_invoice(default_currency="XXQ")
    with pytest.raises(BookFormatError) as bad_order:
        one_invoice(date_order="DDMM")

    assert (bad_currency.value.field, bad_order.value.field) == ("default_currency", "date_order")


def test_given_a_utf16_tab_separated_export_then_it_is_read_like_csv() -> None:
    text = GENERIC_HEADER.replace(",", "\t") + "\r\n" + "\t".join(
        ["Acme", "INV-1", "2026-08-01", "2026-08-31", "1,234.50", "0", "GBP"]) + "\r\n"

    book = parse_book(text.encode("utf-16"))

    assert book.errors == [] and book.rows[0].total_minor == 123450



def test_given_a_totals_line_then_it_is_skipped_but_a_debtor_called_total_is_not() -> None:
    book = parse_lines(GENERIC_HEADER, "Acme,INV-1,2026-08-01,2026-08-31,10.00,0,GBP",
                       "Total Gym Ltd,,2026-08-01,2026-08-31,5.00,0,GBP",
                       'Total,,,,"15.00",0,')

    assert [r.invoice_number for r in book.rows] == ["INV-1"]
    assert fields(book) == [(3, "invoice_number")] and book.skipped_lines == 1


# --- a broken file structure --------------------------------------------------------------

BROKEN_HEADER = ("debtor_ref,debtor_name,email,invoice_number,issue_date,due_date,currency,"
                 "amount,amount_paid")


def _line(n: int, name: str | None = None, amount: str = "100.00") -> str:
    return (f"D{n},{name or f'Firm {n} Ltd'},a@f{n}.example.com,INV-{n},2026-10-01,"
            f"2026-11-01,GBP,{amount},0")


def test_given_an_unclosed_quote_then_every_line_it_swallowed_is_reported_and_none_is_imported() -> None:
    """GIVEN a book whose line 3 opens a quote it never closes (line 5 has a quoted amount)
    WHEN it is parsed
    THEN line 3 is reported with the field the quote opened in, lines 4 and 5 as swallowed,
    the clean lines land, and the swallowed invoice numbers count as present in the file."""
    book = parse_lines(BROKEN_HEADER, _line(1), _line(2, name='"Two Ltd'), _line(3),
                       _line(4, amount='"1,100.00"'), _line(5))

    assert [r.invoice_number for r in book.rows] == ["INV-1", "INV-5"]
    assert fields(book) == [(3, "debtor_name"), (4, "row"), (5, "row")]
    assert "quote opened on line 3" in book.errors[0].reason and "3–5" in book.errors[0].reason
    assert "swallowed by the unclosed quote on line 3" in book.errors[1].reason
    assert {"INV-2", "INV-3", "INV-4"} <= book.rejected_invoice_numbers
    assert book.unreadable_lines == {3, 4, 5}


def test_given_an_unclosed_quote_that_runs_to_the_end_then_every_remaining_line_is_reported() -> None:
    book = parse_lines(BROKEN_HEADER, _line(1), _line(2, name='"Two Ltd'), _line(3), _line(4))

    assert [r.invoice_number for r in book.rows] == ["INV-1"]
    assert [row for row, _ in fields(book)] == [3, 4, 5]
    assert book.rejected_invoice_numbers >= {"INV-2", "INV-3", "INV-4"}


def test_given_a_quoted_address_over_two_lines_then_it_is_not_mistaken_for_a_broken_quote() -> None:
    book = parse_lines(BROKEN_HEADER + ",address", _line(1) + ',"1 High St\nLeeds"', _line(2) + ",")

    assert book.errors == [] and [r.invoice_number for r in book.rows] == ["INV-1", "INV-2"]
    assert book.unreadable_lines == set()


def test_given_rows_with_too_few_or_too_many_fields_then_they_are_unreadable_lines() -> None:
    book = parse_lines(BROKEN_HEADER, _line(1), "D2,Two Ltd,INV-2,2026-10-01", _line(3) + ",x,y")

    assert fields(book) == [(3, "row"), (4, "row")]
    assert book.unreadable_lines == {3, 4}


# --- payment history: paid dates and disputes -----------------------------------------------

HISTORY_HEADER = "customer,invoice no,invoice date,due date,amount,amount paid,currency,{paid},disputed"


@pytest.mark.parametrize("column", ["paid_date", "Paid Date", "Date Paid", "Payment Date", "Paid On",
                                    "FullyPaidOnDate", "Date Settled"])
def test_given_a_generic_book_with_a_paid_date_column_then_settled_rows_carry_their_paid_day(column: str) -> None:
    book = parse_lines(HISTORY_HEADER.format(paid=column),
                       "Acme Ltd,INV-1,2026-08-01,2026-08-31,100.00,100.00,GBP,2026-09-03,yes",
                       "Acme Ltd,INV-2,2026-08-05,2026-09-04,80.00,0,GBP,,no")

    assert book.errors == []
    paid, open_ = book.rows
    assert (paid.paid_date, paid.balance_minor, paid.disputed) == (date(2026, 9, 3), 0, True)
    assert (open_.paid_date, open_.balance_minor, open_.disputed) == (None, 8000, False)


def test_given_a_paid_date_and_no_paid_or_due_column_then_the_row_is_paid_in_full() -> None:
    book = parse_lines("customer,invoice no,invoice date,due date,amount,currency,date paid",
                       "Acme Ltd,INV-1,2026-08-01,2026-08-31,100.00,GBP,2026-08-20",
                       "Acme Ltd,INV-2,2026-08-01,2026-08-31,50.00,GBP,")

    assert book.errors == []
    assert [(r.paid_date, r.paid_minor, r.balance_minor) for r in book.rows] == [
        (date(2026, 8, 20), 10000, 0), (None, 0, 5000)]


@pytest.mark.parametrize("column", ["FullyPaidOnDate", "Paid Date"])
def test_given_a_xero_export_with_a_paid_date_then_its_line_items_collapse_to_one_paid_invoice(column: str) -> None:
    book = parse_lines(
        f"ContactName,EmailAddress,InvoiceNumber,InvoiceDate,DueDate,Total,InvoiceAmountPaid,"
        f"InvoiceAmountDue,{column},Description,LineAmount,Currency,Type,Status",
        "Zenith Media,f@zenith.example.com,INV-1,01/08/2026,30/09/2026,120.00,120.00,0.00,"
        "25/09/2026,Design,100.00,GBP,Sales invoice,Paid",
        "Zenith Media,f@zenith.example.com,INV-1,01/08/2026,30/09/2026,120.00,120.00,0.00,"
        "25/09/2026,VAT,20.00,GBP,Sales invoice,Paid",
        "Zenith Media,f@zenith.example.com,INV-2,11/10/2026,25/10/2026,13.38,0.00,13.38,,"
        "Retainer,13.38,GBP,Sales invoice,Awaiting Payment")

    assert (book.format, book.date_order, book.errors) == ("xero", "DMY", [])
    assert [(r.invoice_number, r.paid_date, r.balance_minor) for r in book.rows] == [
        ("INV-1", date(2026, 9, 25), 0), ("INV-2", None, 1338)]


def test_given_a_quickbooks_invoice_list_with_a_date_paid_column_then_paid_invoices_carry_it() -> None:
    book = parse_lines(
        "Invoice List", "", "Date,Transaction Type,Num,Name,Due Date,Amount,Open Balance,Date Paid",
        "05/14/2026,Invoice,1001,Harbour Cafe,06/13/2026,1200.00,0.00,06/20/2026",
        "06/02/2026,Invoice,1002,Mills & Sons,07/02/2026,980.50,980.50,",
        default_currency="USD")

    assert (book.format, book.date_order, book.errors) == ("quickbooks", "MDY", [])
    assert [(r.invoice_number, r.paid_date, r.balance_minor) for r in book.rows] == [
        ("1001", date(2026, 6, 20), 0), ("1002", None, 98050)]


def test_given_a_sage_export_with_a_date_paid_column_then_paid_invoices_carry_it() -> None:
    book = parse_lines(
        "A/C,Name,Type,Date,Ref,Details,Due Date,Gross,O/S,Currency,Date Paid,Disputed",
        "HARB001,Harbour Cafe Ltd,SI,14/05/2026,10234,Catering,13/06/2026,1200.00,0.00,GBP,28/06/2026,Y",
        "MILL002,Mills & Sons,SI,02/06/2026,10235,Consulting,02/07/2026,980.50,980.50,GBP,,N")

    assert (book.format, book.date_order, book.errors) == ("sage", "DMY", [])
    assert [(r.invoice_number, r.paid_date, r.balance_minor, r.disputed) for r in book.rows] == [
        ("10234", date(2026, 6, 28), 0, True), ("10235", None, 98050, False)]


def test_given_a_paid_date_that_proves_the_day_first_order_then_the_whole_file_follows_it() -> None:
    book = parse_lines(HISTORY_HEADER.format(paid="paid date"),
                       "Acme Ltd,INV-1,01/08/2026,03/08/2026,100.00,100.00,GBP,25/08/2026,")

    assert book.date_order == "DMY" and book.rows[0].issue_date == date(2026, 8, 1)


@pytest.mark.parametrize(("paid", "owed_paid", "field", "why"), [
    ("2026-07-31", "100.00", "paid_date", "is before the issue date 2026-08-01"),
    ("last week", "100.00", "paid_date", "format I recognise"),
    ("2026-09-03", "40.00", "paid_date", "is still owed"),
])
def test_given_a_bad_paid_date_then_that_row_is_an_error_naming_it_and_good_rows_land(
        paid: str, owed_paid: str, field: str, why: str) -> None:
    book = parse_lines(HISTORY_HEADER.format(paid="paid_date"),
                       f"Acme Ltd,INV-1,2026-08-01,2026-08-31,100.00,{owed_paid},GBP,{paid},",
                       "Acme Ltd,INV-2,2026-08-01,2026-08-31,100.00,100.00,GBP,2026-09-01,")

    assert fields(book) == [(2, field)] and why in book.errors[0].reason
    assert [r.invoice_number for r in book.rows] == ["INV-2"]
    assert book.rejected_invoice_numbers == {"INV-1"}  # present, so never settled outside


def test_given_a_disputed_cell_that_is_not_yes_or_no_then_the_row_says_so() -> None:
    book = parse_lines(HISTORY_HEADER.format(paid="paid_date"),
                       "Acme Ltd,INV-1,2026-08-01,2026-08-31,100.00,100.00,GBP,2026-09-01,perhaps")

    assert fields(book) == [(2, "disputed")] and "yes or no" in book.errors[0].reason


def test_the_last_import_that_saw_an_invoice_owed_is_never_before_it_reached_recoup() -> None:
    from chalicelib.book.invoice_rules import bounded, last_seen_owed, stated

    created, seen, full = date(2026, 11, 1), date(2026, 11, 10), date(2026, 11, 20)
    assert last_seen_owed(created, seen, full) == full
    assert last_seen_owed(created, seen, None) == seen
    assert last_seen_owed(created, None, date(2026, 10, 1)) == created  # a book before it existed
    s = bounded("gone_from_book", full, date(2026, 11, 30))
    assert (s.earliest, s.latest, s.paid_on) == (full, date(2026, 11, 30), None)
    assert stated("recoup", date(2026, 11, 24)).earliest == date(2026, 11, 24)
    with pytest.raises(ValueError):
        stated("somewhere", date(2026, 11, 24))
