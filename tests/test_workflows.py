"""The workflows we ship and the ones the README shows: valid against GitHub's workflow schema
(check-jsonschema's vendored copy), clean under zizmor's offline audits, their `run:` scripts valid
shell, and every input and output of the action they use declared in action.yml.

README snippets are fragments: a list of steps, or a job's `permissions` and `steps`; each is wrapped
into the smallest workflow that holds it. Every YAML block of the README is either such a snippet or
a list of registry entries (read with the action's own parser), so a new example cannot slip by.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from private_registries.sources import from_text

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
OURS = ("private-registries/private-registries@", "./", "$/")
# The README names the action by its major tag (`@v1`), as users write it; everything else is
# pinned by commit, as zizmor's default policy wants.
ZIZMOR_README = """\
rules:
  unpinned-uses:
    config:
      policies:
        private-registries/private-registries: ref-pin
"""


def action() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load((REPO / "action.yml").read_text())
    return loaded


def yaml_blocks(text: str) -> Iterator[tuple[int, str]]:
    """(line, text) of each ```yaml block."""
    for match in re.finditer(r"^```yaml\n(.*?)^```$", text, flags=re.MULTILINE | re.DOTALL):
        yield text.count("\n", 0, match.start()) + 1, match.group(1)


def wrap(snippet: Any) -> dict[str, Any] | None:
    """The workflow that holds a README snippet; None: not a workflow snippet."""
    if isinstance(snippet, dict) and "jobs" in snippet:
        return snippet
    if isinstance(snippet, dict) and "steps" in snippet:
        job = {"runs-on": "ubuntu-latest", **snippet}
        return {"name": "readme", "on": "push", "permissions": {}, "jobs": {"example": job}}
    if isinstance(snippet, list) and all(
        isinstance(s, dict) and ("uses" in s or "run" in s) for s in snippet
    ):
        job = {"runs-on": "ubuntu-latest", "permissions": {"contents": "read"}, "steps": snippet}
        return {"name": "readme", "on": "push", "permissions": {}, "jobs": {"example": job}}
    return None


def readme_workflows(folder: Path) -> list[Path]:
    """Each workflow snippet of the README wrapped and written under `folder`, named by its line."""
    folder.mkdir(parents=True, exist_ok=True)
    written, entries = [], 0
    for line, text in yaml_blocks((REPO / "README.md").read_text()):
        snippet = yaml.safe_load(text)
        workflow = wrap(snippet)
        if workflow is None:
            assert isinstance(snippet, list) and all("server" in e for e in snippet), (
                f"README.md line {line}: a YAML block that is neither a workflow snippet nor registry entries"
            )
            env = {e["password-env"]: "x" for e in snippet if "password-env" in e}
            assert from_text(text, f"README.md line {line}", env)
            entries += 1
            continue
        # the snippet's own lines, so its comments (zizmor's ignores) stay with them
        body = text if workflow is snippet else wrapped_text(workflow, text, snippet)
        assert yaml.safe_load(body) == workflow
        path = folder / f"readme-line-{line}.yml"
        path.write_text(body)
        written.append(path)
    assert written and entries, "the README lost its workflow examples or its registry entry"
    return written


def wrapped_text(workflow: dict[str, Any], text: str, snippet: Any) -> str:
    """The wrapper as YAML with the snippet's own lines inside it, indented where they belong."""
    head = yaml.safe_dump({k: v for k, v in workflow.items() if k != "jobs"}, sort_keys=False)
    job = {k: v for k, v in workflow["jobs"]["example"].items() if k not in snippet}
    if isinstance(snippet, list):  # steps
        job = {k: v for k, v in workflow["jobs"]["example"].items() if k != "steps"}
        return f"{head}jobs:\n  example:\n{indent(yaml.safe_dump(job), 4)}    steps:\n{indent(text, 6)}"
    return f"{head}jobs:\n  example:\n{indent(yaml.safe_dump(job), 4)}{indent(text, 4)}"


def indent(text: str, spaces: int) -> str:
    return "".join((" " * spaces + line if line else "") + "\n" for line in text.splitlines())


def shipped_workflows() -> list[Path]:
    return sorted((REPO / ".github" / "workflows").glob("*.yml"))


def tool(*argv: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / argv[0]), *argv[1:]], cwd=cwd, capture_output=True, text=True, check=False, timeout=300
    )


def steps_of(workflow: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Each step, its `env` holding the workflow's and the job's too (as the runner merges them)."""
    for job in workflow.get("jobs", {}).values():
        for step in job.get("steps", []):
            yield {**step, "env": {**workflow.get("env", {}), **job.get("env", {}), **step.get("env", {})}}


def run_scripts(workflow: dict[str, Any]) -> Iterator[str]:
    for step in steps_of(workflow):
        if "run" in step and step.get("shell", "bash") == "bash":
            yield step["run"]


@pytest.fixture(scope="module")
def readme(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return readme_workflows(tmp_path_factory.mktemp("readme") / ".github" / "workflows")


def test_readme_snippets_are_valid_workflows(readme: list[Path]) -> None:
    checked = tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *map(str, readme))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_readme_snippets_pass_zizmor(readme: list[Path], tmp_path: Path) -> None:
    config = tmp_path / "zizmor.yml"
    config.write_text(ZIZMOR_README)
    audited = tool("zizmor", "--offline", "--config", str(config), *map(str, readme))
    assert audited.returncode == 0, audited.stdout + audited.stderr


def test_shipped_workflows_are_valid_and_pass_zizmor() -> None:
    paths = [str(p) for p in shipped_workflows()]
    assert paths
    checked = tool("check-jsonschema", "--builtin-schema", "vendor.github-workflows", *paths)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    audited = tool("zizmor", "--offline", ".github/workflows")
    assert audited.returncode == 0, audited.stdout + audited.stderr


def test_inputs_and_outputs_used_are_declared(readme: list[Path]) -> None:
    declared = action()
    inputs, outputs = set(declared["inputs"]), set(declared["outputs"])
    used_with, used_outputs = set(), set()
    for path in [*readme, *shipped_workflows()]:
        workflow = yaml.safe_load(path.read_text())
        ids = set()
        for step in steps_of(workflow):
            if str(step.get("uses", "")).startswith(OURS):
                assert set(step.get("with", {})) <= inputs, f"{path.name}: {set(step['with']) - inputs}"
                used_with |= set(step.get("with", {}))
                if "registries" in step.get("with", {}):  # entries the action's own parser reads
                    # the step's env as the runner gives it: an expression's value is unknown here
                    env = {k: "x" if "${{" in str(v) else str(v) for k, v in step["env"].items()}
                    assert from_text(step["with"]["registries"], f"{path.name}: registries", env)
                if "id" in step:
                    ids.add(step["id"])
        for step_id, name in re.findall(r"steps\.([\w-]+)\.outputs\.([\w-]+)", path.read_text()):
            if step_id in ids:
                assert name in outputs, f"{path.name}: steps.{step_id}.outputs.{name} is not an output"
                used_outputs.add(name)
    assert {"registries", "secrets", "context", "push"} <= used_with
    assert {"pull-secret-file", "digest", "docker-config"} <= used_outputs


def test_run_scripts_are_shell_and_take_no_expressions(readme: list[Path]) -> None:
    """Each `run:` parses as bash; values reach it through env, never as ${{ }} pasted in."""
    for path in [*readme, *shipped_workflows()]:
        for script in run_scripts(yaml.safe_load(path.read_text())):
            assert "${{" not in script, f"{path.name}: an expression inside a run script"
            parsed = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True, check=False)
            assert parsed.returncode == 0, f"{path.name}: {parsed.stderr}"
