"""Field checks shared by the API and the importer: email, phone, time zone, country."""
from __future__ import annotations

import re
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

_EMAIL = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+\.[^@\s,;<>\"]+$")


def check_email(value: str) -> str:
    v = value.strip()
    if not _EMAIL.match(v):
        raise ValueError(f"{value!r} is not an email address")
    local, domain = v.rsplit("@", 1)
    return f"{local}@{domain.lower()}"


def check_phone(value: str, region: str | None = None) -> str:
    """E.164 form of a phone number, or ValueError saying why not."""
    import phonenumbers  # loaded by the first phone number checked, not by every import

    try:
        num = phonenumbers.parse(value, (region or "GB").upper())
    except phonenumbers.NumberParseException:
        raise ValueError(f"{value!r} is not a phone number") from None
    if not phonenumbers.is_possible_number(num):
        raise ValueError(f"{value!r} is not a possible phone number")
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.E164)


def display_phone(e164: str | None, region: str | None = None) -> str:
    """A stored (E.164) number as a person dials it: national form when it is in `region`
    (the client's country), international otherwise; text that does not parse as it is."""
    if not e164:
        return ""
    import phonenumbers

    try:
        num = phonenumbers.parse(e164, (region or "GB").upper())
    except phonenumbers.NumberParseException:
        return e164
    same = phonenumbers.region_code_for_number(num) == (region or "").upper()
    return phonenumbers.format_number(num, phonenumbers.PhoneNumberFormat.NATIONAL if same
                                      else phonenumbers.PhoneNumberFormat.INTERNATIONAL)


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def check_timezone(value: str) -> str:
    v = value.strip()
    if v not in _zones():
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone") from None
    return v


@lru_cache(maxsize=1)
def _countries() -> frozenset[str]:
    from babel import Locale

    return frozenset(k for k in Locale("en").territories if len(k) == 2 and k.isalpha())


def check_country(value: str) -> str:
    v = value.strip().upper()
    if v not in _countries():
        raise ValueError(f"{value!r} is not an ISO 3166 country code")
    return v


# Brand colours: #rrggbb that white text on is readable (WCAG AA for normal text, 4.5:1).
COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")
MIN_CONTRAST = 4.5


def contrast_with_white(colour: str) -> float:
    """WCAG contrast ratio of white text on `colour` (#rrggbb)."""
    def channel(hex2: str) -> float:
        c = int(hex2, 16) / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (channel(colour[i:i + 2]) for i in (1, 3, 5))
    luminance = 0.2126 * r + 0.7152 * g + 0.0722 * b
    return 1.05 / (luminance + 0.05)


def check_brand_colour(value: str) -> str:
    """A brand colour white text stays readable on; ValueError saying why not."""
    if not COLOUR.match(value or ""):
        raise ValueError("must be a colour like #1f4e79")
    ratio = contrast_with_white(value)
    if ratio < MIN_CONTRAST:
        raise ValueError(f"white text on {value} has a contrast of {ratio:.1f}:1; it needs "
                         f"at least {MIN_CONTRAST}:1 (pick a darker colour)")
    return value
