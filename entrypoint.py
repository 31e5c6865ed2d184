#!/opt/venv/bin/python
"""The action's container entrypoint. As /entrypoint.py it runs the main stage; as /post.py
(a link to it, the post-entrypoint) the post stage. The runner passes the host paths of runner.temp
and of the workspace (the runner-temp and workspace inputs) as args.

The shebang names the image's own interpreter (the Dockerfile's venv), not `env python3`: a runner
may hand the container the host's PATH (act does), on which no python3 of this image comes first."""

import sys
from pathlib import Path

from private_registries.cli import main

stage = "post" if Path(sys.argv[0]).stem == "post" else "main"
sys.exit(main(["action", stage, *sys.argv[1:]]))
