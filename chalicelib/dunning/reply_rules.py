"""What did the debtor say back? Explainable rules over a reply's subject and text.

Each class is a list of phrase patterns (English, German, French, Spanish, Dutch); the
result names the class, the phrases that matched (the reasons) and what was found: the
promised date and amount, the out-of-office return date. Precedence when several classes
match: unsubscribe > out_of_office > already_paid > dispute_or_query > promise_to_pay >
other (an auto-reply mentioning payment is still an auto-reply; "paid but the amount is
wrong" is still paid, the specialist reads it)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

from chalicelib.dunning.opt_out import means_stop

CLASSES = ("already_paid", "promise_to_pay", "dispute_or_query", "out_of_office",
           "unsubscribe", "other")

_RULES: dict[str, list[str]] = {
    "out_of_office": [
        r"out of (the )?office", r"\booo\b", r"auto(matic)?[- ]?reply", r"on (annual )?leave",
        r"on holiday|on vacation", r"away from (the|my) (office|desk)",
        r"limited access to (my )?e-?mail", r"return(ing)? (to the office )?on",
        r"abwesenheit", r"nicht im (büro|buero|hause)", r"urlaub", r"bin ab .{0,30}wieder",
        r"automatische antwort",
        r"absent(e)? du bureau", r"absence du bureau", r"en cong[ée]s?", r"r[ée]ponse automatique",
        r"de retour le", r"fuera de la oficina", r"de vacaciones", r"respuesta autom[áa]tica",
        r"estar[ée] de vuelta", r"regreso el", r"afwezig", r"buiten kantoor",
        r"automatisch antwoord", r"met vakantie", r"weer aanwezig", r"ben terug op",
    ],
    "already_paid": [
        r"\b(already|just|have|has|we've|i've|was|were) (been )?(paid|settled|transferred)",
        r"payment (was |has been )?(made|sent|processed|transferred)", r"remittance",
        r"proof of payment", r"paid (it |this |the invoice |in full |on|yesterday|last)",
        r"bank transfer (was )?(made|sent|done)", r"\bpaid\b.{0,20}\b(today|yesterday)",
        r"bereits (bezahlt|überwiesen|ueberwiesen|beglichen)", r"schon (bezahlt|überwiesen)",
        r"zahlungsavis", r"(wurde|haben|habe) .{0,30}(überwiesen|bezahlt|beglichen)",
        r"d[ée]j[àa] (pay[ée]|r[ée]gl[ée]|vir[ée])", r"avis de (virement|paiement)",
        r"(avons|ai) (pay[ée]|r[ée]gl[ée]|effectu[ée] le virement)", r"virement (a été )?effectu",
        r"ya (lo )?(hemos |he )?(pagado|abonado|transferido)", r"justificante de (pago|transferencia)",
        r"(hemos|he) (realizado|hecho) (el|la) (pago|transferencia)",
        r"al (betaald|overgemaakt|voldaan)", r"(is|zijn|hebben|heb) .{0,25}(betaald|overgemaakt|voldaan)",
        r"betalingsbewijs",
    ],
    "dispute_or_query": [
        r"\bdispute", r"\bdisagree", r"\bincorrect\b", r"\bwrong\b", r"not (ordered|received|delivered)",
        r"never (ordered|received)", r"(credit note|refund)", r"\bdamaged\b", r"\bquery\b",
        r"can you (send|explain|clarify)", r"please (send|explain|clarify).{0,30}(copy|invoice|breakdown)",
        r"copy of (the )?invoice", r"what is this (for|invoice)", r"\bdon'?t recognise",
        r"widerspr|reklamation|nicht (bestellt|erhalten|geliefert)|falsch|gutschrift|fehlerhaft",
        r"contest|erron[ée]|pas (re[çc]u|command[ée])|avoir\b|r[ée]clamation|litige",
        r"no (hemos|he) recibido|incorrect[ao]|reclamaci[óo]n|disputa|no (estamos|estoy) de acuerdo",
        r"niet (besteld|ontvangen|geleverd)|onjuist|klopt niet|creditnota|betwist",
    ],
    "promise_to_pay": [
        r"\bwill (pay|settle|transfer|make (the )?payment)", r"\b(i'?ll|we'?ll) (pay|settle|transfer)",
        r"payment (will be|is) (made|scheduled|sent)", r"\bpay (it |this )?(by|on|next|before)",
        r"(next|end of) (week|month)", r"payment run",
        r"werden .{0,40}(zahlen|überweisen|begleichen)", r"(zahle|überweise|ueberweise|begleiche)",
        r"zahlung erfolgt",
        r"(allons|vais) (payer|régler|regler|effectuer)", r"paiement (sera|interviendra)",
        r"r[ée]glerons", r"paierons",
        r"(vamos a|voy a) (pagar|abonar|transferir)", r"pagaremos|abonaremos|realizaremos el pago",
        r"(zullen|zal|gaan|ga) .{0,30}(betalen|overmaken|voldoen)", r"betalen .{0,20}(vóór|voor|op)",
    ],
}
# "Stop emailing me": the email-side words for revoking consent (SMS STOP words and plain
# requests are dunning/opt_out.means_stop, read here too).
_UNSUBSCRIBE = [re.compile(p, re.IGNORECASE) for p in (
    r"\bunsubscribe\b", r"abmelden", r"d[ée]sinscri", r"darme de baja", r"afmelden",
    r"uitschrijven",
    r"\b(stop|quit|cease)\b.{0,20}\b(e-?mail\w*|send\w* (me )?(e-?mails|reminders|these))",
    r"\b(do not|don'?t|dont|no more|never)\b.{0,20}\be-?mail(s|ing)?\b(?! (me )?(a|the) "
    r"(copy|invoice|statement|breakdown))",
    r"\bremove (me|us|this address|my (e-?mail|address))\b.{0,30}\b(list|e-?mails?|mailing)",
    r"\bopt(ing)?[\s-]?out\b",
)]
_COMPILED = {k: [re.compile(p, re.IGNORECASE) for p in v] for k, v in _RULES.items()}
_PRECEDENCE = ("unsubscribe", "out_of_office", "already_paid", "dispute_or_query",
               "promise_to_pay")

_MONTHS = {
    **{m: i for i, m in enumerate(["january", "february", "march", "april", "may", "june", "july",
                                   "august", "september", "october", "november", "december"], 1)},
    **{m: i for i, m in enumerate(["januar", "februar", "märz", "april", "mai", "juni", "juli",
                                   "august", "september", "oktober", "november", "dezember"], 1)},
    **{m: i for i, m in enumerate(["janvier", "février", "mars", "avril", "mai", "juin", "juillet",
                                   "août", "septembre", "octobre", "novembre", "décembre"], 1)},
    **{m: i for i, m in enumerate(["enero", "febrero", "marzo", "abril", "mayo", "junio", "julio",
                                   "agosto", "septiembre", "octubre", "noviembre", "diciembre"], 1)},
    **{m: i for i, m in enumerate(["januari", "februari", "maart", "april", "mei", "juni", "juli",
                                   "augustus", "september", "oktober", "november", "december"], 1)},
}
_SHORT = {k[:3]: v for k, v in _MONTHS.items() if len(k) > 3}
_NUMERIC = re.compile(r"\b(\d{4})-(\d{1,2})-(\d{1,2})\b|\b(\d{1,2})[./](\d{1,2})[./](\d{2,4})\b")
_WORDY = re.compile(r"\b(\d{1,2})(?:st|nd|rd|th|er|\.)?\s+(?:de\s+)?([a-zA-Zäéèûöü]{3,10})\.?"
                    r"(?:\s+(?:de\s+)?(\d{4}))?\b|\b([a-zA-Z]{3,9})\.?\s+(\d{1,2})(?:st|nd|rd|th)?"
                    r"(?:,?\s+(\d{4}))?\b", re.IGNORECASE)
_AMOUNT = re.compile(r"(?:(£|€|\$|EUR|GBP|USD)\s?(\d{1,3}(?:[ ,.]\d{3})*(?:[.,]\d{2})?|\d+(?:[.,]\d{2})?))"
                     r"|(?:(\d{1,3}(?:[ ,.]\d{3})*(?:[.,]\d{2})?|\d+(?:[.,]\d{2})?)\s?(€|EUR|GBP|USD|£))")
_CURRENCY = {"£": "GBP", "€": "EUR", "$": "USD"}


@dataclass(frozen=True)
class Verdict:
    label: str
    reasons: tuple[str, ...]              # "class: phrase found" for every rule that matched
    found_date: date | None = None        # promise date or out-of-office return date
    amount_minor: int | None = None
    currency: str | None = None
    matched: dict = field(default_factory=dict)

    @property
    def human(self) -> bool:
        """A person wrote it (auto-replies do not pause the cadence)."""
        return self.label != "out_of_office"


def _year_for(month: int, day: int, today: date, year: int | None) -> date | None:
    try:
        if year is not None:
            return date(year if year > 99 else 2000 + year, month, day)
        d = date(today.year, month, day)
        return d if d >= today - timedelta(days=31) else date(today.year + 1, month, day)
    except ValueError:
        return None


def find_date(text: str, today: date, day_first: bool = True) -> date | None:
    """The first date named in the text (ISO, 12/03, 12 March, March 12th), after `today`
    minus a month; relative words ("tomorrow", "next week", "end of month", "Friday")."""
    for m in _NUMERIC.finditer(text):
        if m.group(1):
            got = _year_for(int(m.group(2)), int(m.group(3)), today, int(m.group(1)))
        else:
            a, b = int(m.group(4)), int(m.group(5))
            day, month = (a, b) if day_first or b > 12 else (b, a)
            got = _year_for(month, day, today, int(m.group(6)))
        if got:
            return got
    found = sorted((m.start(), i, m) for i in range(len(text))
                   for m in [_WORDY.match(text, i)] if m is not None)
    for _, _, m in found:
        if m.group(1):
            day, name, year = int(m.group(1)), m.group(2).lower(), m.group(3)
        else:
            name, day, year = m.group(4).lower(), int(m.group(5)), m.group(6)
        month = _MONTHS.get(name) or _SHORT.get(name[:3])
        if month:
            got = _year_for(month, day, today, int(year) if year else None)
            if got:
                return got
    low = text.lower()
    if re.search(r"\b(tomorrow|morgen|demain|mañana|manana)\b", low):
        return today + timedelta(days=1)
    if re.search(r"end of (the )?month|ende des monats|fin (du|de) mes|fin du mois|eind van de maand", low):
        nxt = date(today.year + (today.month == 12), today.month % 12 + 1, 1)
        return nxt - timedelta(days=1)
    if re.search(r"next week|nächste woche|naechste woche|semaine prochaine|próxima semana|volgende week", low):
        return today + timedelta(days=7 - today.weekday())
    for i, names in enumerate((("monday", "montag", "lundi", "lunes", "maandag"),
                               ("tuesday", "dienstag", "mardi", "martes", "dinsdag"),
                               ("wednesday", "mittwoch", "mercredi", "miércoles", "woensdag"),
                               ("thursday", "donnerstag", "jeudi", "jueves", "donderdag"),
                               ("friday", "freitag", "vendredi", "viernes", "vrijdag"))):
        if any(re.search(rf"\b{n}\b", low) for n in names):
            return today + timedelta(days=(i - today.weekday()) % 7 or 7)
    return None


def find_amount(text: str) -> tuple[int | None, str | None]:
    m = _AMOUNT.search(text)
    if not m:
        return None, None
    sym, num = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
    num = num.replace(" ", "")
    if re.search(r"[.,]\d{2}$", num):
        whole, cents = num[:-3], num[-2:]
    else:
        whole, cents = num, "00"
    whole = re.sub(r"[.,]", "", whole)
    return int(whole) * 100 + int(cents), _CURRENCY.get(sym, sym.upper())


def _quoted_removed(text: str) -> str:
    """Drop the quoted reminder below the reply (lines with '>' and after 'On … wrote:')."""
    out = []
    for line in text.splitlines():
        if line.lstrip().startswith(">") or re.match(
                r"\s*(on .{0,80} wrote:|am .{0,80} schrieb|le .{0,80} a écrit|-----original message)",
                line, re.IGNORECASE):
            break
        out.append(line)
    return "\n".join(out)


def classify(subject: str, body: str, today: date) -> Verdict:
    """Classify a reply as of `today` (the debtor's local date, for relative dates)."""
    text = f"{subject or ''}\n{_quoted_removed(body or '')}"
    matched: dict[str, list[str]] = {}
    for label, patterns in _COMPILED.items():
        for p in patterns:
            m = p.search(text)
            if m:
                matched.setdefault(label, []).append(m.group(0))
    if means_stop(_quoted_removed(body or "")):
        matched.setdefault("unsubscribe", []).append("opt-out request")
    for p in _UNSUBSCRIBE:
        m = p.search(text)
        if m:
            matched.setdefault("unsubscribe", []).append(m.group(0))
    label = next((c for c in _PRECEDENCE if c in matched), "other")
    reasons = tuple(f"{c}: {p}" for c in _PRECEDENCE if c in matched for p in matched[c])
    found = None
    amount = currency = None
    if label in ("promise_to_pay", "out_of_office"):
        found = find_date(text, today)
    if label in ("promise_to_pay", "already_paid"):
        amount, currency = find_amount(text)
    return Verdict(label, reasons or ("no rule matched",), found, amount, currency,
                   {k: tuple(v) for k, v in matched.items()})
