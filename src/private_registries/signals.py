"""SIGTERM and SIGINT while a command of ours runs: nothing of ours is left behind.

Python's default SIGTERM ends the process at once, skipping every `finally`: a temporary docker
config (with `auth`) would stay on disk, and a child would go on with DOCKER_CONFIG pointing at it.
So SIGTERM unwinds like Ctrl-C (`Terminated`), and while a child runs both signals go to the child,
which gets a bounded time to end before it is killed; the caller then cleans up and exits.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # the CLI imports this module at start: nothing heavy
    import subprocess
    from types import FrameType

GRACE = 5.0  # seconds a child has to end after a forwarded signal, before it is killed
FORWARDED = (signal.SIGTERM, signal.SIGINT)
P = TypeVar("P", bound="subprocess.Popen[Any]")


class Terminated(BaseException):
    """SIGTERM, raised where the main thread is, as KeyboardInterrupt is for SIGINT."""

    def __init__(self, signum: int = signal.SIGTERM) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


def _in_main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


def _raise_terminated(signum: int, _frame: FrameType | None) -> None:
    raise Terminated(signum)


@contextlib.contextmanager
def terminable() -> Iterator[None]:
    """Within the block SIGTERM unwinds the main thread (every `finally` runs) instead of ending it."""
    if not _in_main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def forwarding(start: Callable[[], P]) -> Iterator[tuple[P, list[int]]]:
    """Starts the child with `start()` and, while the block runs, sends it SIGTERM and SIGINT instead
    of raising here; it has GRACE seconds to end, then it is killed. Yields the child and the
    signals received, in order.

    The handlers are in place before the child starts: a signal sent once the child has shown
    life (as a cancelled job's is) must reach it, not unwind us and kill it. One that comes while
    it starts is held and sent as soon as it exists."""
    received: list[int] = []
    if not _in_main_thread():  # handlers can be set only there; the caller's own unwinding applies
        yield start(), received
        return
    started: list[P] = []
    held: list[int] = []
    timers: list[threading.Timer] = []

    def kill_if_alive() -> None:
        if started[0].poll() is None:
            with contextlib.suppress(ProcessLookupError):
                started[0].kill()

    def send(signum: int) -> None:
        with contextlib.suppress(ProcessLookupError):
            started[0].send_signal(signum)
        if not timers:
            timer = threading.Timer(GRACE, kill_if_alive)
            timer.daemon = True
            timer.start()
            timers.append(timer)

    def forward(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)
        if started:
            send(signum)
        else:
            held.append(signum)

    previous = {signum: signal.signal(signum, forward) for signum in FORWARDED}
    try:
        started.append(start())
        while held:  # once `started` is set a handler sends on its own: only those before are held
            send(held.pop(0))
        yield started[0], received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        for timer in timers:
            timer.cancel()


def raise_received(received: list[int]) -> None:
    """Once the child has ended: unwind as the first signal would have (the caller's cleanup runs)."""
    if not received:
        return
    if received[0] == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(received[0])


def exit_status(returncode: int) -> int:
    """A child's exit status as a shell reports it: 128+n when signal n ended it."""
    return returncode if returncode >= 0 else 128 - returncode
