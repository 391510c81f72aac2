"""Run Python against an unpacked deployment zip the way the Lambda Python runtime does:
the zip's contents and what the runtime provides (boto3, botocore and their dependencies)
on the path and nothing else, no site-packages, no PYTHON* variables, and no bytecode
written (/var/task is read-only). Used by the package test and bench/app_import.py."""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

RUNTIME_PROVIDED = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3",
                    "six.py")
ENV = {"RECOUP_STAGE": "prod", "AWS_DEFAULT_REGION": "eu-west-2",
       "RECOUP_TABLE_PREFIX": "recoup-prod-", "PATH": "/usr/bin:/bin"}


def unpack(zip_path: Path, dest: Path, bytecode: bool = True) -> tuple[Path, Path]:
    """The zip unpacked in dest/task (without its .pyc files unless bytecode) and the
    runtime's packages linked in dest/runtime; returns both directories."""
    import boto3

    code, runtime = dest / "task", dest / "runtime"
    with zipfile.ZipFile(zip_path) as z:
        for info in z.infolist():
            if bytecode or not info.filename.endswith(".pyc"):
                z.extract(info, code)
    runtime.mkdir(parents=True, exist_ok=True)
    site = Path(boto3.__file__).parents[1]
    for name in RUNTIME_PROVIDED:
        if (site / name).exists() and not (runtime / name).exists():
            (runtime / name).symlink_to(site / name)
    return code, runtime


def run(code: Path, runtime: Path, probe: str, timeout: float = 120,
        args: tuple[str, ...] = ()) -> subprocess.CompletedProcess:
    """`probe` run with the zip then the runtime's packages first on sys.path."""
    head = f"import sys; sys.path[:0] = [{str(code)!r}, {str(runtime)!r}]\n"
    return subprocess.run([sys.executable, "-B", "-S", "-I", "-c", head + probe, *args],
                          cwd=code, capture_output=True, text=True, timeout=timeout, env=ENV)
