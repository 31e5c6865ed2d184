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
