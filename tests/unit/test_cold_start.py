"""Cold start: importing the app and every route's module (which requests import on their
first call) does not import Stripe (it is slow; only payments need it)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_importing_the_app_leaves_stripe_unloaded():
    code = ("import sys, app; from chalicelib.http import lazy; lazy.load_all(); "
            "print('stripe' in sys.modules, 'chalicelib.book.routes' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parents[2],
                         env={**os.environ, "RECOUP_STAGE": "test"}).stdout.split()
    assert out == ["False", "True"]
