"""The main stage: everything the inputs ask, in order.

1. Announce every secret with ::add-mask:: as it is read (the masker's hook is set before anything).
2. Read the registries: the `registries` input, the REGISTRY_* entries of `secrets`, and GHCR/ECR
   automatically when an image needs them. A fork's pull request has no secrets: say so, go on.
3. Exchange tokens and check every credential against its registry (concurrently).
4. Pre-flight the Dockerfile's base images; build and push when `context` is set.
5. Write config.json under runner.temp; the pull secret; imagePullSecrets into the manifests;
   the convox.yml passwordEnv exports; DOCKER_CONFIG (the HOST path) for later steps.
6. Outputs, step summary, and the state the post stage needs to undo it all.
"""

from __future__ import annotations

import glob
import json
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from private_registries import dockerconfig, gha, output
from private_registries.action import summary
from private_registries.action.inputs import ActionInputs
from private_registries.config import Registry, merge
from private_registries.credential import Credential
from private_registries.deploy import handover
from private_registries.dockerfile import BaseImage
from private_registries.errors import Failures, InputError, RegistriesError
from private_registries.keychain import Context, automatic
from private_registries.secret import MASKER, Secret
from private_registries.sources import from_secrets, from_text
from private_registries.transport import Transport, TransportOptions

HOME_MOUNT = "/github/home"  # <runner.temp>/_github_home on the host, on every runner


@dataclass
class Outcome:
    """What the stage did, gathered as it goes: for outputs, the summary and the post stage."""

    credentials: list[Credential] = field(default_factory=list)
    failures: list[RegistriesError] = field(default_factory=list)
    outputs: dict[str, str | Secret] = field(default_factory=dict)
    state: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    base_images: dict[str, str] = field(default_factory=dict)
    image_id: str = ""
    pushed: dict[str, str] = field(default_factory=dict)


def run(env: Mapping[str, str], args: Sequence[str] = ()) -> int:
    # Masks first: from here on, every secret is announced the moment it is read.
    MASKER.on_register(gha.add_mask)
    output.configure({"GITHUB_ACTIONS": "true"})
    outcome = Outcome()
    try:
        stage(ActionInputs.from_env(env, args), env, outcome)
    except Failures as failures:
        outcome.failures += failures.errors  # each was reported where it happened, and each counts
    except RegistriesError as error:
        outcome.failures.append(error)
        output.report(error)
    finish(env, outcome)
    return 1 if outcome.failures else 0


def stage(inputs: ActionInputs, env: Mapping[str, str], outcome: Outcome) -> None:
    held = read_registries(inputs, env, outcome)
    context = Context(
        env=env,
        transport=Transport(TransportOptions.from_env(env)),
        github_token=inputs.github_token,
        aws_role_to_assume=inputs.aws_role_to_assume,
        aws_region=inputs.aws_region,
    )
    bases = base_images(inputs, env)
    servers = [base.image.server for base in bases] + [_server(tag) for tag in inputs.tags]
    held = merge(held, automatic(sorted({s for s in servers if s not in {r.server for r in held}}), context))
    log_in(held, context, outcome)
    directory = write_docker_config(inputs, env, outcome)
    if inputs.context:
        build(inputs, bases, context, env, outcome)
    deploy(inputs, env, directory, outcome)
    if inputs.export_docker_config and outcome.outputs.get("docker-config"):
        gha.export_env(env, handover.env_exports(str(outcome.outputs["docker-config"])))


def read_registries(inputs: ActionInputs, env: Mapping[str, str], outcome: Outcome) -> list[Registry]:
    from_inputs = from_text(inputs.registries, "input registries", env)
    from_secret = from_secrets(inputs.secrets, "input secrets", env)
    if not from_secret and is_fork_pull_request(env):
        outcome.notes.append(
            "This is a pull request from a fork: GitHub gives it no secrets, so only the registries "
            "that need none (the job's GITHUB_TOKEN for ghcr.io, the `registries` input) are used."
        )
        output.notice(outcome.notes[-1])
    return merge(from_inputs, from_secret)


def is_fork_pull_request(env: Mapping[str, str]) -> bool:
    if env.get("GITHUB_EVENT_NAME") not in {
        "pull_request",
        "pull_request_review",
        "pull_request_review_comment",
    }:
        return False
    try:
        event = json.loads(Path(env.get("GITHUB_EVENT_PATH", "")).read_text())
        pull = event["pull_request"]
        return bool(pull["head"]["repo"]["full_name"] != pull["base"]["repo"]["full_name"])
    except (OSError, ValueError, KeyError, TypeError):
        return False


def base_images(inputs: ActionInputs, env: Mapping[str, str]) -> list[BaseImage]:
    if not inputs.context:
        return []
    from private_registries import dockerfile
    from private_registries.commands.images import dockerfile_path

    path = dockerfile_path(inputs.context, inputs.file or None)
    # Every stage: the build runs the classic builder, which pulls them all (BuildKit: target=...).
    text = dockerfile.read(path)
    return dockerfile.base_images(text, str(path), inputs.build_args, inputs.platform, all_stages=True)


def log_in(held: list[Registry], context: Context, outcome: Outcome) -> None:
    from private_registries.commands.login import login, show

    if not held:
        output.warn("no registries: nothing to log in to (give the registries or secrets input)")
        return
    logged_in, failures = login(held, context)
    outcome.credentials = [item.credential for item in logged_in]
    if logged_in:
        with output.group(f"Logged in to {len(logged_in)} of {len(held)} registries"):
            show(logged_in)
        for item in logged_in:
            if item.note:  # Docker Hub's pull quota
                output.echo(f"{item.credential.server}: {item.note}")
    for failure in dict.fromkeys(failures):
        output.report(failure)
    outcome.failures += failures
    outcome.outputs["registries"] = json.dumps(
        [
            {
                "server": c.server,
                "username": c.username,
                "type": str(c.registry.type),
                "expires-at": c.expires_at.isoformat() if c.expires_at else (c.lifetime or ""),
            }
            for c in outcome.credentials
        ]
    )


