"""What the main stage did, gathered as it goes, and handed to the workflow at the end: the step's
outputs, the state post needs and the step summary, written even when something failed."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from private_registries import gha
from private_registries.action import summary
from private_registries.action.inputs import as_inputs
from private_registries.action.state import ActionState
from private_registries.builders.spec import BuildFailed
from private_registries.console import Console
from private_registries.credential import Credential
from private_registries.errors import RegistriesError
from private_registries.secret import Secret
from private_registries.services.build import BuildResult
from private_registries.services.check import CheckResult
from private_registries.services.merge import MergeResult


@dataclass
class Report:
    credentials: list[Credential] = field(default_factory=list)
    failures: list[RegistriesError] = field(default_factory=list)
    outputs: dict[str, str | Secret] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    folder: Path | None = None  # where config.json (and the pull secret) went
    state: ActionState | None = None
    built: BuildResult | None = None
    checked: CheckResult | None = None  # the pre-flight alone (`build: false`)
    merged: MergeResult | None = None  # merge-digests

    def fail(self, console: Console, *failures: RegistriesError) -> None:
        named = [as_inputs(failure) for failure in failures]  # `file`, not `-f FILE`
        console.failures(named)
        self.failures += named

    def hand_over(self, env: Mapping[str, str], console: Console) -> None:
        """Outputs and summary: for what did work, even when something failed. A build that ran has
        a part of its own (what was built, or the failing step and the log's tail) unless
        DOCKER_BUILD_SUMMARY turns it off; the pre-flight alone (`build: false`) shows its base images."""
        built = self.built if self.built is not None and self.built.ran else None
        wanted, warning = summary.build_summary_wanted(env)
        if warning and built is not None:
            console.warn(warning)
        # the build's own part quotes its log: its failure here is the first line alone
        quoted = wanted and built is not None and built.error is not None
        failures = [
            failure.message.split("\n", 1)[0]
            if quoted and isinstance(failure, BuildFailed)
            else failure.message
            for failure in self.failures
        ]
        try:
            gha.set_outputs(env, self.outputs)  # the state went out when the logins were written
            console.summary(
                summary.render(
                    self.credentials,
                    failures=failures,
                    base_images=self.checked.digests if self.checked and built is None else {},
                    notes=self.notes,
                    built=built if wanted else None,
                    merged=self.merged,
                )
            )
        except (OSError, RegistriesError) as exc:
            self.fail(console, RegistriesError(f"could not write the step's outputs: {exc}"))
