"""One module per command; cli.py imports each only when it runs (the CLI must start fast)."""
