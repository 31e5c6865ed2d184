"""The `registries` command line. Parsing only: each command's module is imported when it runs,
so `registries --version` and `registries list` never load boto3, docker or PyGithub."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from private_registries import __version__, signals
from private_registries.console import Console
from private_registries.deploy import names
from private_registries.errors import Failures, RegistriesError
from private_registries.secret import MASKER

# command -> "module:function" under private_registries.commands
COMMANDS = {
    "list": "manage:list_",
    "add": "manage:add",
    "remove": "manage:remove",
    "login": "login:run",
    "images": "images:run",
    "check": "check:run",
    "build": "build:run",
    "merge": "merge:run",
    "exec": "run:run",
    "action": "action:run",
    "pull-secret": "pullsecret:run",
    "inject": "inject:run",
    "convox": "convox:run",
}
# pull-secret announces on stderr when its stdout is the Secret; the action's stages always announce.
ANNOUNCE_THEMSELVES = frozenset({"pull-secret", "action"})
TYPES = ("auto", "basic", "dockerhub", "ghcr", "ecr", "ecr-public", "gcp", "acr")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="registries",
        description="Credentials for private container registries: store them, log in, build, hand them on.",
    )
    parser.add_argument("--version", action="version", version=f"registries {__version__}")

    store = argparse.ArgumentParser(add_help=False)
    group = store.add_argument_group("where registries are kept (default: a local file)")
    group.add_argument("--repo", metavar="OWNER/NAME", help="GitHub Actions secrets of this repository")
    group.add_argument(
        "--env", dest="environment", metavar="ENVIRONMENT", help="with --repo: of this environment"
    )
    group.add_argument("--org", metavar="ORG", help="GitHub Actions secrets of this organization")
    group.add_argument("--store", type=Path, metavar="FILE", help="the local store file to use")

    extra = argparse.ArgumentParser(add_help=False)
    extra.add_argument(
        "--registries",
        action="append",
        metavar="FILE",
        help="also use the entries of this YAML or JSON file (may be repeated)",
    )

    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    listing = commands.add_parser(
        "list", parents=[store, extra], help="list the registries (SERVER  USERNAME)"
    )
    listing.add_argument("--json", action="store_true", help="as JSON (never with passwords)")

    add = commands.add_parser("add", parents=[store], help="add (or replace) a registry's credentials")
    add.add_argument("server", metavar="SERVER", help="host[:port], e.g. registry.example.org")
    add.add_argument("username", metavar="USERNAME")
    add.add_argument(
        "password", metavar="PASSWORD", help="the password or token; - reads it from standard input"
    )
    add.add_argument("--type", choices=TYPES, help="the kind of registry (default: told from the host)")
    add.add_argument("--aws-region", metavar="REGION", help="ecr: the region, when the host does not say")
    add.add_argument("--aws-account", metavar="ACCOUNT", help="ecr: the account, when the host does not say")
    add.add_argument(
        "--aws-role-to-assume", metavar="ARN", help="ecr: a role to assume with the job's OIDC token"
    )
    add.add_argument("--insecure", action="store_true", help="allow plain HTTP to this registry")

    remove = commands.add_parser("remove", parents=[store], help="forget a registry")
    remove.add_argument("server", metavar="SERVER")

    login = commands.add_parser(
        "login", parents=[store, extra], help="check every credential and write them to docker's config.json"
    )
    login.add_argument(
        "--docker-config",
        metavar="DIR",
        help="the folder of config.json (default: $DOCKER_CONFIG, else ~/.docker)",
    )
    identity_defaults(login)

    deploy_parsers(commands, store, extra)

    build_parsers(commands, store, extra)

    action = commands.add_parser(
        "action", help="the GitHub Action's stages (the action's entrypoint runs them)"
    )
    action.add_argument("stage", choices=["main", "post"])
    action.add_argument(
        "args", nargs="*", help="the action's args: the host paths of runner.temp and of the workspace"
    )
    return parser


def deploy_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    store: argparse.ArgumentParser,
    extra: argparse.ArgumentParser,
) -> None:
    """pull-secret, inject and convox: the pull secrets handed on to the deploy step."""
    pull_secret = commands.add_parser(
        "pull-secret",
        parents=[store, extra],
        help="a Kubernetes dockerconfigjson Secret of the registries (as kubectl create secret makes it)",
    )
    pull_secret.add_argument("--name", default=names.DEFAULT_SECRET_NAME, help="the Secret's name")
    pull_secret.add_argument("--namespace", metavar="NS", help="the Secret's namespace")
    pull_secret.add_argument(
        "-o", "--output", metavar="FILE", help="write it to FILE (mode 0600), not stdout"
    )
    pull_secret.add_argument("--format", choices=("yaml", "json"), default="yaml")
    pull_secret.add_argument(
        "--for",
        dest="for_files",
        nargs="+",
        action="extend",
        metavar="FILE",
        help="only the registries that the images in these manifests come from",
    )
    workload_kinds(pull_secret)
    refresh = pull_secret.add_argument_group("ECR refresher (a CronJob renewing the Secret every 6 hours)")
    refresh.add_argument("--refresher", action="store_true", help="emit the refresher's manifests instead")
    refresh.add_argument("--image", metavar="IMAGE", help="the image it runs (default: this version's)")
    refresh.add_argument("--schedule", default=names.REFRESH_SCHEDULE, help="its cron schedule (%(default)s)")
    refresh.add_argument("--irsa-role-arn", metavar="ARN", help="annotate its ServiceAccount for IRSA")
    refresh.add_argument(
        "--apply", action="store_true", help="inside the cluster: write the Secret through the Kubernetes API"
    )
    refresh.add_argument(
        "--service-account-dir",
        default=names.SERVICEACCOUNT_DIR,
        metavar="DIR",
        help="with --apply: the pod's service-account token, ca.crt and namespace",
    )
    identity_defaults(pull_secret)

    inject = commands.add_parser(
        "inject", parents=[store, extra], help="add imagePullSecrets to the workloads in manifests, in place"
    )
    inject.add_argument("files", nargs="+", metavar="FILE", help="Kubernetes manifests (multi-document YAML)")
    inject.add_argument("--name", default=names.DEFAULT_SECRET_NAME, help="the Secret's name (%(default)s)")
    inject.add_argument(
        "--all",
        action="store_true",
        help="every workload, not only those whose images come from a held registry",
    )
    inject.add_argument(
        "--service-account",
        action="store_true",
        help="also ServiceAccounts (they reach a pod only if the pod lists no imagePullSecrets)",
    )
    inject.add_argument("--dry-run", action="store_true", help="show the diff; change nothing")
    inject.add_argument(
        "-v", "--verbose", action="store_true", help="every object, left untouched or not, and why"
    )
    workload_kinds(inject)

    convox = commands.add_parser(
        "convox", parents=[store, extra], help="check convox.yml imagePullSecrets; export their passwordEnv"
    )
    convox.add_argument("file", nargs="?", metavar="FILE", help="the convox.yml (default: ./convox.yml)")
    convox.add_argument(
        "--write", action="store_true", help="add the entries that registries we hold lack (with passwordEnv)"
    )
    identity_defaults(convox)


def workload_kinds(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--kind",
        dest="kinds",
        action="append",
        default=[],
        metavar="KIND[.GROUP]=PATH",
        help="also a workload of this kind, its pod spec at PATH "
        "(e.g. Rollout.argoproj.io=spec.template.spec); may be repeated",
    )


def build_parsers(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    store: argparse.ArgumentParser,
    extra: argparse.ArgumentParser,
) -> None:
    """images, check, build and exec: the build's images, their pre-flight, the build, any command."""
    images = commands.add_parser(
        "images",
        help="the images a build pulls, read from its Dockerfile (a Git URL's through the GitHub API)",
    )
    context_argument(images)
    dockerfile_options(images)
    images.add_argument("--json", action="store_true", help="as JSON: a list of {image, instruction, line}")

    check = commands.add_parser(
        "check", parents=[store, extra], help="pre-flight: can every base image of the Dockerfile be pulled?"
    )
    context_argument(check)
    dockerfile_options(check)
    identity_defaults(check)

    build = commands.add_parser(
        "build",
        parents=[store, extra],
        help="build with authenticated base-image pulls (BuildKit); arguments after -- go to buildx",
    )
    build.add_argument("context", metavar="CONTEXT", help="the build context")
    dockerfile_options(build, many_platforms=True)
    build.add_argument(
        "-t", "--tag", action="append", default=[], metavar="TAG", help="name the image (may be repeated)"
    )
    build.add_argument("--label", action="append", metavar="KEY=VALUE", help="a label (may be repeated)")
    build.add_argument("--pull", action="store_true", help="always pull newer base images")
    build.add_argument("--no-cache", action="store_true", help="do not use the build cache")
    build.add_argument("--push", action="store_true", help="push every tag with its registry's credential")
    build.add_argument(
        "--push-by-digest",
        action="store_true",
        help="push by digest only, to the first tag's repository (no tag is pushed): one platform of an "
        "image built across runners, for registries merge",
    )
    build.add_argument("--no-check", action="store_true", help="skip the pre-flight check")
    build.add_argument(
        "--engine",
        choices=("auto", "buildkit", "classic"),
        default="auto",
        help="buildkit: the docker CLI's buildx (or its own BuildKit); classic: the Engine API's legacy "
        "builder; auto (default): BuildKit when the CLI can, else classic",
    )
    buildx = build.add_argument_group("BuildKit options (as buildx and docker/build-push-action name them)")
    for flag, text in (
        ("--cache-from", "import the build cache from here (type=registry,ref=IMAGE, ...)"),
        ("--cache-to", "export the build cache there"),
        ("--secret", "a secret for RUN --mount=type=secret: id=NAME,src=FILE or id=NAME,env=VARIABLE"),
        ("--ssh", "an SSH agent or keys for RUN --mount=type=ssh: default, or ID=SOCKET|KEY"),
        ("--build-context", "an extra build context: NAME=PATH|IMAGE|URL"),
        ("--annotation", "an annotation of the image"),
        ("--add-host", "a host-to-IP mapping of RUN steps: HOST:IP"),
        ("--allow", "an extra privileged entitlement: network.host, security.insecure"),
        ("--attest", "attestation parameters: type=sbom,generator=IMAGE, type=provenance,mode=max"),
        ("--no-cache-filter", "a stage built without the cache"),
        ("--ulimit", "a ulimit of RUN steps: nofile=1024:1024"),
    ):
        buildx.add_argument(
            flag, action="append", default=[], metavar="VALUE", help=text + " (may be repeated)"
        )
    buildx.add_argument(
        "-o", "--output", action="append", default=[], metavar="VALUE", help="where the result goes"
    )
    buildx.add_argument("--load", action="store_true", help="load the image into the daemon (buildx)")
    buildx.add_argument(
        "--provenance", metavar="VALUE", help="provenance attestation (true, false, mode=max)"
    )
    buildx.add_argument("--sbom", metavar="VALUE", help="SBOM attestation (true, false)")
    buildx.add_argument("--network", metavar="MODE", help="the network of RUN steps (default, host, none)")
    buildx.add_argument("--builder", metavar="NAME", help="the buildx builder instance to use")
    buildx.add_argument(
        "--call", metavar="METHOD", help="evaluate the build instead (check, outline, targets; buildx 0.14+)"
    )
    buildx.add_argument("--cgroup-parent", metavar="CGROUP", help="the parent cgroup of RUN steps")
    buildx.add_argument("--shm-size", metavar="SIZE", help="the size of /dev/shm in RUN steps, e.g. 2g")
    buildx.add_argument("--metadata-file", metavar="FILE", help="write the build's metadata (JSON) there")
    identity_defaults(build)

    merge = commands.add_parser(
        "merge",
        parents=[store, extra],
        help="make the multi-platform index of images pushed by digest, and push it to every tag",
    )
    merge.add_argument(
        "-t", "--tag", action="append", default=[], metavar="TAG", help="push the index there (repeatable)"
    )
    merge.add_argument(
        "--annotation",
        action="append",
        default=[],
        metavar="[LEVEL:]KEY=VALUE",
        help="an annotation of the index (index:, the default) or of its platforms' entries "
        "(manifest-descriptor:); repeatable",
    )
    merge.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE",
        help="an image to merge: REPO@sha256:..., or sha256:... alone (in the first tag's repository)",
    )
    identity_defaults(merge)

    run = commands.add_parser(
        "exec",
        parents=[store, extra],
        help="run a command with the registries' credentials in a temporary docker config",
    )
    run.add_argument("argv", nargs=argparse.REMAINDER, metavar="-- CMD ARGS", help="the command to run")
    identity_defaults(run)


