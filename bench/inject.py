"""`registries inject` on a big install manifest, side by side with PyYAML's C loader on the same text.

The manifest: the file named by the first argument or by INJECT_BENCH_MANIFEST (e.g. Argo CD's
install.yaml, argoproj/argo-cd manifests/install.yaml, 1.9 MB: mostly CustomResourceDefinitions and
seven workloads); without one, a stand-in of the same shape is generated (~2 MB). Reports the median
time of the C loader's `load_all`, of `inject_text` (every workload patched, in memory), their ratio
(the goal is 5x at most), and once, the time of the same edit read wholly with ruamel.yaml (what
inject falls back to when the fast reader cannot split the file with certainty).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from bench.common import clean_env, registries, timed
from private_registries.deploy import manifests

GOAL = 5.0


def schema(depth: int, width: int) -> dict[str, Any]:
    """An openAPIV3Schema-like tree, as CRDs carry by the hundred kilobytes."""
    if depth == 0:
        return {"type": "string", "description": "A field of the resource, described at some length here."}
    return {
        "type": "object",
        "description": "An object of the resource.",
        "properties": {f"field{i}": schema(depth - 1, width) for i in range(width)},
        "required": [f"field{i}" for i in range(0, width, 2)],
    }


def stand_in() -> str:
    documents: list[dict[str, Any]] = []
    for n in range(4):
        documents.append(
            {
                "apiVersion": "apiextensions.k8s.io/v1",
                "kind": "CustomResourceDefinition",
                "metadata": {"name": f"things{n}.example.com"},
                "spec": {
                    "group": "example.com",
                    "names": {"kind": f"Thing{n}", "plural": f"things{n}"},
                    "versions": [{"name": "v1", "schema": {"openAPIV3Schema": schema(4, 7)}}],
                },
            }
        )
    for n in range(7):
        container = {"name": "main", "image": f"quay.io/example/app{n}:v1", "args": ["--port=8080"]}
        documents.append(
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": f"app{n}"},
                "spec": {"template": {"spec": {"containers": [container]}}},
            }
        )
        documents.append({"apiVersion": "v1", "kind": "Service", "metadata": {"name": f"app{n}"}})
    return yaml.safe_dump_all(documents, sort_keys=False)


def load(argv: list[str]) -> tuple[str, str]:
    name = argv[0] if argv else os.environ.get("INJECT_BENCH_MANIFEST", "")
    if name:
        return Path(name).read_text(encoding="utf-8"), Path(name).name
    return stand_in(), "generated stand-in"


def main(argv: list[str] | None = None) -> dict[str, str]:
    text, source = load(sys.argv[1:] if argv is None else argv)

    def c_loader() -> object:
        return list(yaml.load_all(text, Loader=yaml.CSafeLoader))

    def inject() -> manifests.TextResult:
        return manifests.inject_text(text, source, "registry-credentials", [], every_workload=True)

    c_time = timed(c_loader, runs=5)
    inject_time = timed(inject, runs=5)
    with tempfile.TemporaryDirectory() as scratch:
        home, path = Path(scratch), Path(scratch) / "install.yaml"
        path.write_text(text, encoding="utf-8")
        env = clean_env(home)
        command_time = timed(lambda: registries("inject", "--all", "--dry-run", str(path), env=env), runs=5)
    result = inject()
    saved = manifests._fast_parts
    manifests._fast_parts = lambda text: None  # type: ignore[assignment]
    try:
        start = time.perf_counter()
        whole = inject()
        full_time = time.perf_counter() - start
    finally:
        manifests._fast_parts = saved
    if whole.after != result.after:
        raise SystemExit("the fast and the full reading edited the manifest differently")
    ratio = inject_time / c_time
    patched = sum(1 for change in result.changes if change.action == "added")
    size = f"{len(text.encode()) / 1e6:.2f} MB, {result.documents} documents"
    return {
        f"inject {source} ({size}): PyYAML C loader": f"{c_time:.2f} s",
        "inject: `registries inject --all --dry-run FILE`, the whole command": (
            f"{command_time:.2f} s = {command_time / c_time:.1f}x the C loader (goal {GOAL:.0f}x)"
        ),
        "inject: the same edit in memory (no start-up)": (
            f"{inject_time:.2f} s = {ratio:.1f}x the C loader; "
            f"{result.reread} documents read with ruamel.yaml, {patched} workloads patched"
        ),
        "inject: the same, read wholly with ruamel.yaml (the fallback)": f"{full_time:.1f} s",
    }


if __name__ == "__main__":
    for measure, value in main().items():
        print(f"{measure}: {value}")
