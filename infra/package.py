"""`make package`: the prod stack as `chalice package` output, merged with infra, slimmed.

    python -m infra.package --stage prod [--out build/package]

1. infra.build writes build/infra-<stage>.json and the policy files;
2. `chalice package --stage <stage> --merge-template build/infra-<stage>.json <out>`;
3. botocore is removed from deployment.zip: pynamodb pulls it in, the Lambda runtime
   already has it (as requirements.txt says for boto3), and it is ~45% of the zip;
4. every module is compiled to bytecode in the zip (`__pycache__/*.pyc`, unchecked-hash):
   /var/task is read-only, so without it each cold start compiles every module of the app
   and its dependencies from source (bench/app_import.py measures both);
5. prints `deployment_zip_size: <MB> MB`.
"""
from __future__ import annotations

import argparse
import compileall
import os
import py_compile
import tempfile
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Provided by the Lambda Python runtime; never vendored.
RUNTIME_PROVIDED = ("botocore", "boto3", "s3transfer")


def _provided(name: str) -> bool:
    top = name.split("/", 1)[0]
    return any(top == p or (top.startswith(p + "-") and top.endswith(".dist-info"))
               for p in RUNTIME_PROVIDED)


def slim(zip_path: Path) -> int:
    """Rewrite the zip without runtime-provided packages and with every module's bytecode;
    returns entries removed."""
    tmp = zip_path.with_suffix(".slim")
    removed = 0
    with tempfile.TemporaryDirectory() as scratch, zipfile.ZipFile(zip_path) as src:
        root = Path(scratch)
        kept = []
        for info in src.infolist():
            if _provided(info.filename):
                removed += 1
                continue
            kept.append(info)
            src.extract(info, root)
        compile_bytecode(root)
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
            for info in kept:
                dst.writestr(info, (root / info.filename).read_bytes(),
                             compress_type=zipfile.ZIP_DEFLATED)
            for pyc in sorted(root.rglob("__pycache__/*.pyc")):
                name = pyc.relative_to(root).as_posix()
                if name not in src.NameToInfo:
                    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
                    info.external_attr = 0o644 << 16
                    dst.writestr(info, pyc.read_bytes(), compress_type=zipfile.ZIP_DEFLATED)
    tmp.replace(zip_path)
    return removed


def compile_bytecode(root: Path) -> None:
    """Bytecode for every module under root, as Lambda will find it (/var/task/...).
    Unchecked-hash pycs are used without comparing the source's mtime (the zip is
    immutable); a module that does not compile (a vendored package's Python-2-only test
    file) is left as source."""
    compileall.compile_dir(str(root), ddir="/var/task", quiet=2, workers=1,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)


# Chalice keeps the built dependencies here, keyed by a hash of requirements.txt (and
# vendor/); packaging a scratch copy reuses and refills the checkout's cache.
CACHE = ROOT / ".chalice" / "deployments"


def _sync(src: Path, dst: Path) -> None:
    if src.is_dir():
        dst.mkdir(parents=True, exist_ok=True)
        for f in src.glob("*.zip"):
            if not (dst / f.name).exists():
                shutil.copy2(f, dst / f.name)


def package(stage: str, project: Path = ROOT, out: Path | None = None) -> Path:
    """Build and package in `project` (a checkout); returns the output directory."""
    out = out or project / "build" / "package"
    own_cache = project / ".chalice" / "deployments"
    if own_cache.resolve() != CACHE.resolve():
        _sync(CACHE, own_cache)
    env = {**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "eu-west-2"),
           "RECOUP_STAGE": stage}
    env.pop("RECOUP_TABLE_PREFIX", None)
    env.pop("AWS_ENDPOINT_URL", None)
    run = dict(cwd=project, env=env, check=True)
    subprocess.run([sys.executable, "-m", "infra.build", "--stage", stage], **run,
                   stdout=subprocess.DEVNULL)
    if out.exists():
        shutil.rmtree(out)
    chalice = "import sys; from chalice.cli import main; sys.exit(main())"
    subprocess.run([sys.executable, "-c", chalice, "package", "--stage", stage, "--merge-template",
                    f"build/infra-{stage}.json", str(out)], **run)
    if own_cache.resolve() != CACHE.resolve():
        _sync(own_cache, CACHE)
    check_stage(out / "sam.json", stage)
    slim(out / "deployment.zip")
    return out


def check_stage(sam: Path, stage: str) -> None:
    """Handlers name queues and topics with current_stage() at import (Chalice sets the
    stage's RECOUP_STAGE first); a safety net in case some code reads another variable."""
    from infra.definitions import STAGES, resource_name

    text = sam.read_text()
    wrong = [s for s in (*STAGES, "test", "bench") if s != stage
             and resource_name(s, "") in text]
    if wrong:
        raise SystemExit(f"{sam} names resources of stage(s) {wrong}, not {stage}: package "
                         f"with `make package STAGE={stage}` (it sets RECOUP_STAGE)")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stage", default="prod", choices=("dev", "prod"))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    out = package(args.stage, ROOT, args.out)
    size = (out / "deployment.zip").stat().st_size
    print(f"{out}/sam.json, {out}/deployment.zip")
    print(f"deployment_zip_size: {size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
