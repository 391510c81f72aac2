"""Debtor-book import: an uploaded ledger export becomes normalised invoices plus row errors."""
from __future__ import annotations

import csv
import functools
import io
import re
from dataclasses import dataclass, field
from datetime import date

from chalicelib.book import formats as bf
from chalicelib.book.formats import AmbiguousDateOrder, BookFormatError
from chalicelib.kernel.money import MoneyError, format_money, is_currency, parse_major

__all__ = ["AmbiguousDateOrder", "BookFormatError", "BookRow", "ParsedBook", "RowError",
           "parse_book"]


@dataclass(frozen=True)
class BookRow:
    row: int
    debtor_ref: str
    debtor_name: str
    debtor_kind: str
    contact_name: str | None
    email: str | None
    secondary_email: str | None
    phone: str | None
    timezone: str | None
    country: str | None
    invoice_number: str
    reference: str | None
    issue_date: date
    due_date: date
    currency: str
    total_minor: int
    paid_minor: int
    paid_date: date | None = None  # the day it was fully paid (only on a settled row)
    disputed: bool | None = None  # the book's Disputed column; None when blank or absent

    @property
    def balance_minor(self) -> int:
        return self.total_minor - self.paid_minor


@dataclass(frozen=True)
class RowError:
    row: int
    field: str
    reason: str
    value: str | None = None


@dataclass
class ParsedBook:
    format: str
    date_order: str
    rows: list[BookRow]
    errors: list[RowError]
    total_lines: int
    skipped_lines: int = 0  # drafts, voided, payments/credit notes, report total lines
    # Invoices present in the file but rejected: a full-book import must not read their
    # absence from `rows` as "no longer owed".
    rejected_invoice_numbers: set[str] = field(default_factory=set)
    # Lines whose structure is broken (an unbalanced quote, too few or too many fields): what
    # they hold is unknown, so a full-book import must not conclude anything is missing.
    unreadable_lines: set[int] = field(default_factory=set)


_AMOUNTS = ("amount", "amount_paid", "amount_due")
_FILTERS = ("status", "transaction_type")
_LABELS = {"debtor_ref": "debtor reference", "amount_due": "amount due", "row": "line"}


def _label(name: str) -> str:
    return _LABELS.get(name, name.replace("_", " "))


def _show(value: str) -> str:
    if bf.looks_like_formula(value):
        return "(a formula)"  # never echoed: error reports get opened in spreadsheets too
    return value if re.fullmatch(r"\S+", value) else repr(value)


def _safe(value: str) -> str | None:
    return None if bf.looks_like_formula(value) else value


