"""Money: integer minor units with an ISO 4217 code; never floats."""
from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# Minor-unit exponents (ISO 4217). Currencies not listed here are rejected as unknown.
EXPONENTS: dict[str, int] = {
    "GBP": 2, "EUR": 2, "USD": 2, "AUD": 2, "CAD": 2, "NZD": 2, "CHF": 2, "SEK": 2,
    "NOK": 2, "DKK": 2, "PLN": 2, "CZK": 2, "HUF": 2, "ZAR": 2, "SGD": 2, "HKD": 2,
    "INR": 2, "MXN": 2, "BRL": 2, "CNY": 2, "AED": 2, "ILS": 2, "RON": 2, "TRY": 2,
    "JPY": 0, "KRW": 0, "ISK": 0, "CLP": 0, "VND": 0, "XOF": 0, "XAF": 0, "UGX": 0,
    "BHD": 3, "KWD": 3, "OMR": 3, "JOD": 3, "TND": 3,
}


class MoneyError(ValueError):
    """A value that cannot be money: the message says why."""


def exponent(currency: str) -> int:
    try:
        return EXPONENTS[currency.upper()]
    except KeyError:
        raise MoneyError(f"unknown currency {currency!r}") from None


def is_currency(code: str) -> bool:
    return code.upper() in EXPONENTS


@dataclass(frozen=True, order=True)
class Money:
    minor: int
    currency: str

    def __post_init__(self) -> None:
        if not isinstance(self.minor, int) or isinstance(self.minor, bool):
            raise MoneyError("minor units must be an int")
        exponent(self.currency)

    def __add__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor + other.minor, self.currency)

    def __sub__(self, other: Money) -> Money:
        self._same(other)
        return Money(self.minor - other.minor, self.currency)

    def _same(self, other: Money) -> None:
        if other.currency != self.currency:
            raise MoneyError(f"cannot mix {self.currency} and {other.currency}")

    def to_decimal(self) -> Decimal:
        return to_major(self.minor, self.currency)


def to_major(minor: int, currency: str) -> Decimal:
    return Decimal(minor).scaleb(-exponent(currency))


_PLAIN = re.compile(r"^-?\d+(\.\d+)?$")


def parse_major(text: str, currency: str) -> int:
    """Parse a plain decimal string in major units ("1234.50") into minor units.

    Refuses more precision than the currency has (10.005 GBP) rather than rounding.
    """
    s = text.strip()
    if not _PLAIN.match(s):
        raise MoneyError(f"not a number: {text!r}")
    try:
        value = Decimal(s)
    except InvalidOperation:
        raise MoneyError(f"not a number: {text!r}") from None
    scaled = value.scaleb(exponent(currency))
    if scaled != scaled.to_integral_value():
        raise MoneyError(f"more decimal places than {currency.upper()} allows: {text!r}")
    return int(scaled)


def format_money(minor: int, currency: str, locale: str = "en_GB") -> str:
    """Human format in the reader's locale (babel), e.g. £1,234.50."""
    from babel.numbers import format_currency

    return format_currency(to_major(minor, currency), currency.upper(), locale=locale)
