"""Our own templates (chalicelib/templates: pages, report emails, letters) through one Jinja
environment, built once on first use, HTML autoescaped. Client-supplied template overrides
go through the sandbox in services/messages.py instead."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

TEMPLATES = Path(__file__).resolve().parents[1] / "templates"


@lru_cache(maxsize=1)
def environment():
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)),
                      autoescape=select_autoescape(["html", "htm", "xml"]))
    env.filters["money"] = money
    env.filters["local"] = local_time
    return env


def money(minor, currency: str = "GBP") -> str:
    """`{{ 12050|money("GBP") }}` -> £120.50"""
    from chalicelib.kernel.money import format_money

    return format_money(int(minor or 0), currency)


def local_time(ts: str | None, tz: str | None = None) -> str:
    """`{{ instant|local(tz) }}` -> "Wed 25 Nov 10:00" in that time zone."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    if not ts:
        return ""
    return datetime.fromisoformat(ts).astimezone(ZoneInfo(tz or "Europe/London")).strftime(
        "%a %d %b %H:%M")


def render(name: str, **context) -> str:
    return environment().get_template(name).render(**context)
