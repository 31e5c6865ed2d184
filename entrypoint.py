#!/usr/bin/env python3
"""The action's container entrypoint. As /entrypoint.py it runs the main stage; as /post.py
(a link to it, the post-entrypoint) the post stage. The runner passes runner.temp's host path."""

import sys
from pathlib import Path

from private_registries.cli import main

stage = "post" if Path(sys.argv[0]).stem == "post" else "main"
sys.exit(main(["action", stage, *sys.argv[1:]]))