@functools.lru_cache(maxsize=16)
def _normed(header: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(bf.norm(h) for h in header)


def _screen(line: int, cells: list[str], cols: dict[str, int], header: list[str],
            fmt: str) -> str | RowError:
    """'keep', 'skip', or the RowError that rejects the whole line."""
    def cell(name: str) -> str:
        i = cols.get(name)
        return cells[i].strip() if i is not None and i < len(cells) else ""

    filled = [c.strip() for c in cells if c.strip()]
    if len(cells) == len(header) and all(
            bf.norm(c) == h for c, h in zip(cells, _normed(tuple(header)))):
        return "skip"  # concatenated exports repeat the header
    if (bf.norm(filled[0]).startswith(("total", "grandtotal")) and not cell("invoice_number")
            and cell("issue_date") in ("", filled[0])):
        return "skip"  # report subtotal lines never carry a date; "Total Gym Ltd" rows do
    if fmt == "quickbooks" and not cell("invoice_number") and len(filled) < 3:
        return "skip"  # QuickBooks group headings ("Acme Ltd", "1 - 30 days") and footer
    if len(cells) < max(cols.values()) + 1:
        return RowError(line, "row", f"line has {len(cells)} columns but the header has "
                        f"{len(header)}; a separator or closing quote is probably missing")
    if any(c.strip() for c in cells[len(header):]):
        return RowError(line, "row", f"line has {len(cells)} columns but the header has "
                        f"{len(header)}; a value probably contains an unquoted separator")
    if bf.norm(cell("status")) in bf.SKIP_STATUSES:
        return "skip"
    kind = bf.norm(cell("transaction_type"))
    if kind and kind not in bf.INVOICE_TYPES:
        if kind in bf.OTHER_TYPES:
            return "skip"
        shown = cell("transaction_type")
        return RowError(line, "transaction_type", f"transaction type {_show(shown)} is not an "
                        "invoice type I recognise", _safe(shown))
    return "keep"


def _swallowed(line: int, end: int, cells: list[str], cols: dict[str, int], header: list[str],
               delim: str) -> list[RowError]:
    """Errors for a record that an unclosed quote ran over several lines, else [].

    A quoted value may legitimately hold a line break (an address), but its lines do not
    look like rows of the file, and the record still has the header's number of fields."""
    if end <= line:
        return []
    named = {i: name for name, i in cols.items()}
    row_like = max(2, (len(header) - 1) // 2)
    misfit = len(cells) < max(cols.values()) + 1 or any(c.strip() for c in cells[len(header):])
    culprit = None
    for i, cell in enumerate(cells):
        if "\n" not in cell and "\r" not in cell:
            continue
        if misfit or any(
                part.count(delim) >= row_like for part in cell.splitlines()[1:]):
            culprit = named.get(i, "row")
            break
    if culprit is None:
        return []
    out = [RowError(line, culprit, f"a quote opened on line {line} is not closed on that line, "
                    f"so lines {line}–{end} were read as one {_label(culprit)} value; close the "
                    "quote (a quote inside a value is written twice) and import again")]
    out += [RowError(n, "row", f"line {n} was swallowed by the unclosed quote on line {line} "
                     "and was not read") for n in range(line + 1, end + 1)]
    return out


_Kept = tuple[int, dict[str, str], bool]  # line, raw cells by field, blocked by a conflict


def _merge_line_items(kept: list[_Kept], errors: list[RowError]) -> list[_Kept]:
    """One entry per invoice: Xero repeats the invoice-level columns on every line item."""
    groups: dict[str, list[_Kept]] = {}
    order: list[str | _Kept] = []
    for item in kept:
        key = item[1].get("invoice_number", "").strip().casefold()
        if not key:
            order.append(item)
        elif key in groups:
            groups[key].append(item)
        else:
            groups[key] = [item]
            order.append(key)
    out: list[_Kept] = []
    for entry in order:
        if not isinstance(entry, str):
            out.append(entry)
            continue
        (first_line, first, _), *rest = groups[entry]
        blocked = False
        for line, raw, _ in rest:
            for name, value in raw.items():
                if value.strip() != first.get(name, "").strip():
                    blocked = True
                    errors.append(RowError(
                        line, name, f"{_label(name)} {_show(value.strip())} differs from "
                        f"{_show(first.get(name, '').strip())} on line {first_line} of the same "
                        f"invoice {first['invoice_number'].strip()}", _safe(value.strip())))
        out.append((first_line, first, blocked))
    return out


def _samples(values: list[str]) -> str:
    return ", ".join(repr(v) for v in list(dict.fromkeys(values))[:3])


def _date_order(kept: list[_Kept], given: str | None) -> str:
    if given:
        return given
    dmy: list[str] = []
    mdy: list[str] = []
    unsure: list[str] = []
    for _, raw, _ in kept:
        for name in ("issue_date", "due_date", "paid_date"):
            parts = bf.day_month_parts(raw.get(name, ""))
            if parts:
                a, b = parts
                bucket = dmy if a > 12 >= b else mdy if b > 12 >= a else unsure if a != b else None
                if bucket is not None and max(a, b) <= 31:
                    bucket.append(raw[name].strip())
    hint = "pass date_order='DMY' (day first, UK) or date_order='MDY' (month first, US)"
    if dmy and mdy:
        raise AmbiguousDateOrder(f"the dates disagree: {_samples(dmy)} can only be day-first but "
                                 f"{_samples(mdy)} can only be month-first; {hint}")
    if dmy or mdy:
        return "DMY" if dmy else "MDY"
    if unsure:
        raise AmbiguousDateOrder(f"cannot tell whether dates such as {_samples(unsure)} are "
                                 f"day-first or month-first; {hint}")
    return "YMD"


@dataclass
class _Context:
    order: str
    conventions: dict[str, str | None]
    currency: str | None
    country: str | None
    timezone: str | None
    seen: dict[str, int] = field(default_factory=dict)


def _build(line: int, raw: dict[str, str], ctx: _Context) -> tuple[BookRow | None, list[RowError]]:
    errs: list[RowError] = []
    val: dict[str, str] = {}
    for name, cell in raw.items():
        if bf.looks_like_formula(cell) or bf.looks_like_formula(cell.strip()):
            errs.append(RowError(line, name, f"{_label(name)} looks like a spreadsheet formula; "
                                             "formulas are never imported"))
        elif cell.strip():
            val[name] = cell.strip()
    flagged = {e.field for e in errs}

    def fail(name: str, why: str) -> None:
        shown = f" {_show(val[name])}" if name in val else ""
        errs.append(RowError(line, name, f"{_label(name)}{shown} {why}", val.get(name)))

    def check(name: str, parse, *args):  # type: ignore[no-untyped-def]
        if name not in val:
            return None
        try:
            return parse(val[name], *args)
        except ValueError as exc:
            fail(name, str(exc))
            return None

    def required(name: str) -> None:
        if name not in val and name not in flagged:
            fail(name, "is missing")

    name, ref = val.get("debtor_name"), val.get("debtor_ref")
    if not (name or ref or flagged & {"debtor_name", "debtor_ref"}):
        errs.append(RowError(line, "debtor_name", "debtor has neither a reference nor a name"))
    ref = ref or (bf.derive_ref(name) if name else None)
    if name and not ref:
        fail("debtor_name", "has no letters or digits to make an account reference from")
    kind = check("debtor_kind", bf.parse_kind) or "business"
    country = check("country", bf.parse_country) or ctx.country
    email = check("email", bf.parse_email)
    secondary = check("secondary_email", bf.parse_email)
    phone = check("phone", bf.parse_phone, country)
    tz = check("timezone", bf.parse_timezone) or ctx.timezone

    number = val.get("invoice_number")
    required("invoice_number")
    if number:
        if number.casefold() in ctx.seen:
            fail("invoice_number", f"already appears on line {ctx.seen[number.casefold()]}")
        else:
            ctx.seen[number.casefold()] = line

    issue = check("issue_date", bf.parse_date, ctx.order)
    due = check("due_date", bf.parse_date, ctx.order)
    required("issue_date")
    required("due_date")
    if issue and due and due < issue:
        fail("due_date", f"is before the issue date {issue.isoformat()}")
    paid_date = check("paid_date", bf.parse_date, ctx.order)
    if issue and paid_date and paid_date < issue:
        fail("paid_date", f"is before the issue date {issue.isoformat()}")
        paid_date = None
    disputed = check("disputed", bf.parse_yes_no)

    currency: str | None = None
    if "currency" in val:
        code = bf.CURRENCY_SYMBOLS.get(val["currency"], val["currency"].upper())
        if is_currency(code):
            currency = code
        else:
            fail("currency", "is not a currency I know (use an ISO 4217 code such as GBP)")
    elif "currency" not in flagged:
        currency = ctx.currency
        if currency is None:
            errs.append(RowError(line, "currency",
                                 "currency is missing and no default currency was given"))

    def money(name: str) -> int | None:
        if name not in val:
            return None
        try:
            plain, marker = bf.parse_number(val[name], ctx.conventions.get(name))
        except ValueError as exc:
            fail(name, str(exc))
            return None
        if plain.startswith("-") and plain.strip("-0."):
            fail(name, "is negative")
            return None
        if marker and currency and marker != currency:
            fail(name, f"is in {marker} but the invoice currency is {currency}")
            return None
        if currency is None:
            return None  # can't size it without a currency; that error is already reported
        try:
            return parse_major(plain.lstrip("-"), currency)
        except MoneyError:
            fail(name, f"has more decimal places than {currency} allows")
            return None

    total, paid, owed = money("amount"), money("amount_paid"), money("amount_due")
    paid_minor = 0
    if "amount" not in raw:
        # Aged-debt reports give only what is still owed (and sometimes what was paid).
        required("amount_due")
        if owed is not None:
            total, paid_minor = owed + (paid or 0), paid or 0
    else:
        required("amount")
        if owed is not None and total is not None:
            if owed > total:
                fail("amount_due", f"is more than the amount {val['amount']}")
            paid_minor = total - owed
        elif paid is not None and total is not None:
            if paid > total:
                fail("amount_paid", f"is more than the amount {val['amount']} (overpaid)")
            paid_minor = paid
        elif paid_date is not None and total is not None:
            paid_minor = total  # a paid date with no paid or due amount: paid in full
        elif "amount_due" in raw and "amount_due" not in val and "amount_paid" not in val:
            # A blank balance could mean paid or unpaid; chasing a paid invoice is worse.
            fail("amount_due", "is blank; write 0 if the invoice is fully paid")
    if paid_date is not None and total is not None and currency and total - paid_minor > 0 \
            and not any(e.field in _AMOUNTS for e in errs):
        fail("paid_date", f"says the invoice was paid but {format_money(total - paid_minor, currency)}"
                          " is still owed; clear the paid date or the balance")

    if errs or total is None or issue is None or due is None or currency is None or not number:
        return None, errs
    return BookRow(
        row=line, debtor_ref=ref or "", debtor_name=name or ref or "", debtor_kind=kind,
        contact_name=val.get("contact_name"), email=email, secondary_email=secondary,
        phone=phone, timezone=tz, country=country, invoice_number=number,
        reference=val.get("reference"), issue_date=issue, due_date=due, currency=currency,
        total_minor=total, paid_minor=paid_minor, paid_date=paid_date, disputed=disputed), []


def _defaults(date_order: str | None, currency: str | None, country: str | None,
              timezone: str | None) -> tuple[str | None, str | None, str | None, str | None]:
    order = date_order.upper() if date_order else None
    if order and order not in ("YMD", "DMY", "MDY"):
        raise BookFormatError("date_order",
                              f"date_order must be YMD, DMY or MDY, not {date_order!r}")
    if currency and not is_currency(currency):
        raise BookFormatError("default_currency",
                              f"default currency {currency!r} is not a currency I know")
    for name, value, parse in (("default_country", country, bf.parse_country),
                               ("default_timezone", timezone, bf.parse_timezone)):
        if value:
            try:
                parse(value)
            except ValueError as exc:
                raise BookFormatError(name, f"{_label(name)} {_show(value)} {exc}") from None
    country = bf.parse_country(country) if country else None
    timezone = bf.parse_timezone(timezone) if timezone else None
    return order, currency.upper() if currency else None, country, timezone


def parse_book(data: bytes | str, *, date_order: str | None = None,
               default_currency: str | None = None, default_country: str | None = None,
               default_timezone: str | None = None) -> ParsedBook:
    """Parse a debtor-book export; whole-file problems raise BookFormatError."""
    order, currency, country, timezone = _defaults(
        date_order, default_currency, default_country, default_timezone)
    text = bf.decode(data)
    fmt, delim, header_line, cols, header = bf.find_header(text)
    records = bf.records(text, delim)
    start = next(i for i, (line, _, _) in enumerate(records) if line == header_line)
    physical = io.StringIO(text, newline="").readlines()  # line n is physical[n - 1]

    errors: list[RowError] = []
    kept: list[_Kept] = []
    rejected: set[str] = set()
    total_lines = skipped = 0
    unreadable: set[int] = set()
    footer = False
    for line, cells, end in records[start + 1:]:
        if not any(c.strip() for c in cells):
            continue
        total_lines += 1
        swallowed = _swallowed(line, end, cells, cols, header, delim)
        if swallowed:
            # An unbalanced quote: every line it ate is reported, none is imported, and the
            # invoice numbers we can still see on them count as present (never settled).
            total_lines += end - line
            errors.extend(swallowed)
            unreadable.update(range(line, end + 1))
            for n in range(line, end + 1):
                text_n = physical[n - 1].rstrip("\r\n")
                at = cols["invoice_number"]
                for alone in (next(csv.reader([text_n], delimiter=delim), []),
                              text_n.split(delim)):
                    rejected.add(alone[at].strip().strip('"') if at < len(alone) else "")
            continue
        verdict = "skip" if footer else _screen(line, cells, cols, header, fmt)
        # QuickBooks prints the basis and a timestamp under the grand TOTAL line.
        first = next(c for c in cells if c.strip())
        footer = footer or (fmt == "quickbooks" and bf.norm(first) == "total")
        if isinstance(verdict, RowError):
            errors.append(verdict)
            if verdict.field == "row":  # too few or too many fields: cells may be shifted
                unreadable.add(line)
            at = cols["invoice_number"]
            rejected.add(cells[at].strip() if at < len(cells) else "")
        elif verdict == "skip":
            skipped += 1
        else:
            kept.append((line, {k: cells[i] for k, i in cols.items() if k not in _FILTERS}, False))

    if fmt == "xero":
        kept = _merge_line_items(kept, errors)
    conventions: dict[str, str | None] = {}
    everything = bf.number_convention([r[n] for _, r, _ in kept for n in _AMOUNTS if n in r])
    for name in _AMOUNTS:
        own = bf.number_convention([r[name] for _, r, _ in kept if name in r])
        conventions[name] = own or (everything if everything != "mixed" else None)
    ctx = _Context(_date_order(kept, order), conventions, currency, country, timezone)

    rows: list[BookRow] = []
    for line, raw, blocked in kept:
        row, row_errors = _build(line, raw, ctx)
        errors.extend(row_errors)
        if row is not None and not blocked:
            rows.append(row)
        else:
            rejected.add(raw["invoice_number"].strip())
    errors.sort(key=lambda e: e.row)
    rejected = {n for n in rejected if n and not bf.looks_like_formula(n)}
    rejected -= {r.invoice_number for r in rows}
    return ParsedBook(fmt, ctx.order, rows, errors, total_lines, skipped, rejected, unreadable)
