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
from private_registries.console import Console
from private_registries.credential import Credential
from private_registries.errors import RegistriesError
from private_registries.secret import Secret
from private_registries.services.build import BuildResult
from private_registries.services.check import CheckResult


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

    def fail(self, console: Console, *failures: RegistriesError) -> None:
        named = [as_inputs(failure) for failure in failures]  # `file`, not `-f FILE`
        console.failures(named)
        self.failures += named

    def hand_over(self, env: Mapping[str, str], console: Console) -> None:
        """Outputs and summary: for what did work, even when something failed."""
        built = self.built
        checked = built.checked if built and built.image_id else self.checked
        try:
            gha.set_outputs(env, self.outputs)  # the state went out when the logins were written
            console.summary(
                summary.render(
                    self.credentials,
                    failures=[failure.message for failure in self.failures],
                    base_images=checked.digests if checked else {},
                    image_id=built.image_id if built else "",
                    pushed=built.pushed if built else {},
                    notes=self.notes,
                )
            )
        except (OSError, RegistriesError) as exc:
            self.fail(console, RegistriesError(f"could not write the step's outputs: {exc}"))
