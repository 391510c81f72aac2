"""Test set-up: moto stands in for AWS; tables come from the production models."""
from __future__ import annotations

import os

os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-2")
os.environ["RECOUP_STAGE"] = "test"
os.environ.pop("AWS_ENDPOINT_URL", None)

from dataclasses import dataclass  # noqa: E402
from datetime import datetime, timezone  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
from moto import mock_aws  # noqa: E402

# Copies of ../shared/data/books, kept in the repo so tests and the demo need nothing else.
BOOKS = Path(__file__).resolve().parents[1] / "local" / "books"


@pytest.fixture
def aws():
    with mock_aws():
        from chalicelib.tables import create_tables

        create_tables()
        yield


@dataclass
class Tenant:
    agency_id: str
    admin: str
    specialist: str
    outsider: str  # a specialist of the same agency not assigned to the client
    client_id: str
    viewer: str


def _token(agency_id: str, user_id: str, role: str, client_id: str | None = None) -> str:
    from chalicelib.http.auth import Principal, mint_token
    from chalicelib.kernel.settings import get_settings

    return mint_token(get_settings().jwt_secret, Principal(agency_id, user_id, role, client_id))


def make_tenant(agency_id: str) -> Tenant:
    """An agency with an admin, two specialists (one assigned), a client and its viewer."""
    from chalicelib.http.auth import Principal
    from chalicelib.http.schemas import ClientIn, UserIn
    from chalicelib.agency import clients
    from chalicelib.store.models import AgencyModel, UserModel

    AgencyModel(agency_id, name=f"Agency {agency_id}", created_at="2026-11-01T00:00:00Z").save()
    admin_id = f"{agency_id}-admin"
    UserModel(agency_id, admin_id, email=f"admin@{agency_id}.example.com", name="Ada Admin",
              role="admin", created_at="2026-11-01T00:00:00Z").save()
    admin = Principal(agency_id, admin_id, "admin")
    spec = clients.create_user(admin, UserIn(email=f"sam@{agency_id}.example.com", name="Sam",
                                             role="specialist"), now=FIXED_NOW)
    other = clients.create_user(admin, UserIn(email=f"oz@{agency_id}.example.com", name="Oz",
                                              role="specialist"), now=FIXED_NOW)
    client = clients.create_client(admin, ClientIn(
        name="Acme Ltd", sender_email=f"ar@acme-{agency_id}.example.com",
        specialist_ids=[spec["id"]], settings={"chasing": "active"}), now=FIXED_NOW)
    viewer = clients.create_user(admin, UserIn(email=f"cfo@{agency_id}.example.com", name="Cy",
                                               role="client_viewer", client_id=client["id"]), now=FIXED_NOW)
    return Tenant(agency_id, _token(agency_id, admin_id, "admin"),
                  _token(agency_id, spec["id"], "specialist"),
                  _token(agency_id, other["id"], "specialist"), client["id"],
                  _token(agency_id, viewer["id"], "client_viewer", client["id"]))


@pytest.fixture
def dunning(aws):
    """Queues (with DLQ) and verified SES sender domains, as the local stack provisions."""
    from chalicelib.dunning import channels
    from chalicelib.kernel import adapters as wiring
    from local import resources

    wiring.reset()
    os.environ.pop("RECOUP_DISPATCH_QUEUE_URL", None)
    resources.provision()
    yield resources
    for name in ("email", "sms"):
        channels.use(name, None)
    os.environ.pop("RECOUP_DISPATCH_QUEUE_URL", None)
    os.environ.pop("RECOUP_INBOUND_BUCKET", None)
    wiring.reset()


@pytest.fixture
def tenants(aws):
    return make_tenant("agA"), make_tenant("agB")


@pytest.fixture
def http(aws):
    from chalice.test import Client

    from app import app

    with Client(app, stage_name="test") as c:  # the dev stage would read SSM
        yield c


def bearer(token: str, **extra: str) -> dict:
    return {"Authorization": f"Bearer {token}", "Content-Type": "application/json", **extra}


FIXED_NOW = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def now() -> datetime:
    """The one time tests run at: pass it to every use case (`now=now`); never the machine's."""
    return FIXED_NOW


