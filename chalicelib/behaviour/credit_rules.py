"""Credit policy: how much credit a client extends to each debtor, on what terms, and when
to warn it. Pure rules (no store, no clock): `behaviour/credit.py` reads the client's
settings, the debtor and its open invoices and hands them over.

- **Policy** (`settings["credit_policy"]` of the client): a default limit and terms, limits
  and terms per behaviour segment (or a client's own bucket), and per-debtor overrides
  (stored on the debtor's credit record). A limit is integer minor units + currency.
- **Effective terms**: each of limit and terms comes from the most specific level that
  sets it: the debtor's override, then its segment's, then the client's default.
- **Risk band** (low / medium / high) from the behaviour segment the lateness model
  already computes (`profile_rules.segment_for`): prompt is low; slow but steady, erratic
  and new are medium; at risk is high. A client's own bucket has no band of its own: the
  computed segment's is used.
- **Exposure** = the open balance (owed invoices in the limit's currency; other
  currencies are reported apart, never converted).
- **Decisions**: exposure over the limit raises "exposure over limit, recommend credit
  hold" once per crossing (back under the limit resolves it); a worse band raises "risk
  band changed from X to Y" (a band back where it was resolves it).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping

from chalicelib.behaviour.profile_rules import SEGMENT_LABELS
from chalicelib.kernel.field_errors import FieldError
from chalicelib.kernel.money import MoneyError, exponent, format_money

BANDS = ("low", "medium", "high")
BAND_LABELS = {"low": "low risk", "medium": "medium risk", "high": "high risk"}
SEGMENT_BANDS = {"prompt": "low", "slow_but_steady": "medium", "erratic": "medium",
                 "new": "medium", "at_risk": "high"}
DEFAULT_TERMS_DAYS = 30      # the UK Late Payment Act's default credit period
MAX_TERMS_DAYS = 365
MAX_LIMIT_MINOR = 10 ** 15   # a bound that keeps JSON numbers exact
MAX_SEGMENTS = 50
SEGMENT_NAME_MAX = 64

OVER_LIMIT, BAND_CHANGED = "over_limit", "band_changed"
KIND_LABELS = {OVER_LIMIT: "Over credit limit", BAND_CHANGED: "Risk band worse"}
HOLD_RECOMMENDED = "credit_hold"
REVIEW_RECOMMENDED = "review_limit"
RECOMMENDATION_LABELS = {HOLD_RECOMMENDED: "recommend a credit hold",
                         REVIEW_RECOMMENDED: "recommend reviewing the credit limit"}


@dataclass(frozen=True)
class Terms:
    """A limit (None: no limit at this level) and terms in days (None: not set here)."""

    limit_minor: int | None = None
    currency: str | None = None
    terms_days: int | None = None

    def to_dict(self) -> dict:
        return {"limit_minor": self.limit_minor, "currency": self.currency,
                "terms_days": self.terms_days}

    @property
    def empty(self) -> bool:
        return self.limit_minor is None and self.terms_days is None


@dataclass(frozen=True)
class Policy:
    default: Terms = field(default_factory=Terms)
    segments: Mapping[str, Terms] = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"default": self.default.to_dict(),
                "segments": {k: v.to_dict() for k, v in sorted(self.segments.items())}}


def _int(raw, where: str, *, low: int, high: int) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise FieldError(where, "must be a whole number")
    if not low <= raw <= high:
        raise FieldError(where, f"must be between {low} and {high}")
    return raw


def parse_terms(raw, where: str, *, fallback_currency: str | None = None) -> Terms:
    """One level of the policy; FieldError names the field (`where.limit_minor`, ...)."""
    if raw is None:
        return Terms()
    if not isinstance(raw, Mapping):
        raise FieldError(where, "must be an object with limit_minor, currency and terms_days")
    unknown = sorted(set(raw) - {"limit_minor", "currency", "terms_days"})
    if unknown:
        raise FieldError(f"{where}.{unknown[0]}", "is not a credit policy field")
    limit = _int(raw.get("limit_minor"), f"{where}.limit_minor", low=0, high=MAX_LIMIT_MINOR)
    terms = _int(raw.get("terms_days"), f"{where}.terms_days", low=0, high=MAX_TERMS_DAYS)
    currency = raw.get("currency")
    if currency is not None:
        if not isinstance(currency, str):
            raise FieldError(f"{where}.currency", "must be an ISO 4217 code")
        try:
            exponent(currency)
        except MoneyError:
            raise FieldError(f"{where}.currency",
                             f"{currency!r} is not a supported ISO 4217 currency") from None
        currency = currency.upper()
    if limit is not None and currency is None:
        if fallback_currency is None:
            raise FieldError(f"{where}.currency", "is required with a limit")
        currency = fallback_currency
    return Terms(limit, currency if limit is not None else None, terms)


def parse_policy(raw, *, currency: str) -> Policy:
    """The client's stored or proposed policy (`currency`: the client's, for a limit that
    names none). FieldError names the field and the reason."""
    if raw is None:
        return Policy()
    if not isinstance(raw, Mapping):
        raise FieldError("credit_policy", "must be an object")
    unknown = sorted(set(raw) - {"default", "segments"})
    if unknown:
        raise FieldError(unknown[0], "is not a credit policy field (default, segments)")
    default = parse_terms(raw.get("default"), "default", fallback_currency=currency)
    segs_raw = raw.get("segments")
    segs_raw = {} if segs_raw is None else segs_raw
    if not isinstance(segs_raw, Mapping):
        raise FieldError("segments", "must be an object of segment name to limit and terms")
    if len(segs_raw) > MAX_SEGMENTS:
        raise FieldError("segments", f"at most {MAX_SEGMENTS} segments")
    segments = {}
    for name, val in segs_raw.items():
        if not isinstance(name, str) or not name.strip() or len(name) > SEGMENT_NAME_MAX:
            raise FieldError("segments", f"a segment name must be 1-{SEGMENT_NAME_MAX} "
                             "characters")
        t = parse_terms(val, f"segments.{name}", fallback_currency=currency)
        if not t.empty:
            segments[name.strip()] = t
    return Policy(default, segments)


# ---------------------------------------------------------------------- effective terms


@dataclass(frozen=True)
class Effective:
    limit_minor: int | None
    currency: str | None
    terms_days: int
    limit_source: str   # debtor | segment | client | none
    terms_source: str   # debtor | segment | client | default

    def to_dict(self) -> dict:
        return {"limit_minor": self.limit_minor, "currency": self.currency,
                "terms_days": self.terms_days, "limit_source": self.limit_source,
                "terms_source": self.terms_source}


SOURCE_LABELS = {"debtor": "set for this account", "segment": "the segment's",
                 "client": "the client's default", "none": "no limit",
                 "default": "the standard 30 days"}


def effective(policy: Policy, segment: str | None, override: Terms | None) -> Effective:
    """Debtor override > segment > client default, for the limit and the terms apart."""
    levels = [("debtor", override or Terms()),
              ("segment", policy.segments.get(segment or "", Terms())),
              ("client", policy.default)]
    limit = next(((src, t) for src, t in levels if t.limit_minor is not None), None)
    terms = next(((src, t) for src, t in levels if t.terms_days is not None), None)
    return Effective(limit[1].limit_minor if limit else None,
                     limit[1].currency if limit else None,
                     terms[1].terms_days if terms else DEFAULT_TERMS_DAYS,
                     limit[0] if limit else "none", terms[0] if terms else "default")


# ------------------------------------------------------------------------- risk bands


@dataclass(frozen=True)
class Band:
    name: str
    reason: str

    @property
    def label(self) -> str:
        return BAND_LABELS[self.name]

    @property
    def rank(self) -> int:
        return BANDS.index(self.name)


def band_for(segment: str | None, reason: str | None = None, *,
             computed: str | None = None, computed_reason: str | None = None) -> Band:
    """The band of the stored segment; a segment that is not a behaviour segment (a
    client's own bucket, or none yet) takes the computed one's."""
    name, why = (segment, reason) if segment in SEGMENT_BANDS else (computed, computed_reason)
    if name not in SEGMENT_BANDS:
        return Band("medium", "no behaviour segment yet")
    label = SEGMENT_LABELS.get(name, name)
    return Band(SEGMENT_BANDS[name], f"segment {label}" + (f": {why}" if why else ""))


# ------------------------------------------------------------------------- exposure


@dataclass(frozen=True)
class Exposure:
    minor: int                          # owed in the limit's (else the debtor's) currency
    currency: str
    other: Mapping[str, int] = field(default_factory=dict)  # owed in other currencies


def exposure(open_balances: Iterable[tuple[int, str]], currency: str) -> Exposure:
    """The open balance: (balance_minor, currency) of each owed invoice."""
    total, other = 0, {}
    for minor, cur in open_balances:
        if minor <= 0:
            continue
        if cur == currency:
            total += minor
        else:
            other[cur] = other.get(cur, 0) + minor
    return Exposure(total, currency, dict(sorted(other.items())))


# -------------------------------------------------------------------------- decisions


@dataclass(frozen=True)
class State:
    """What the last evaluation found (stored on the debtor's credit record)."""

    band: str | None = None
    over_limit: bool = False
    exposure_minor: int = 0
    currency: str | None = None
    limit_minor: int | None = None

    def to_dict(self) -> dict:
        return {"band": self.band, "over_limit": self.over_limit,
                "exposure_minor": self.exposure_minor, "currency": self.currency,
                "limit_minor": self.limit_minor}

    @classmethod
    def from_dict(cls, d: Mapping | None) -> State:
        d = d or {}
        return cls(d.get("band"), bool(d.get("over_limit")), int(d.get("exposure_minor") or 0),
                   d.get("currency"), None if d.get("limit_minor") is None
                   else int(d["limit_minor"]))


@dataclass(frozen=True)
class Raise:
    kind: str                # over_limit | band_changed
    message: str
    recommendation: str      # credit_hold | review_limit
    data: Mapping = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    state: State
    raised: tuple[Raise, ...] = ()
    resolve: tuple[tuple[str, str], ...] = ()   # (kind, why) of open alerts to close
    summary: str = ""                           # what changed, in words (timeline)

    @property
    def changed(self) -> bool:
        return bool(self.raised or self.resolve)


def over_limit_message(exp: Exposure, limit_minor: int, locale: str = "en_GB") -> str:
    cur = exp.currency
    return (f"Exposure {format_money(exp.minor, cur, locale)} is over the credit limit of "
            f"{format_money(limit_minor, cur, locale)} by "
            f"{format_money(exp.minor - limit_minor, cur, locale)}: recommend a credit hold "
            "(no new orders on credit until the balance is back under the limit).")


def band_message(old: Band | str, new: Band) -> str:
    was = BAND_LABELS.get(old if isinstance(old, str) else old.name, str(old))
    advice = ("recommend a credit hold until they pay down the balance"
              if new.name == "high" else "recommend reviewing their credit limit")
    return f"Risk band changed from {was} to {new.label} ({new.reason}): {advice}."


def decide(prev: State | None, band: Band, eff: Effective, exp: Exposure, *,
           locale: str = "en_GB") -> Decision:
    """Compare what the debtor looks like now with the last evaluation. The first
    evaluation sets the band without an alert (nothing changed yet) but does raise an
    exposure already over the limit."""
    prev = prev or State()
    comparable = eff.limit_minor is not None and eff.currency == exp.currency
    over = comparable and exp.minor > (eff.limit_minor or 0)
    state = State(band.name, over, exp.minor, exp.currency,
                  eff.limit_minor if comparable else None)
    raised, resolve, words = [], [], []
    if over and not prev.over_limit:
        raised.append(Raise(OVER_LIMIT, over_limit_message(exp, eff.limit_minor or 0, locale),
                            HOLD_RECOMMENDED,
                            {"exposure_minor": exp.minor, "limit_minor": eff.limit_minor,
                             "currency": exp.currency, "limit_source": eff.limit_source}))
    elif prev.over_limit and not over:
        why = ("exposure back under the limit" if comparable else "no limit applies any more")
        resolve.append((OVER_LIMIT, why))
        words.append(f"Credit: {why} ({format_money(exp.minor, exp.currency, locale)})")
    if prev.band in BANDS and prev.band != band.name:
        old_rank = BANDS.index(prev.band)
        if band.rank > old_rank:
            raised.append(Raise(BAND_CHANGED, band_message(prev.band, band),
                                HOLD_RECOMMENDED if band.name == "high"
                                else REVIEW_RECOMMENDED,
                                {"from": prev.band, "to": band.name, "reason": band.reason}))
        else:
            resolve.append((BAND_CHANGED, f"risk band back to {band.label}"))
            words.append(f"Credit: risk band improved from {BAND_LABELS[prev.band]} to "
                         f"{band.label} ({band.reason})")
    return Decision(state, tuple(raised), tuple(resolve), "; ".join(words))


def band_alert_resolved(alert_from: str | None, band: str) -> bool:
    """A band alert is resolved once the band is back at (or better than) where it was."""
    if alert_from not in BANDS or band not in BANDS:
        return True
    return BANDS.index(band) <= BANDS.index(alert_from)
