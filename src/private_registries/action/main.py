"""The main stage: the inputs become the services' options, in order, and their results the step's
outputs, env, summary and the state post needs.

1. Masks first: every secret is announced with ::add-mask:: the moment it is made.
2. The registries of the `registries` and `secrets` inputs; ghcr.io and ECR too when an image needs
   them (the keychain's rule). A run without secrets (a fork's pull request, Dependabot's): say so,
   leave out each entry whose password-env is not set, go on.
3. Log in (every credential checked, concurrently) into the job's DOCKER_CONFIG when this container
   can reach it (left set: the logins and buildx builders of earlier steps stay visible), else into a
   config.json of its own under runner.temp. What it wrote and replaced is recorded for post.
4. With `context`: the pre-flight, then the build and the push. With `merge-digests` instead: the
   multi-platform index of earlier builds' digests, pushed to `tags`.
5. For the deploy step: the pull secret, imagePullSecrets in `manifests`, convox.yml's passwordEnv
   exports, DOCKER_CONFIG (the host's path) when the folder is the action's own.
6. Outputs and summary: written even when something failed, for what did work. The state post needs
   is saved as soon as the logins are written, so a main cancelled during the build is undone too.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

from private_registries import fixes, gha, gitcontext, views
from private_registries.action import handover
from private_registries.action.inputs import ActionInputs, in_workspace
from private_registries.action.report import Report
from private_registries.action.runner import Runner
from private_registries.config import Registry, Withheld, merge
from private_registries.console import Console
from private_registries.context import Context, github_token_from
from private_registries.dockerfile import DockerfileOptions
from private_registries.errors import Failures, RegistriesError
from private_registries.images import parse_image
from private_registries.keychain import Keychain
from private_registries.services.build import build
from private_registries.services.check import check, check_images
from private_registries.services.convox import ConvoxOptions, convox
from private_registries.services.images import DockerfileImages, images, remote_images
from private_registries.services.inject import inject
from private_registries.services.login import LoginOptions, login
from private_registries.services.merge import MergeOptions, merge_annotations, sources_of
from private_registries.services.merge import merge as merge_images
from private_registries.services.pull_secret import pull_secret
from private_registries.sources import from_secrets, from_text
from private_registries.transport import Transport, TransportOptions

# When the job's DOCKER_CONFIG has a credsStore or credHelpers entry that hides a login (the
# action's own folder never has one), in the action's terms.
SHADOWED_FIX = (
    "remove it from that config.json in an earlier step, or give this step env DOCKER_CONFIG: '' "
    "so that the action writes a config.json of its own and sets DOCKER_CONFIG to it for the later steps"
)


def run(env: Mapping[str, str], console: Console, args: Sequence[str] = ()) -> int:
    console.announce_masks()
    report = Report()
    try:
        MainStage(ActionInputs.from_env(env, args), env, console, report).run()
    except Failures as failures:
        report.fail(console, *failures.errors)
    except RegistriesError as error:
        report.fail(console, error)
    report.hand_over(env, console)
    return 1 if report.failures else 0


class MainStage:
    def __init__(
        self, inputs: ActionInputs, env: Mapping[str, str], console: Console, report: Report
    ) -> None:
        self.inputs, self.env, self.console, self.report = inputs, env, console, report
        self.runner = Runner.detect(inputs.runner_temp, env, inputs.workspace)

    def run(self) -> None:
        inputs = self.inputs
        self.console.warn_all(inputs.ignored())
        held = self.read_registries()
        with Keychain(held, self.context()) as keychain:
            servers = [parse_image(tag, f"input tags: {tag!r}").server for tag in inputs.tags]
            merging = inputs.merge_options()
            if merging is not None:
                servers += [parse_image(source).server for source in sources_of(merging)]
                merge_annotations(merging.annotations)  # refused before any login
            dockerfile = inputs.dockerfile()
            if dockerfile is not None:
                servers = self.pulled_servers(dockerfile, keychain) + servers
            self.log_in(merge(held, keychain.entries(servers)), keychain)
            if dockerfile is not None and inputs.build:
                self.build(dockerfile, keychain)
            elif dockerfile is not None:
                self.check(dockerfile, keychain)
            if merging is not None:
                self.merge(merging, keychain)
            if self.report.credentials and self.report.folder is not None:
                self.deploy(self.report.folder, keychain)
        state = self.report.state
        exported = state is not None and not state.merged and inputs.export_docker_config
        if exported and self.report.outputs.get("docker-config"):
            gha.export_env(self.env, {"DOCKER_CONFIG": self.report.outputs["docker-config"]})

    def context(self) -> Context:
        return Context(
            env=self.env,
            transport=Transport(TransportOptions.from_env(self.env)),
            github_token=self.inputs.github_token or github_token_from(self.env),
            aws_role_to_assume=self.inputs.aws_role_to_assume,
            gcp_workload_identity_provider=self.inputs.gcp_workload_identity_provider,
            gcp_service_account=self.inputs.gcp_service_account,
            azure_client_id=self.inputs.azure_client_id,
            azure_tenant_id=self.inputs.azure_tenant_id,
            aws_region=self.inputs.aws_region,
            fork_pull_request=gha.is_fork_pull_request(self.env),
        )

    def read_registries(self) -> list[Registry]:
        """The inputs' registries; a warning for each REGISTRY_* secret that is no registry entry
        (skipped); in a run without secrets or OIDC token, a notice for each entry left out (its
        password-env is not set, or it is keyless) and one when the secrets input holds no registry."""
        withheld: list[Withheld] = []
        skipped: list[str] = []
        from_inputs = from_text(self.inputs.registries, "input registries", self.env, withheld=withheld)
        from_secret = from_secrets(
            self.inputs.secrets, "input secrets", self.env, withheld=withheld, skipped=skipped
        )
        for warning in skipped:
            self.report.notes.append(warning)
            self.console.warn(warning)
        notices = [left_out.message for left_out in withheld]
        reason = gha.secrets_withheld(self.env)
        if not from_secret and reason:
            notices.append(fixes.no_secrets(reason))
        for notice in notices:
            self.report.notes.append(notice)
            self.console.notice(notice)
        return merge(from_inputs, from_secret)

    def pulled_servers(self, dockerfile: DockerfileOptions, keychain: Keychain) -> list[str]:
        """The registries the Dockerfile pulls from, every stage's; a Git context's as the GitHub API
        gives its Dockerfile (none when it cannot: the build says why, and gets every held registry)."""
        remote, every = self.inputs.remote, replace(dockerfile, all_stages=True)
        if remote is None:
            return images(every).servers
        found = remote_images(every, remote, keychain.context) if self.inputs.check else None
        return found.servers if isinstance(found, DockerfileImages) else []

    def log_in(self, registries: list[Registry], keychain: Keychain) -> None:
        console, report = self.console, self.report
        if not registries:
            console.warn("no registries: nothing to log in to (give the registries or secrets input)")
            return
        where, warnings = handover.destination(self.runner, self.env, export=self.inputs.export_docker_config)
        console.warn_all(warnings)
        servers = [registry.server for registry in registries]
        options = LoginOptions(servers=servers, docker_config=where.config_dir, shadowed_fix=SHADOWED_FIX)
        result = login(options, keychain)
        report.credentials = result.credentials
        if result.logins:
            with console.group(f"Logged in to {len(result.logins)} of {len(registries)} registries"):
                views.logins(console, result)
        console.warn_all(result.warnings)
        report.fail(console, *result.failures)
        report.outputs["registries"] = json.dumps(views.registries_json(result.credentials))
        if result.config is None:
            return
        state = handover.record(
            where, self.runner, result.credentials, result.config, logout=self.inputs.logout
        )
        # saved now, not at the end: a main cancelled or failed later (in the build) is still undone
        state.save(self.env)
        if not state.docker_config_host:
            console.warn(
                "the host path of runner.temp is unknown (the runner-temp input is empty): "
                "DOCKER_CONFIG cannot be handed to later steps"
            )
        elif where.merged:
            host = state.docker_config_host
            console.echo(f"Merged into the job's DOCKER_CONFIG ({host}): DOCKER_CONFIG is left as it is")
        report.folder = where.folder
        report.outputs["docker-config"] = state.docker_config_host
        report.state = state

    def build(self, dockerfile: DockerfileOptions, keychain: Keychain) -> None:
        options = self.inputs.build_options(dockerfile)
        self.report.built = result = build(options, keychain, views.BuildLog(self.console))
        self.report.fail(self.console, *result.failures)
        if result.built:  # a local or tar output builds no image: its ID and digest are empty
            self.report.outputs.update(
                {
                    "image-id": result.image_id,
                    "imageid": result.image_id,
                    "digest": result.digest,
                    "metadata": json.dumps(result.metadata),
                    "base-images": json.dumps(result.base_images),
                }
            )

    def merge(self, options: MergeOptions, keychain: Keychain) -> None:
        """`merge-digests`: the multi-platform index of the builds' digests, pushed to every tag."""
        result = merge_images(options, keychain, views.BuildLog(self.console))
        self.console.echo(f"Merged {len(result.sources)} images into {result.digest}")
        for tag, digest in result.pushed.items():
            self.console.echo(f"Pushed {tag}@{digest}")
        self.report.outputs["digest"] = result.digest
        self.report.merged = result

    def check(self, dockerfile: DockerfileOptions, keychain: Keychain) -> None:
        """`build: false`: the pre-flight alone, each failure an annotation on its Dockerfile line."""
        remote = self.inputs.remote
        if remote is None:
            result = check(dockerfile, keychain)
        else:  # a Git context: its Dockerfile as the GitHub API gives it
            found = remote_images(dockerfile, remote, keychain.context)
            if isinstance(found, str):
                self.console.notice(gitcontext.skipped(remote, found))
                return
            result = check_images(found, keychain)
        views.checks(self.console, result)
        self.report.checked = result
        self.report.fail(self.console, *result.failures)
        self.report.outputs["base-images"] = json.dumps(result.digests)

    def deploy(self, folder: Path, keychain: Keychain) -> None:
        """The pull secret, imagePullSecrets in the manifests, and convox.yml's passwordEnv exports."""
        inputs, console, report = self.inputs, self.console, self.report
        secret = pull_secret(inputs.pull_secret_options(folder), report.credentials)
        console.warn_all(secret.warnings)
        if secret.written:
            self.runner.give([secret.written])
            report.outputs["dockerconfigjson"] = secret.dockerconfigjson
            if report.outputs.get("docker-config"):
                report.outputs["pull-secret-file"] = self.runner.host_path(secret.written)
        if inputs.manifests:
            injection = inputs.inject_options([credential.server for credential in report.credentials])
            views.injected(console, inject(injection), injection)
        if inputs.convox_file:
            file = in_workspace(Path(inputs.convox_file), "input convox-file", inputs.workspace_root)
            result = convox(ConvoxOptions(file=file), keychain)
            if result.exports:
                gha.export_env(self.env, result.exports)
            views.convox(console, result, exported=True)
            report.failures += result.errors  # views.convox printed them