def context_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "context", metavar="CONTEXT", nargs="?", default=".", help="the build context (default: .)"
    )


def dockerfile_options(parser: argparse.ArgumentParser, *, many_platforms: bool = False) -> None:
    parser.add_argument("-f", "--file", metavar="FILE", help="the Dockerfile (default: CONTEXT/Dockerfile)")
    parser.add_argument(
        "--build-arg", action="append", metavar="NAME=VALUE", help="a build arg (may be repeated)"
    )
    parser.add_argument("--target", metavar="STAGE", help="the stage to build (default: the last)")
    if many_platforms:
        parser.add_argument(
            "--platform",
            dest="platforms",
            action="append",
            default=[],
            metavar="PLATFORM",
            help="target platform, e.g. linux/amd64 (several: repeat it, or list them with commas)",
        )
    else:
        parser.add_argument("--platform", metavar="PLATFORM", help="target platform, e.g. linux/amd64")
        parser.add_argument(
            "--all-stages", action="store_true", help="every stage's images, not only those the target needs"
        )
        parser.add_argument(
            "--build-context",
            action="append",
            default=[],
            metavar="NAME=VALUE",
            help="a named build context, as the build gets it (it replaces the stage or image NAME; "
            "docker-image://REF is checked instead); may be repeated",
        )


