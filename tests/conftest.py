import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from private_registries.secret import MASKER

pytest_plugins = ["tests.servers.fixtures", "tests.servers.github_api"]


@pytest.fixture(autouse=True)
def _fresh_masker() -> Iterator[None]:
    """Each test starts with no known secrets, as a new process would."""
    MASKER.clear()
    yield
    MASKER.clear()


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A fresh HOME for commands under test, so nothing touches the real user's files."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    """The environment a command under test gets: explicit, minimal, never this machine's own."""
    return {"HOME": str(home), "PATH": os.environ.get("PATH", ""), "XDG_CONFIG_HOME": str(home / ".config")}


# Where a stage or command that escaped its test's folders would write: the container action's
# mounts (on the host), and the real user's docker and registries config.
OUTSIDE = (
    Path("/github"),
    Path.home() / ".docker" / "config.json",
    Path.home() / ".config" / "private-registries",
)


def _stamp(path: Path) -> tuple[bool, int]:
    try:
        return True, path.stat().st_mtime_ns
    except FileNotFoundError:
        return False, 0


@pytest.fixture(scope="session", autouse=True)
def _nothing_written_outside() -> Iterator[None]:
    """No test writes outside its own temporary folders: these places are as they were at the end."""
    before = {path: _stamp(path) for path in OUTSIDE}
    yield
    changed = [str(path) for path in OUTSIDE if _stamp(path) != before[path]]
    assert not changed, f"the tests wrote outside their temporary folders: {', '.join(changed)}"
