"""Debtor-book file shapes: decoding, header aliases, format detection and cell parsers."""
from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
import unicodedata
from datetime import date
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

# --- reading ------------------------------------------------------------------------------

class BookFormatError(ValueError):
    """The whole file is unusable (empty, no header, a required column missing).

    .field names what is wrong ("file", "header", "due_date", "date_order"...).
    """

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


class AmbiguousDateOrder(BookFormatError):
    """Slash/dot dates that read both as day-first and month-first: the caller must choose."""

    def __init__(self, reason: str) -> None:
        super().__init__("date_order", reason)


def decode(data: bytes | str) -> str:
    """Text of an upload: UTF-8 (with or without BOM), UTF-16, else Windows-1252."""
    if isinstance(data, str):
        text = data
    elif data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        text = data.decode("utf-16")
    elif data.startswith(b"PK\x03\x04"):
        raise BookFormatError("file", "this is a spreadsheet workbook (.xlsx), not CSV; "
                                      "save it as CSV")
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            # Excel on Windows saves "CSV" as Windows-1252; latin-1 only catches its 5 gaps.
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError:
                text = data.decode("latin-1")
    text = text.lstrip("\ufeff")
    if "\x00" in text:
        raise BookFormatError("file", "this looks like a binary file, not CSV")
    if not text.strip():
        raise BookFormatError("file", "the file is empty")
    return text


