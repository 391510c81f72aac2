"""Deployment size: `make package` for prod in a scratch copy, then the zip's size."""
from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SKIP = shutil.ignore_patterns(".venv", ".git", "build", ".local", "__pycache__", "*.pyc",
                              ".pytest_cache", ".hypothesis", "deployments", "node_modules")


def copy_project(dest: Path) -> Path:
    shutil.copytree(ROOT, dest, ignore=SKIP, symlinks=True)
    return dest


def run(full: bool = False) -> None:
    from infra.package import package

    with tempfile.TemporaryDirectory() as tmp:
        out = package("prod", copy_project(Path(tmp) / "recoup"))
        zip_path = out / "deployment.zip"
        with zipfile.ZipFile(zip_path) as z:
            unpacked = sum(i.file_size for i in z.infolist())
        print(f"deployment_zip_size: {zip_path.stat().st_size / 1e6:.1f} MB")
        print(f"deployment_unzipped_size: {unpacked / 1e6:.1f} MB")
