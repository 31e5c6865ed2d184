"""Files that must never be left half-written or readable by others: atomic writes and a lock."""

from __future__ import annotations

import contextlib
import fcntl
import os
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path


def atomic_write(path: Path, data: bytes, *, mode: int = 0o600) -> None:
    """Write `data` to `path` through a temporary file in the same folder and a rename.

    Readers see the old file or the new one, never a part; the temporary file has `mode` from the
    start, so the content is never readable by others even for a moment.
    """
    path = Path(os.path.realpath(path))
    try:
        owner: os.stat_result | None = path.stat()
    except FileNotFoundError:
        owner = None
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, mode)
        if owner is not None and (owner.st_uid, owner.st_gid) != (os.geteuid(), os.getegid()):
            # Keep the file its owner's (root writing a runner user's config must not take it over).
            with contextlib.suppress(PermissionError):
                os.fchown(fd, owner.st_uid, owner.st_gid)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def ensure_private_dir(path: Path) -> None:
    """Create `path` (and parents) if missing; a new folder is 0700. What fails is named in the
    OSError's reason (its strerror): a file where a folder belongs, a folder that cannot be made."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        culprit = _file_on(path)
        if culprit is None:
            raise
        raise OSError(exc.errno, f"{culprit} is a file, not a folder", str(path)) from None
    except OSError as exc:
        where = exc.filename or path
        raise OSError(exc.errno, f"cannot make the folder {where}: {exc.strerror}", str(where)) from None


def _file_on(path: Path) -> Path | None:
    """The first of `path` and its parents, from the root down, that is there but is not a folder."""
    for step in [*reversed(path.parents), path]:
        if step.exists() and not step.is_dir():
            return step
    return None


@contextlib.contextmanager
def locked(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `path + '.lock'` so two writers of `path` take turns. A lock that
    cannot be opened is named in the OSError's reason (its strerror)."""
    lock_path = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    except IsADirectoryError as exc:
        reason = f"its lock file {lock_path} is a folder (remove it: nothing of it is needed)"
        raise OSError(exc.errno, reason, str(lock_path)) from None
    except OSError as exc:
        reason = f"cannot open its lock file {lock_path}: {exc.strerror}"
        raise OSError(exc.errno, reason, str(lock_path)) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


MAX_TEXT_FILE = 16 * 1024 * 1024  # a Dockerfile, a manifest, convox.yml: far more than any real one


class TooLarge(OSError):
    """A text file past the cap, or one that is no regular file (a device, a FIFO): never read whole."""


def read_bounded(path: Path, limit: int = MAX_TEXT_FILE) -> bytes:
    """A regular file's bytes, at most `limit`: a link to /dev/zero or a FIFO is refused as it is
    opened (non-blocking), a file past the cap after `limit` bytes, so neither time nor memory runs on."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise TooLarge(f"{path} is not a regular file")
        data = handle.read(limit + 1)
    if len(data) > limit:
        raise TooLarge(f"{path} is larger than {limit // (1024 * 1024)} MiB")
    return data


def inside(root: Path, path: Path) -> bool:
    """Whether `path`, every link in it followed, is `root` or under it (as `root` resolves)."""
    real, top = Path(os.path.realpath(path)), Path(os.path.realpath(root))
    return real == top or top in real.parents