def identity_defaults(parser: argparse.ArgumentParser) -> None:
    """The cloud identities of the job: for every ECR, GAR or ACR entry that names none of its own
    (and for their images that no entry names)."""
    group = parser.add_argument_group("cloud identity defaults")
    group.add_argument(
        "--aws-role-to-assume",
        metavar="ARN",
        help="assume this role with the job's OIDC token for ECR entries",
    )
    group.add_argument(
        "--aws-region", metavar="REGION", help="region for ECR entries whose host does not tell"
    )
    group.add_argument(
        "--gcp-workload-identity-provider",
        metavar="NAME",
        help="gcp: the workload identity provider that takes the job's OIDC token "
        "(projects/N/locations/global/workloadIdentityPools/P/providers/R)",
    )
    group.add_argument("--gcp-service-account", metavar="EMAIL", help="gcp: a service account to impersonate")
    group.add_argument(
        "--azure-client-id",
        metavar="UUID",
        help="acr: the app (or managed identity) the job's token logs in as",
    )
    group.add_argument("--azure-tenant-id", metavar="UUID", help="acr: its tenant")


def parse(argv: Sequence[str]) -> argparse.Namespace:
    argv = list(argv)
    # `registries` alone, or with list's options only, is `registries list` (as `convox registries`).
    if not argv or (argv[0].startswith("-") and argv[0] not in {"-h", "--help", "--version"}):
        argv.insert(0, "list")
    # After `--`: buildx's own arguments (build), or the command to run (exec), taken as they are.
    after: list[str] = []
    if argv[0] in {"build", "exec"} and "--" in argv:
        at = argv.index("--")
        argv, after = argv[:at], argv[at + 1 :]
    args = build_parser().parse_args(argv)
    if args.command == "exec":
        args.argv = [*args.argv, *after]
    args.extra_args = after if args.command == "build" else []
    return args


