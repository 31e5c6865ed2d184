"""private-registries: credentials for private container registries in GitHub workflows."""

__version__ = "0.1.0"
