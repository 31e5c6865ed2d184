"""How a registry asks for credentials (challenge) and how we answer it (token)."""
