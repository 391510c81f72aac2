"""`chalice package --stage prod` with the infra template merged: it builds, cfn-lint finds
no errors, and the zip holds the app and its templates but no test-only packages.

Packaging runs once per session (about 15 s: chalice has pip build the wheels, so PyPI
must be reachable, as for `make install`)."""
from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEST_ONLY = {"moto", "pytest", "_pytest", "xdist", "playwright", "hypothesis", "cfnlint",
             "samtranslator", "boto3", "botocore", "s3transfer"}
# What Lambda gets (chalice packages app.py, chalicelib/ and vendor/ only).
RUNTIME_DIRS = ("chalicelib/templates", "email_templates")


@pytest.fixture(scope="session")
def packaged(tmp_path_factory):
    """Package once per test run, shared by xdist workers (a lock in the common temp root)."""
    import fcntl

    from bench.package_size import copy_project
    from infra.package import package

    shared = tmp_path_factory.getbasetemp().parent
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        shared = tmp_path_factory.getbasetemp()
    out = shared / "recoup-pkg" / "build" / "package"
    with open(shared / "recoup-pkg.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (out / "sam.json").exists():
            project = copy_project(shared / "recoup-pkg")
            package("prod", project)
    print(f"\ndeployment_zip_size: {(out / 'deployment.zip').stat().st_size / 1e6:.1f} MB")
    return out


def test_chalice_package_prod_builds_a_sam_template_with_the_infra_merged(packaged):
    sam = json.loads((packaged / "sam.json").read_text())
    kinds = {r["Type"] for r in sam["Resources"].values()}
    assert {"AWS::Serverless::Function", "AWS::DynamoDB::Table", "AWS::SQS::Queue",
            "AWS::SNS::Topic", "AWS::SES::ConfigurationSet", "AWS::CloudWatch::Alarm"} <= kinds
    env = sam["Resources"]["APIHandler"]["Properties"]["Environment"]["Variables"]
    assert env["RECOUP_STAGE"] == "prod" and env["RECOUP_TABLE_PREFIX"] == "recoup-prod-"
    # least privilege: each listed function has its own role, no managed admin policies
    roles = {k: r for k, r in sam["Resources"].items() if r["Type"] == "AWS::IAM::Role"}
    assert {"ApiHandlerRole", "BearerRole"} <= set(roles)
    assert "ManagedPolicyArns" not in json.dumps(roles)


def test_cfn_lint_finds_no_errors_in_the_packaged_template(packaged):
    from cfnlint.api import ManualArgs, lint_file

    matches = lint_file(packaged / "sam.json", ManualArgs(regions=["eu-west-2", "us-east-1"]))
    # E2533 (runtime deprecated) judges by today's date: a real finding on the real date,
    # but not under the simulated clock of RECOUP_TEST_SHIFT_DAYS (tests/conftest.py).
    skip = {"E2533"} if os.environ.get("RECOUP_TEST_SHIFT_DAYS") else set()
    errors = [f"{m.rule.id} {m.message} ({m.linenumber})" for m in matches
              if m.rule.id.startswith("E") and m.rule.id not in skip]
    assert not errors, "\n".join(errors)


def test_zip_holds_the_app_and_every_runtime_template_and_no_test_packages(packaged):
    zip_path = packaged / "deployment.zip"
    with zipfile.ZipFile(zip_path) as z:
        names = set(z.namelist())
    assert "app.py" in names
    for path in (ROOT / "chalicelib").rglob("*.py"):
        if "__pycache__" not in path.parts:
            assert path.relative_to(ROOT).as_posix() in names
    for folder in RUNTIME_DIRS:
        for path in (ROOT / folder).rglob("*") if (ROOT / folder).exists() else ():
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".md":
                rel = path.relative_to(ROOT).as_posix()
                assert rel in names, (f"{rel} is not deployed: Lambda gets app.py, "
                                      "chalicelib/ and vendor/ only")
    tops = {n.split("/", 1)[0].split("-", 1)[0] for n in names}
    assert not tops & TEST_ONLY, tops & TEST_ONLY
    # the local test checkout (and all of local/) never ships: no free payments in prod
    assert not [n for n in names if n.startswith("local/")]
    with zipfile.ZipFile(zip_path) as z:
        ours = [n for n in names if n == "app.py" or n.startswith("chalicelib/")]
        assert not [n for n in ours if b"LOCAL TEST CHECKOUT" in z.read(n)
                    or b"cs_local_" in z.read(n)]
    # Lambda's limit for a directly uploaded zip is 50 MB
    assert zip_path.stat().st_size < 50e6


def test_the_zip_imports_the_app_with_only_what_lambda_provides(packaged, tmp_path):
    """GIVEN the zip unpacked next to what the Lambda Python runtime has (stdlib, boto3,
    botocore and their dependencies), nothing else on the path
    WHEN the handler module is imported
    THEN it loads: no import of infra/, local/, bench/ or a test package from Lambda code."""
    from infra.lambda_sandbox import run as run_in_lambda, unpack

    code, runtime = unpack(packaged / "deployment.zip", tmp_path)
    probe = ("import app; "
             "bad = sorted({m.split('.')[0] for m in sys.modules} & "
             "{'infra', 'local', 'bench', 'moto', 'pytest', 'tests'}); "
             "assert not bad, bad; print(len(app.app.routes))")
    run = run_in_lambda(code, runtime, probe)
    assert run.returncode == 0, run.stderr[-3000:]
    assert int(run.stdout.strip()) > 0


def test_every_module_of_the_zip_loads_from_bytecode_shipped_in_it(packaged, tmp_path):
    """GIVEN the zip unpacked read-only-like (no bytecode written, as in /var/task)
    WHEN the app and every route's module (which requests import on first call) are imported
    THEN no module of the app or its vendored dependencies is compiled from source: each
    comes with an unchecked-hash .pyc named for Lambda's /var/task (a cold start without
    them compiles ~3,000 files' worth of source every time)."""
    from infra.lambda_sandbox import run as run_in_lambda, unpack

    code, runtime = unpack(packaged / "deployment.zip", tmp_path)
    probe = ("import importlib.util, marshal, os; import app\n"
             "from chalicelib.http import lazy; lazy.load_all()\n"  # what requests import
             "compiled = [n for n, m in sorted(sys.modules.items()) if getattr(m, '__file__', '')"
             " and m.__file__.startswith(sys.argv[1]) and m.__file__.endswith('.py')"
             " and not os.path.exists(importlib.util.cache_from_source(m.__file__))]\n"
             "pyc = importlib.util.cache_from_source(sys.modules['chalicelib.book.rows'].__file__)\n"
             "data = open(pyc, 'rb').read()\n"
             "flags = int.from_bytes(data[4:8], 'little')\n"
             "code_obj = marshal.loads(data[16:])\n"
             "print(len(compiled), compiled[:5], flags, code_obj.co_filename)")
    run = run_in_lambda(code, runtime, probe, args=(str(code),))
    assert run.returncode == 0, run.stderr[-3000:]
    out = run.stdout.strip()
    assert out.startswith("0 [] "), out  # every module loaded has its bytecode
    assert out.split()[-2] == "1"  # hash-based, unchecked: valid whatever the file mtimes
    assert out.split()[-1] == "/var/task/chalicelib/book/rows.py"  # tracebacks name Lambda's path
