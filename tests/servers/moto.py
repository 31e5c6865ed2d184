"""moto's server, answering ECR, ECR Public and STS on a loopback port."""

from __future__ import annotations

import sys
from pathlib import Path

import requests

from tests.servers.procs import Process, free_port, wait_until


class MotoServer:
    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = Process(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)], root / "moto.log"
        )
        wait_until(
            lambda: requests.get(f"{self.url}/moto-api/", timeout=1).ok, "moto server", log=root / "moto.log"
        )

    def reset(self) -> None:
        requests.post(f"{self.url}/moto-api/reset", timeout=5)

    def env(self) -> dict[str, str]:
        """What points boto3 at this server, with dummy keys."""
        return {
            "AWS_ENDPOINT_URL_ECR": self.url,
            "AWS_ENDPOINT_URL_ECR_PUBLIC": self.url,
            "AWS_ENDPOINT_URL_STS": self.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
        }

    def stop(self) -> None:
        self.process.stop()