def records(text: str, delimiter: str) -> list[tuple[int, list[str], int]]:
    """(first physical line, cells, last physical line) per CSV record; quoted newlines stay
    in one record, so a record spanning lines may be an unclosed quote swallowing rows."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    out: list[tuple[int, list[str], int]] = []
    prev = 0
    try:
        for cells in reader:
            out.append((prev + 1, cells, max(prev + 1, reader.line_num)))
            prev = reader.line_num
    except csv.Error as exc:
        raise BookFormatError("file", f"line {prev + 1} is not valid CSV: {exc}") from None
    return out


# --- headers ------------------------------------------------------------------------------

# Canonical field -> header names, normalised by norm(). Order matters twice: fields listed
# earlier claim a column first, and within a field the first alias present wins.
_BASE: dict[str, tuple[str, ...]] = {
    "debtor_ref": ("debtorref", "debtorreference", "accountref", "accountreference", "acref", "ac",
                   "accountno", "accountnumber", "accountcode", "account", "customerid",
                   "customercode", "customerno", "customernumber", "customeraccount", "clientref",
                   "clientid", "clientcode", "debtorid", "debtorcode", "debtorno"),
    "debtor_name": ("debtorname", "debtor", "customername", "customer", "customerfullname",
                    "clientname", "client", "companyname", "company", "accountname", "acname",
                    "organisationname", "organisation", "organization", "businessname", "name"),
    "contact_name": ("contactname", "contact", "contactperson", "attention", "attn"),
    "email": ("email", "emailaddress", "contactemail", "billingemail", "invoiceemail"),
    "secondary_email": ("secondaryemail", "email2", "ccemail", "altemail", "alternativeemail",
                        "alternateemail", "secondemail", "otheremail", "accountsemail"),
    "phone": ("phone", "phonenumber", "telephone", "telephonenumber", "tel", "telno", "phoneno",
              "mobile", "mobilenumber", "contactphone"),
    "timezone": ("timezone", "tz", "timezonename", "tzname"),
    "country": ("country", "countrycode", "billingcountry", "pocountry", "sacountry"),
    "debtor_kind": ("debtorkind", "debtortype", "customertype", "clienttype", "kind",
                    "customerkind", "accounttype"),
    "invoice_number": ("invoicenumber", "invoiceno", "invoicenum", "invoiceref",
                       "invoicereference", "invoiceid", "invno", "invoice", "num", "no", "number",
                       "docno", "documentno", "documentnumber", "transactionno"),
    "reference": ("reference", "ref", "yourref", "yourreference", "extrareference", "ponumber",
                  "pono", "po", "poref", "purchaseorder", "purchaseordernumber", "ordernumber",
                  "orderno", "customerpo"),
    "issue_date": ("issuedate", "invoicedate", "date", "dateissued", "txndate", "transactiondate",
                   "documentdate", "docdate", "taxpointdate"),
    "due_date": ("duedate", "due", "dueon", "datedue", "paymentdue", "paymentduedate"),
    "currency": ("currency", "currencycode", "curr", "ccy", "cur"),
    "amount": ("total", "invoicetotal", "amount", "invoiceamount", "totalamount", "gross",
               "grossamount", "amountincvat", "amountinclvat", "totalincvat", "totalinclvat",
               "originalamount", "value", "invoicevalue"),
    "amount_paid": ("amountpaid", "invoiceamountpaid", "paid", "paidamount", "paidtodate",
                    "amountreceived", "received", "payments", "totalpaid"),
    "amount_due": ("amountdue", "invoiceamountdue", "openbalance", "balance", "balancedue",
                   "outstanding", "amountoutstanding", "outstandingamount", "outstandingbalance",
                   "os", "openamount", "unpaid", "amountremaining", "remaining"),
    # When the invoice was fully paid: a settled invoice's history, never chased. Xero's API
    # (and the CSVs written from it) calls it FullyPaidOnDate; exports and hand-made sheets
    # write Paid Date / Date Paid / Payment Date. A "last payment date" is not one: it is set
    # on part-paid invoices too.
    "paid_date": ("paiddate", "datepaid", "paidon", "paidondate", "fullypaidondate",
                  "fullypaidon", "fullypaiddate", "datefullypaid", "paymentdate", "datesettled",
                  "settleddate", "settledon", "paymentreceiveddate"),
    # Yes/no only: a "Dispute" or "Dispute Status" column tends to hold reasons or states.
    "disputed": ("disputed", "indispute", "isdisputed", "disputeflag"),
    "status": ("status", "invoicestatus"),
    "transaction_type": ("transactiontype", "txntype", "documenttype", "doctype"),
}

# A bare "Type" means "kind of transaction" in accounting exports but could mean anything in a
# hand-made sheet, so it is only trusted where the format is known. Xero's AccountCode and
# QuickBooks' Account are ledger accounts (200 Sales, A/R), not customers: keying debtors by
# them would merge every customer into one, so those formats derive the reference from the name.
_OVERLAYS: dict[str, dict[str, tuple[str, ...]]] = {
    "xero": {"debtor_ref": (), "debtor_name": ("contactname",) + _BASE["debtor_name"],
             "contact_name": (), "transaction_type": ("type",) + _BASE["transaction_type"]},
    "quickbooks": {"debtor_ref": (), "transaction_type": ("transactiontype", "type")},
    # Sage's audit-trail exports call the invoice number "Ref"/"Reference".
    "sage": {"invoice_number": _BASE["invoice_number"] + ("ref", "reference"),
             "transaction_type": ("type",) + _BASE["transaction_type"]},
}

DISPLAY = {
    "invoice_number": "Invoice Number / Invoice No / Num / InvoiceNumber",
    "issue_date": "Invoice Date / Date / Issue Date",
    "due_date": "Due Date / Due",
    "debtor_name": "Customer / Name / ContactName / Account Reference",
    "amount": "Amount / Total / Gross (or Amount Due / Outstanding / Open Balance)",
}

DELIMITERS = (",", ";", "\t", "|")
HEADER_SCAN = 30  # report exports put a few title lines above the header
CORE = frozenset({"debtor_ref", "debtor_name", "invoice_number", "issue_date", "due_date",
                  "amount", "amount_due", "currency"})


_NOT_ALNUM = re.compile(r"[^0-9a-z]")


def norm(text: str) -> str:
    return _NOT_ALNUM.sub("", text.casefold())


def detect_format(names: set[str]) -> str:
    if {"contactname", "invoicenumber"} <= names and names & {
            "invoiceamountdue", "invoiceamountpaid", "poaddressline1", "lineamount"}:
        return "xero"
    if names & {"transactiontype", "openbalance"}:
        return "quickbooks"
    if names & {"ac", "acref", "accountreference", "acname", "os"}:
        return "sage"
    return "generic"


def resolve_columns(header: list[str]) -> tuple[str, dict[str, int]]:
    """Format name and canonical field -> column index for one candidate header line."""
    names = [norm(h) for h in header]
    fmt = detect_format(set(names))
    aliases = {**_BASE, **_OVERLAYS.get(fmt, {})}
    taken: set[int] = set()
    columns: dict[str, int] = {}
    for field, wanted in aliases.items():
        for alias in wanted:
            idx = next((i for i, n in enumerate(names) if n == alias and i not in taken), None)
            if idx is not None:
                columns[field] = idx
                taken.add(idx)
                break
    return fmt, columns


def find_header(text: str) -> tuple[str, str, int, dict[str, int], list[str]]:
    """(format, delimiter, header line, field -> column, header cells) of the best header."""
    best: tuple[int, str, int, str, dict[str, int], list[str]] | None = None
    for delim in DELIMITERS:
        head = itertools.islice(io.StringIO(text, newline=""), HEADER_SCAN)
        reader, line = csv.reader(head, delimiter=delim), 1
        try:
            for cells in reader:
                fmt, cols = resolve_columns(cells)
                score = len(CORE & cols.keys())
                if score >= 3:
                    if best is None or score > best[0]:
                        best = (score, delim, line, fmt, cols, cells)
                    break
                line = reader.line_num + 1
        except csv.Error:
            continue  # the scan window can cut a quoted cell in half; other delimiters may do
    if best is None:
        raise BookFormatError("header", "no recognisable header row: expected columns such as "
                              "Customer, Invoice Number, Invoice Date, Due Date and Amount")
    _, delim, line, fmt, cols, cells = best
    found = ", ".join(c.strip() for c in cells if c.strip())
    for name, present in (("debtor_name", {"debtor_ref", "debtor_name"} & cols.keys()),
                          ("invoice_number", "invoice_number" in cols),
                          ("issue_date", "issue_date" in cols), ("due_date", "due_date" in cols),
                          ("amount", {"amount", "amount_due"} & cols.keys())):
        if not present:
            raise BookFormatError(name, f"no {name.replace('_', ' ')} column: expected a header "
                                        f"like {DISPLAY[name]}; found {found}")
    return fmt, delim, line, cols, cells


# --- transaction filters ------------------------------------------------------------------

SKIP_STATUSES = frozenset({"draft", "deleted", "voided", "void"})
INVOICE_TYPES = frozenset({"invoice", "salesinvoice", "taxinvoice", "si", "inv", "accrec"})
OTHER_TYPES = frozenset({
    "payment", "receivepayment", "creditmemo", "creditnote", "salescreditnote", "accreccredit",
    "salesreceipt", "refund", "refundreceipt", "journalentry", "journal", "estimate", "deposit",
    "statementcharge", "receipt", "discount", "sc", "sr", "sa", "sd", "ja", "jd"})

# --- formulas -----------------------------------------------------------------------------

# Function calls, A1-style references, DDE pipes and sheet references: what turns a leading
# + - @ into something a spreadsheet would execute, as opposed to a phone or a negative number.
_FORMULA_BODY = re.compile(r"[A-Za-z_][\w.]*\(|\||(?<![A-Za-z0-9])\$?[A-Za-z]{1,3}\$?\d+(?!\w)")


def looks_like_formula(raw: str) -> bool:
    if not raw:
        return False
    if raw[0] == "=":
        return len(raw.strip()) > 1
    if raw[0] in "+-@":
        return bool(_FORMULA_BODY.search(raw[1:])) or looks_like_formula(raw[1:].lstrip())
    if raw[0] in "\t\r":
        body = raw.lstrip("\t\r")
        return looks_like_formula(body) or bool(_FORMULA_BODY.match(body))
    return False


# --- numbers ------------------------------------------------------------------------------

# Symbols that name one currency; a bare "$" or "¥" names several, so it is never checked.
CURRENCY_SYMBOLS = {"£": "GBP", "€": "EUR", "₹": "INR", "US$": "USD", "A$": "AUD",
                    "AU$": "AUD", "C$": "CAD", "CA$": "CAD", "NZ$": "NZD", "HK$": "HKD",
                    "S$": "SGD", "R$": "BRL"}
_NUMBER = re.compile(r"([-+])?([A-Za-z]{0,3}[£$€¥₹]|[A-Za-z]{3})?([-+])?([\d.,]+)"
                     r"([£$€¥₹]|[A-Za-z]{3})?([-+])?")


def _split_number(text: str) -> tuple[bool, str, str | None]:
    s = re.sub(r"[\s\u00a0\u202f\u2009'’]", "", text).replace("\u2212", "-")
    parens = s.startswith("(") and s.endswith(")")
    if parens:
        s = s[1:-1]
    m = _NUMBER.fullmatch(s)
    signs = [g for g in (m[1], m[3], m[6]) if g] if m else []
    if not m or not re.search(r"\d", m[4]) or len(signs) > 1 or (signs and parens):
        raise ValueError("is not a number")
    raw_marker = m[2] or m[5]
    marker = None
    if raw_marker and raw_marker[-1] in "£$€¥₹":
        if raw_marker not in CURRENCY_SYMBOLS and len(raw_marker) > 1:
            raise ValueError("is not a number")
        marker = CURRENCY_SYMBOLS.get(raw_marker)
    elif raw_marker:
        marker = raw_marker.upper()
    return parens or signs == ["-"], m[4], marker


def _evidence(n: str) -> str | None:
    """Which decimal separator this number proves: "dot", "comma" or None (can't tell)."""
    if "." in n and "," in n:
        return "dot" if n.rfind(".") > n.rfind(",") else "comma"
    for sep, own, other in ((".", "dot", "comma"), (",", "comma", "dot")):
        if sep not in n:
            continue
        if n.count(sep) > 1:
            return other
        head, tail = n.split(sep)
        # "1.234" / "1,234" are the only shapes that read both ways.
        if len(tail) != 3 or head in ("", "0") or len(head) > 3:
            return own
        return None
    return None


def number_convention(values: list[str]) -> str | None:
    """"dot", "comma", "mixed" or None (nothing proves either) for one column's values."""
    seen: set[str] = set()
    for v in values:
        try:
            ev = _evidence(_split_number(v)[1])
        except ValueError:
            continue
        if ev:
            seen.add(ev)
    return "mixed" if len(seen) > 1 else (seen.pop() if seen else None)


def parse_number(text: str, convention: str | None) -> tuple[str, str | None]:
    """Plain signed decimal ("-1234.50") and any currency marker found beside the digits."""
    negative, n, marker = _split_number(text)
    ev = _evidence(n)
    if ev is None and ("." in n or "," in n):
        if convention in ("dot", "comma"):
            ev = convention
        elif "," in n and convention is None:
            ev = "dot"  # "1,234" can't be a two-decimal amount, so it is a thousands separator
        else:
            raise ValueError("could be read with the separator as thousands or as decimals; "
                             "write it with an explicit decimal part")
    dec, thou = (".", ",") if ev in (None, "dot") else (",", ".")
    whole, _, frac = n.partition(dec)
    if dec in frac or thou in frac or not (whole + frac):
        raise ValueError("is not a number")
    if thou in whole:
        if not re.fullmatch(r"\d{1,3}(?:" + re.escape(thou) + r"\d{3})+", whole):
            raise ValueError("has misplaced thousands separators")
        whole = whole.replace(thou, "")
    plain = (whole or "0") + (f".{frac}" if frac else "")
    return ("-" if negative else "") + plain, marker


# --- dates --------------------------------------------------------------------------------

_FULL_MONTHS = ("january", "february", "march", "april", "may", "june", "july", "august",
                "september", "october", "november", "december")
_TIME = re.compile(r"[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:[AaPp][Mm])?"
                   r"\s*(?:Z|[+-]\d{2}:?\d{2})?$")
_YMD = re.compile(r"(\d{4})([-/.])(\d{1,2})\2(\d{1,2})")
_COMPACT = re.compile(r"(\d{4})(\d{2})(\d{2})")
_NUMERIC = re.compile(r"(\d{1,2})([-/.])(\d{1,2})\2(\d{2}|\d{4})")
_D_MON_Y = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?[-/. ]+([A-Za-z]{3,9})\.?,?[-/. ]+(\d{2}|\d{4})")
_MON_D_Y = re.compile(r"([A-Za-z]{3,9})\.?[-/. ]+(\d{1,2})(?:st|nd|rd|th)?,?[-/. ]+(\d{2}|\d{4})")
UNRECOGNISED_DATE = ("is not a date in a format I recognise "
                     "(e.g. 2026-08-01, 01/08/2026, 1 Aug 2026)")


def _clean_date(text: str) -> str:
    return _TIME.sub("", " ".join(text.split()))


def _year(text: str) -> int:
    y = int(text)
    # Same pivot as strptime's %y, so "26" is 2026 and "99" is 1999.
    return y if len(text) == 4 else (2000 + y if y < 69 else 1900 + y)


def _month(text: str) -> int:
    t = text.casefold()
    for i, full in enumerate(_FULL_MONTHS, 1):
        if len(t) >= 3 and full.startswith(t):
            return i
    raise ValueError(UNRECOGNISED_DATE)


def day_month_parts(text: str) -> tuple[int, int] | None:
    """The two leading numbers of a dd/mm/yyyy-or-mm/dd/yyyy date, else None."""
    m = _NUMERIC.fullmatch(_clean_date(text))
    return (int(m[1]), int(m[3])) if m else None


def parse_date(text: str, order: str) -> date:
    """A date from any recognised shape; order ("DMY"/"MDY"/"YMD") settles dd/mm vs mm/dd."""
    s = _clean_date(text)
    if m := _YMD.fullmatch(s):
        y, mo, d = int(m[1]), int(m[3]), int(m[4])
    elif m := _COMPACT.fullmatch(s):
        y, mo, d = int(m[1]), int(m[2]), int(m[3])
    elif m := _NUMERIC.fullmatch(s):
        a, b, y = int(m[1]), int(m[3]), _year(m[4])
        if a > 12 and b > 12:
            raise ValueError("is not a real date")
        if order == "DMY" or (order == "YMD" and a == b):
            d, mo = a, b
        elif order == "MDY":
            mo, d = a, b
        else:
            raise ValueError("is day/month/year but date_order=YMD was given")
    elif m := _D_MON_Y.fullmatch(s):
        d, mo, y = int(m[1]), _month(m[2]), _year(m[3])
    elif m := _MON_D_Y.fullmatch(s):
        mo, d, y = _month(m[1]), int(m[2]), _year(m[3])
    else:
        raise ValueError(UNRECOGNISED_DATE)
    try:
        return date(y, mo, d)
    except ValueError:
        raise ValueError("is not a real date") from None


# --- contact details ----------------------------------------------------------------------

_LOCAL = re.compile(r"[\w!#$%&'*+/=?^`{|}~-]+(?:\.[\w!#$%&'*+/=?^`{|}~-]+)*")
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")


@lru_cache(maxsize=8192)  # a book repeats each debtor's address on every invoice row
def parse_email(text: str) -> str:
    local, at, domain = text.strip().rpartition("@")
    domain = domain.rstrip(".").lower()
    try:
        labels = domain.encode("idna").decode("ascii").split(".") if domain else []
    except UnicodeError:
        labels = []
    if (not at or len(local) > 64 or not _LOCAL.fullmatch(local) or len(labels) < 2
            or not all(_LABEL.fullmatch(x) for x in labels) or labels[-1].isdigit()):
        raise ValueError("is not an email address")
    return f"{local}@{domain}"


@lru_cache(maxsize=8192)  # and its phone number (phonenumbers: ~0.2 ms a parse)
def parse_phone(text: str, region: str | None) -> str:
    import phonenumbers  # loaded by the first phone number read, not by every import

    try:
        num = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        if region is None and not text.strip().startswith(("+", "00")):
            raise ValueError("has no +country code and the row has no country") from None
        raise ValueError("is not a phone number") from None
    if not phonenumbers.is_valid_number(num):
        raise ValueError("is not a valid phone number" + (f" for {region}" if region else ""))
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


@lru_cache(maxsize=1)
def _zones() -> dict[str, str]:
    return {z.casefold(): z for z in available_timezones()}


def parse_timezone(text: str) -> str:
    name = text.strip()
    try:
        ZoneInfo(name)
        return name
    except (ZoneInfoNotFoundError, ValueError):
        pass
    if name.casefold() in _zones():
        return _zones()[name.casefold()]
    raise ValueError("is not an IANA time zone (e.g. Europe/London)")


# English names and 3-letter codes an agency meets in free-text country columns (Xero's
# POCountry is typed by hand). The lite phonenumbers build ships no name data to derive these.
_COUNTRY_NAMES = {
    "GB": "uk unitedkingdom greatbritain britain england scotland wales northernireland gbr",
    "IE": "ireland republicofireland eire irl", "US": "usa unitedstates unitedstatesofamerica",
    "CA": "canada can", "AU": "australia aus", "NZ": "newzealand nzl", "DE": "germany deu",
    "FR": "france fra", "ES": "spain esp", "IT": "italy ita", "NL": "netherlands holland nld",
    "BE": "belgium bel", "LU": "luxembourg lux", "PT": "portugal prt", "AT": "austria aut",
    "CH": "switzerland che", "DK": "denmark dnk", "SE": "sweden swe", "NO": "norway nor",
    "FI": "finland fin", "PL": "poland pol", "CZ": "czechia czechrepublic cze",
    "IS": "iceland isl", "GR": "greece grc", "CY": "cyprus cyp", "MT": "malta mlt",
    "IM": "isleofman imn", "JE": "jersey jey", "GG": "guernsey ggy", "GI": "gibraltar gib",
    "ZA": "southafrica zaf", "IN": "india ind", "SG": "singapore sgp", "HK": "hongkong hkg",
    "AE": "unitedarabemirates uae are", "JP": "japan jpn", "CN": "china chn", "MX": "mexico mex",
    "BR": "brazil bra"}


@lru_cache(maxsize=1)
def _countries() -> dict[str, str]:
    import phonenumbers

    table = {code.casefold(): code for code in phonenumbers.SUPPORTED_REGIONS}
    table["uk"] = "GB"  # not ISO, but what British exports write
    for code, names in _COUNTRY_NAMES.items():
        table.update(dict.fromkeys(names.split(), code))
    return table


def parse_country(text: str) -> str:
    s = text.strip()
    code = _countries().get(s.casefold() if len(s) == 2 else norm(s))
    if not code:
        raise ValueError("is not an ISO 3166 country code or a country name I recognise")
    return code


_BUSINESS = frozenset({"business", "company", "b2b", "commercial", "trade", "corporate", "org",
                       "organisation", "organization", "limitedcompany", "ltd", "soletrader"})
_CONSUMER = frozenset({"consumer", "individual", "person", "personal", "private", "b2c",
                       "domestic"})


def parse_kind(text: str) -> str:
    key = norm(text)
    if key in _BUSINESS:
        return "business"
    if key in _CONSUMER:
        return "consumer"
    raise ValueError("is not 'business' or 'consumer'")


# A "Disputed" column: yes/no as spreadsheets and accounting exports write it.
_YES = frozenset({"yes", "y", "true", "t", "1", "disputed", "x"})
_NO = frozenset({"no", "n", "false", "f", "0", "none", "notdisputed"})


def parse_yes_no(text: str) -> bool:
    key = norm(text)
    if key in _YES:
        return True
    if key in _NO:
        return False
    raise ValueError("is not yes or no (write yes, no, or leave it blank)")


def derive_ref(name: str) -> str:
    """A stable account reference from a name: NFC, upper-case, runs of non-alnum -> '-'."""
    upper = unicodedata.normalize("NFC", name).upper()
    return re.sub(r"-+", "-", "".join(c if c.isalnum() else "-" for c in upper)).strip("-")