def main(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    env = dict(os.environ if env is None else env)
    console = Console.for_env(env)
    try:
        args = parse(sys.argv[1:] if argv is None else argv)
        if args.command == "action":
            console = Console.for_env(env, ci=True)  # the action's stages speak to the runner, always
        elif args.command not in ANNOUNCE_THEMSELVES:
            console.announce_masks()  # every secret, and each form derived from it, masked as it is made
        module_name, function_name = COMMANDS[args.command].split(":")
        module = importlib.import_module(f"private_registries.commands.{module_name}")
        with signals.terminable():  # SIGTERM unwinds: no temporary config is left behind
            exit_code: int = getattr(module, function_name)(args, env, console)
        return exit_code
    except Failures as failures:
        console.failures(failures.errors)
        return failures.exit_code
    except RegistriesError as error:
        console.failure(error)
        return error.exit_code
    except (KeyboardInterrupt, signals.Terminated) as stopped:  # after every `finally` has run
        terminated = isinstance(stopped, signals.Terminated)
        console.echo(f"terminated ({stopped})" if terminated else "interrupted", err=True)
        return stopped.exit_code if isinstance(stopped, signals.Terminated) else 130
    except BrokenPipeError:
        return 141
    except Exception as exc:  # what no face caught is a bug: said once, here, without a traceback
        console.error(
            f"internal error ({type(exc).__name__}): {MASKER.redact(str(exc))[:500]}\n"
            "  this is a bug in private-registries; please report it with the command you ran"
        )
        return 70
