"""One module per kind of registry: each has `resolve(registries, context) -> [Credential | error]`
(basic, ghcr, ecr); dockerhub adds Docker Hub's pull quota."""
