"""Trim an installed virtualenv for the action's image: what never runs there goes.

- botocore's API models for every service but the ones we call (ECR, ECR Public, STS): about
  90% of botocore's size. Clients load only their own service's folder, so this is safe; the image
  test creates ECR, ECR Public and STS clients to prove it.
- pip, setuptools and wheel (nothing is installed at run time), tests, caches and type stubs.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

KEEP_SERVICES = {"ecr", "ecr-public", "sts"}
DROP_PACKAGES = ("pip", "setuptools", "wheel", "_distutils_hack")


def main(venv: Path) -> None:
    site = next(venv.glob("lib/python3*/site-packages"))
    before = size(venv)
    data = site / "botocore" / "data"
    for folder in data.iterdir():
        if folder.is_dir() and folder.name not in KEEP_SERVICES:
            shutil.rmtree(folder)
    for name in DROP_PACKAGES:
        for path in [site / name, *site.glob(f"{name}-*.dist-info")]:
            if path.exists():
                shutil.rmtree(path)
    (site / "distutils-precedence.pth").unlink(missing_ok=True)  # setuptools' hook, gone with it
    for pattern in ("**/__pycache__", "**/tests", "**/*.pyi"):
        for path in site.glob(pattern):
            if path.is_dir():
                shutil.rmtree(path)
            else:
                path.unlink()
    for script in ("pip", "pip3", f"pip3.{sys.version_info.minor}"):
        (venv / "bin" / script).unlink(missing_ok=True)
    print(f"trimmed {venv}: {before / 1e6:.1f} MB -> {size(venv) / 1e6:.1f} MB")


def size(root: Path) -> int:
    return sum(path.stat().st_size for path in root.rglob("*") if path.is_file() and not path.is_symlink())


if __name__ == "__main__":
    main(Path(sys.argv[1]))
