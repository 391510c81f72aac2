"""Adapters built once, lazily: boto3 clients exist only after the first use, so nothing
talks to AWS at import time and tests (moto) or the local stack can set endpoints first."""
from __future__ import annotations

import os
import threading
from typing import Any

_lock = threading.Lock()
_clients: dict[tuple[str, str], Any] = {}


def aws(service: str) -> Any:
    """A boto3 client for `service`, cached per endpoint (the local stack sets one)."""
    key = (service, os.environ.get("AWS_ENDPOINT_URL", ""))
    with _lock:
        if key not in _clients:
            import boto3

            _clients[key] = boto3.client(service)
        return _clients[key]


def reset() -> None:
    """Forget built clients (tests that start a fresh moto)."""
    with _lock:
        _clients.clear()
