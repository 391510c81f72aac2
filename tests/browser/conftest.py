"""Browser tests: headless Debian Chromium driven by Playwright against served demos
(`demo`: the make-run seed, for the portal; `workbench`: a small tenant with call tasks)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]


def _served(module: str, env: dict[str, str] | None = None):
    """Run a test server module in a child process; yield what it announces on its
    `READY {json}` line; closing its stdin stops it. Under RECOUP_TEST_SHIFT_DAYS the child
    stands on the same shifted day as this process (a travel file, as `make run` uses):
    time-machine moves only this process's clock."""
    from tests.conftest import SHIFT_DAYS

    env = dict(os.environ if env is None else env)
    if SHIFT_DAYS and not env.get("RECOUP_DEMO_NOW"):
        import tempfile

        from chalicelib.kernel.clock import write_travel

        clock_file = os.path.join(tempfile.mkdtemp(prefix="recoup-browser-clock-"), "clock.json")
        write_travel(clock_file, offset_seconds=SHIFT_DAYS * 86400)
        env["RECOUP_CLOCK_FILE"] = clock_file
    proc = subprocess.Popen([sys.executable, "-m", module], cwd=ROOT, env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        line = ""
        while not line.startswith("READY "):
            line = proc.stdout.readline()
            if not line:
                pytest.fail(f"{module} did not start")
        yield json.JSONDecoder().raw_decode(line[6:])[0]
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


@pytest.fixture(scope="session")
def demo():
    """The `make run` seed (portal tests)."""
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    env["RECOUP_STAGE"] = "local"
    env["PYTHONPATH"] = str(ROOT)
    yield from _served("tests.browser.serve", env)


@pytest.fixture(scope="session")
def replies_demo():
    """The `make run` seed with one Acme reminder sent, on a pinned clock (the next weekday
    at 10:00 UTC, inside calling hours): for replying as the debtor from the outbox."""
    from datetime import datetime, timedelta, timezone

    import holidays

    now = datetime.now(timezone.utc)
    at = (now + timedelta(days=1)).replace(hour=10, minute=0, second=0, microsecond=0)
    off = holidays.country_holidays("GB", years=[at.year, at.year + 1])
    while at.weekday() >= 5 or at.date() in off:  # a UK business day: reminders go out
        at += timedelta(days=1)
    env = {k: v for k, v in os.environ.items() if k != "AWS_ENDPOINT_URL"}
    env.update(RECOUP_STAGE="local", PYTHONPATH=str(ROOT), RECOUP_BROWSER_REMIND="1",
               RECOUP_DEMO_NOW=at.isoformat(), RECOUP_TABLE_PREFIX="recoup-browser-replies-")
    for served in _served("tests.browser.serve", env):
        yield {**served, "now": at}


@pytest.fixture(scope="session")
def workbench():
    """A small tenant with three call tasks (workbench tests)."""
    yield from _served("tests.browser.server")


@pytest.fixture(scope="session")
def browser():
    # make test installs Debian chromium (scripts/ensure-chromium.sh); without it this fails.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1366, "height": 768}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    context.close()