def write_docker_config(inputs: ActionInputs, env: Mapping[str, str], outcome: Outcome) -> Path | None:
    """config.json in a folder of its own under runner.temp, given to the runner user."""
    if not outcome.credentials:
        return None
    mount = Path(handover.RUNNER_TEMP_MOUNT)
    base, host_base = (
        (mount, inputs.runner_temp)
        if mount.is_dir()
        else (Path(HOME_MOUNT), f"{inputs.runner_temp}/_github_home")
    )
    directory = base / f"private-registries-{secrets.token_hex(4)}"
    report = dockerconfig.merge(directory, outcome.credentials)
    handover.give_to_runner([directory, report.path, report.path.with_name("config.json.lock")])
    host = handover.host_path(directory, host_base, mount=str(base)) if inputs.runner_temp else ""
    if not host:
        output.warn(
            "the host path of runner.temp is unknown (the runner-temp input is empty): "
            "DOCKER_CONFIG cannot be handed to later steps"
        )
    outcome.outputs["docker-config"] = host
    outcome.outputs["dockerconfigjson"] = handover.outputs(outcome.credentials, host)["dockerconfigjson"]
    outcome.state.update(
        {
            "docker_config": str(directory),
            "docker_config_host": host,
            "created_docker_config": "true",
            "keys": json.dumps(report.written),
            "logout": "true" if inputs.logout else "false",
        }
    )
    return directory


def build(
    inputs: ActionInputs, bases: list[BaseImage], context: Context, env: Mapping[str, str], outcome: Outcome
) -> None:
    from private_registries.build import BuildOptions
    from private_registries.commands.build import build_image

    options = BuildOptions(
        context=Path(inputs.context),
        dockerfile=Path(inputs.file) if inputs.file else None,
        tags=list(inputs.tags),
        build_args=inputs.build_args,
        labels=inputs.labels,
        target=inputs.target,
        platform=inputs.platform,
        pull=inputs.pull,
    )
    good = [c.registry for c in outcome.credentials]
    built = build_image(
        options,
        bases,
        good,
        context,
        env,
        check=inputs.check,
        push_tags=inputs.push,
        credentials=outcome.credentials,
    )
    outcome.image_id, outcome.pushed, outcome.base_images = built.image_id, built.pushed, built.base_images
    outcome.outputs.update(
        {"image-id": built.image_id, "digest": built.digest, "base-images": json.dumps(built.base_images)}
    )


def deploy(inputs: ActionInputs, env: Mapping[str, str], directory: Path | None, outcome: Outcome) -> None:
    """The pull secret, imagePullSecrets in the manifests, and convox.yml's passwordEnv exports."""
    from private_registries.deploy import convox, kubernetes, manifests

    if not outcome.credentials or directory is None:
        return
    usable, _ = kubernetes.usable(outcome.credentials)
    if usable:
        secret = kubernetes.build_secret(usable, inputs.pull_secret_name, inputs.namespace or None)
        path = directory / "pull-secret.yaml"
        from private_registries.fsutil import atomic_write

        atomic_write(path, kubernetes.render(secret).encode())
        handover.give_to_runner([path])
        outcome.state["pull_secret_file"] = str(path)
        if outcome.outputs.get("docker-config"):
            outcome.outputs["pull-secret-file"] = f"{outcome.outputs['docker-config']}/pull-secret.yaml"
        for warning in kubernetes.expiry_warnings(usable):
            output.warn(warning)
    if inputs.manifests:
        paths = sorted({Path(p) for pattern in inputs.manifests for p in glob.glob(pattern, recursive=True)})
        if not paths:
            raise InputError(f"input manifests: no file matches {', '.join(inputs.manifests)}")
        results = manifests.inject_files(
            paths, inputs.pull_secret_name, [c.server for c in outcome.credentials]
        )
        changed = [str(r.path) for r in results if r.changed]
        output.echo(
            f"imagePullSecrets {inputs.pull_secret_name} added in {len(changed)} of {len(paths)} manifests"
        )
    if inputs.convox_file:
        manifest = convox.load(Path(inputs.convox_file))
        entries, problems = convox.validate(manifest)
        exports, more = convox.convox_exports(manifest, entries, outcome.credentials, env)
        for problem in problems + more:
            outcome.failures.append(InputError(problem))
            output.error(problem)
        if exports:
            gha.export_env(env, exports)


def finish(env: Mapping[str, str], outcome: Outcome) -> None:
    """Outputs, summary and state: written even when something failed, for what did work."""
    try:
        gha.set_outputs(env, outcome.outputs)
        gha.save_state(env, outcome.state)
        gha.append_summary(
            summary.render(
                outcome.credentials,
                failures=[f.message for f in outcome.failures],
                base_images=outcome.base_images,
                image_id=outcome.image_id,
                pushed=outcome.pushed,
                notes=outcome.notes,
            ),
            env,
        )
    except (OSError, RegistriesError) as exc:
        output.error(f"could not write the step's outputs: {exc}")
        outcome.failures.append(RegistriesError(str(exc)))


def _server(tag: str) -> str:
    from private_registries.images import parse_image

    return parse_image(tag, f"input tags: {tag!r}").server
