"""One module per kind of registry; each has `resolve(registries, context) -> [Credential | error]`."""
