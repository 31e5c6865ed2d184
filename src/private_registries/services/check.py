"""The pre-flight: can every image a Dockerfile's build pulls be pulled with what the keychain gives?"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, replace
from pathlib import Path

from private_registries import preflight
from private_registries.dockerfile import DockerfileOptions
from private_registries.errors import RegistriesError
from private_registries.keychain import Keychain
from private_registries.preflight import ImageCheck
from private_registries.services.images import DockerfileImages, images


@dataclass(frozen=True)
class CheckResult:
    dockerfile: Path
    checks: tuple[ImageCheck, ...]

    @property
    def ok(self) -> bool:
        return all(check.ok for check in self.checks)

    @property
    def failures(self) -> list[RegistriesError]:
        """Each image's problem, pointing at the line that names it."""
        return [check.problem for check in self.checks if check.problem is not None]

    @property
    def digests(self) -> dict[str, str]:
        """Each image's digest, as the registry gave it ("" where it failed)."""
        return {str(check.base.image): check.digest or "" for check in self.checks}

    def with_local(self, present: Collection[str]) -> CheckResult:
        """The failed images the daemon's image store holds (`present`) are local images: the build
        takes them from there, as `docker build` does, and their registry's answer does not matter."""
        if not present:
            return self
        checks = tuple(
            replace(check, problem=None, digest=None, local=True)
            if not check.ok and str(check.base.image) in present
            else check
            for check in self.checks
        )
        return CheckResult(self.dockerfile, checks)


def check(options: DockerfileOptions, keychain: Keychain) -> CheckResult:
    return check_images(images(options), keychain)


def check_images(found: DockerfileImages, keychain: Keychain) -> CheckResult:
    checks = preflight.check(found.images, keychain, str(found.path))
    return CheckResult(found.path, tuple(checks))