@pytest.fixture(autouse=True)
def _one_clock(monkeypatch, tmp_path_factory):
    """Handlers (HTTP requests, jobs, webhooks, the local ticker and pump) read
    clock.utcnow(): each test starts it at FIXED_NOW and lets it tick from there (entries
    written one after another still sort in order), so no test depends on the machine's
    date or minute. A test stops it elsewhere with RECOUP_DEMO_NOW (test_workbench's `now`)."""
    from chalicelib.kernel import clock

    path = str(tmp_path_factory.getbasetemp() / "clock.json")
    monkeypatch.delenv("RECOUP_DEMO_NOW", raising=False)
    monkeypatch.setenv("RECOUP_CLOCK_FILE", path)
    clock.write_travel(path, offset_seconds=FIXED_NOW.timestamp() - clock.wall_seconds())


# RECOUP_TEST_SHIFT_DAYS=400 runs the whole session with the machine's clock moved that many
# days ahead (time-machine: datetime.now, time.time, date.today ... in this process, moto
# and botocore included), to prove nothing depends on the real date. .ci/run does a second
# run so.
SHIFT_DAYS = int(os.environ.get("RECOUP_TEST_SHIFT_DAYS") or 0)
_shift = None


def pytest_configure(config):
    global _shift
    import time

    # the schemathesis summary written by this run (file times are never shifted)
    config._recoup_started = time.time()
    if SHIFT_DAYS and _shift is None:
        import time_machine
        from datetime import timedelta

        _shift = time_machine.travel(timedelta(days=SHIFT_DAYS), tick=True)
        _shift.start()


def pytest_unconfigure(config):
    global _shift
    if _shift is not None:
        _shift.stop()
        _shift = None


def pytest_report_header(config):
    if SHIFT_DAYS:
        return f"clock shifted {SHIFT_DAYS} days ahead (RECOUP_TEST_SHIFT_DAYS)"


def pytest_terminal_summary(terminalreporter, config):
    """Print the size of the zip tests/infra/test_package.py built (CI logs show it)."""
    factory = getattr(config, "_tmp_path_factory", None)
    if factory is None or hasattr(config, "workerinput"):
        return
    zip_path = factory.getbasetemp() / "recoup-pkg" / "build" / "package" / "deployment.zip"
    if zip_path.exists():
        terminalreporter.write_line(
            f"deployment_zip_size: {zip_path.stat().st_size / 1e6:.1f} MB ({zip_path})")
    fuzz = Path(__file__).resolve().parents[1] / ".pytest_cache" / "schemathesis-summary.txt"
    started = getattr(config, "_recoup_started", None)
    if fuzz.exists() and started is not None and fuzz.stat().st_mtime >= started:
        terminalreporter.write_line(fuzz.read_text().splitlines()[0])

def at_once(call, args: list) -> list:
    """`call(arg)` for every arg, each in its own thread, all released together; the answers
    in the order the calls finished (a call that raised answers nothing)."""
    import threading

    got: list = []
    lock, barrier = threading.Lock(), threading.Barrier(len(args))

    def run(arg):
        barrier.wait()
        answer = call(arg)
        with lock:
            got.append(answer)

    threads = [threading.Thread(target=run, args=(a,)) for a in args]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return got


@pytest.fixture
def atomic_writes(monkeypatch):
    """moto evaluates a conditional write and applies it without a lock, so two threads can
    both pass the same condition; DynamoDB makes each single-item write atomic. This lock
    gives moto that guarantee, so race tests test our conditions, not moto's."""
    import threading

    import moto.dynamodb.models as dynamodb

    lock = threading.RLock()
    # reads too: moto copies an item while another thread's write mutates it
    for name in ("put_item", "update_item", "delete_item", "transact_write_items",
                 "batch_write_item", "get_item", "query", "scan", "batch_get_item"):
        real = getattr(dynamodb.DynamoDBBackend, name)

        def locked(self, *args, _real=real, **kwargs):
            with lock:
                return _real(self, *args, **kwargs)

        monkeypatch.setattr(dynamodb.DynamoDBBackend, name, locked)
