"""The work itself, one module per job, shared by the two faces (the CLI's commands and the action).

Each takes a frozen, keyword-only options record (and the keychain, for those that need
credentials) and returns a result record: what was written, each registry's or image's outcome,
warnings as `Caveat`s. They print nothing and read neither os.environ nor the command line.

    images       the images a Dockerfile's build pulls (no network)
    check        the pre-flight: can each of them be pulled with what the keychain gives?
    build        pre-flight, build, push
    login        check every credential, merge the good ones into a docker config
    pull_secret  the Kubernetes pull Secret of some credentials
    inject       imagePullSecrets into the workloads of manifests
    convox       convox.yml's imagePullSecrets: validate, complete, export passwordEnv
"""
