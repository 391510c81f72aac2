"""Templates of the local-only pages (local/templates/: the test checkout, the outbox),
rendered through the platform's one Jinja environment (their own folder first, so they
can extend the platform's layouts) and sent with the page edge's security headers."""
from __future__ import annotations

import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any

from chalice import Response

from chalicelib.http import pages as edge
from chalicelib.kernel import templating

TEMPLATES = Path(__file__).resolve().parent / "templates"


@lru_cache(maxsize=1)
def environment():
    from jinja2 import ChoiceLoader, FileSystemLoader

    base = templating.environment()
    return base.overlay(loader=ChoiceLoader([FileSystemLoader(str(TEMPLATES)), base.loader]))


def page(name: str, status: int = 200, **ctx: Any) -> Response:
    nonce = secrets.token_urlsafe(16)
    body = environment().get_template(name).render(nonce=nonce, **ctx)
    return edge.html(body, status, nonce)
