"""A buildx `remote` builder that is a Docker Engine's own BuildKit.

buildx's `docker` driver cannot push by digest (buildx 0.13: "push-by-digest is currently not
implemented for docker driver", on either image store), and no BuildKit image or buildkitd binary can
be had here for a docker-container builder. The daemon's BuildKit can: the docker driver reaches it by
upgrading `POST /grpc` on the Engine API to h2c, then speaking BuildKit's gRPC API over the connection.
This socket does that upgrade for each connection and then passes the bytes through, so
`docker buildx create --driver remote unix://SOCKET` gets a builder that is not the docker driver: on
a daemon with containerd's image store, its image exporter pushes by digest.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from pathlib import Path

from tests.servers.dockerd import Dockerd
from tests.servers.procs import BenchError

_UPGRADE = (
    b"POST /grpc HTTP/1.1\r\nHost: docker\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nContent-Length: 0\r\n\r\n"
)


class DaemonBuildkit:
    def __init__(self, dockerd: Dockerd, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.dockerd = dockerd
        self.path = folder / "buildkit.sock"
        self.address = f"unix://{self.path}"
        self._server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self._server.bind(str(self.path))
        self._server.listen(32)
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def create_builder(self, name: str, docker_config: Path) -> str:
        """`docker buildx create --driver remote` of this socket, kept in `docker_config`'s buildx/."""
        self.dockerd.docker("buildx", "create", "--name", name, "--driver", "remote", self.address,
                            config=docker_config)  # fmt: skip
        return name

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return  # stopped
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        daemon = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            daemon.connect(str(self.dockerd.socket))
            daemon.sendall(_UPGRADE)
            head = b""
            while b"\r\n\r\n" not in head:
                byte = daemon.recv(1)  # byte by byte: nothing of the h2 stream is read past the head
                if not byte or len(head) > 8192:
                    raise BenchError(f"dockerd refused the /grpc upgrade: {head[:200]!r}")
                head += byte
            if not head.startswith(b"HTTP/1.1 101"):
                raise BenchError(f"dockerd refused the /grpc upgrade: {head[:200]!r}")
        except (OSError, BenchError):
            client.close()
            daemon.close()
            return
        with self._lock:
            self._open += [client, daemon]
        threading.Thread(target=_pipe, args=(client, daemon), daemon=True).start()
        _pipe(daemon, client)

    def stop(self) -> None:
        self._server.close()
        with self._lock:
            for connection in self._open:
                with contextlib.suppress(OSError):
                    connection.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)
