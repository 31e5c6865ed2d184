# The action's image. BASE_IMAGE can name a mirror of python:3.12-slim (or any Debian-like image
# with python3 >= 3.11 and its venv module); DOCKER_CLI_IMAGE an image holding the docker CLI at
# /usr/local/bin/docker and its plugins (buildx) under /usr/local/libexec/docker/cli-plugins/, as the
# official docker:<version>-cli images do.
ARG BASE_IMAGE=python:3.12-slim
ARG DOCKER_CLI_IMAGE=docker:29.1.3-cli

FROM ${DOCKER_CLI_IMAGE} AS docker-cli

FROM ${BASE_IMAGE} AS install
COPY requirements/runtime.txt /tmp/runtime.txt
# Pinned and hashed: only these exact files are installed.
RUN python3 -m venv /opt/venv \
 && /opt/venv/bin/pip install --no-cache-dir --no-compile --require-hashes -r /tmp/runtime.txt
COPY pyproject.toml README.md /tmp/src/
COPY src /tmp/src/src
COPY scripts/trim.py /tmp/trim.py
# Compiled once here (unchecked-hash: valid whatever the files' times), so no start of the action
# compiles its imports again: PYTHONDONTWRITEBYTECODE below would keep it from saving them.
RUN /opt/venv/bin/pip install --no-cache-dir --no-compile --no-deps /tmp/src \
 && /opt/venv/bin/python /tmp/trim.py /opt/venv \
 && /opt/venv/bin/python -m compileall -q -j 0 --invalidation-mode unchecked-hash /opt/venv/lib

FROM ${BASE_IMAGE}
# Builds run through the docker CLI's BuildKit (buildx), on the runner's daemon (its mounted socket).
# Only the CLI and buildx: the CLI image's other plugins (compose) never run here.
COPY --from=docker-cli /usr/local/bin/docker /usr/local/bin/docker
COPY --from=docker-cli /usr/local/libexec/docker/cli-plugins/docker-buildx /usr/local/libexec/docker/cli-plugins/docker-buildx
COPY --from=install /opt/venv /opt/venv
COPY entrypoint.py /entrypoint.py
RUN ln -s /entrypoint.py /post.py
ENV PATH=/opt/venv/bin:$PATH PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
ENTRYPOINT ["/entrypoint.py"]
