# Set-up and checks. Run as root on Debian/Ubuntu: the bench starts its own dockerd.
VENV ?= .venv
PY := $(VENV)/bin/python
# What the bench needs from Debian: a Docker Engine, the CNCF Distribution registry, a static busybox
# for base images, debootstrap for the action's local base image, skopeo (a non-docker client for exec).
# scripts/tools.sh adds Debian 13's Engine 26.1, CLI 26.1, buildx 0.13.1 and kubectl 1.32 (into .tools/
# on Debian 12, as packages on Debian 13): the suite's daemon, builds and kubectl comparisons run on them.
DEB_PACKAGES := docker.io docker-registry busybox-static debootstrap ca-certificates skopeo git
PYTEST_ARGS ?=

.PHONY: test lint deps venv demo bench clean

## make test: install what is missing, lint (code and workflows), type-check, run the whole suite
test: deps venv lint
	$(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check src tests bench scripts entrypoint.py
	$(VENV)/bin/ruff format --check src tests bench scripts entrypoint.py
	$(VENV)/bin/mypy
	$(VENV)/bin/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/*.yml
	$(VENV)/bin/zizmor --offline .github/workflows

## make demo: the main job on a throwaway private registry: add, check, build --push, pull-secret, inject, login
demo: deps venv
	$(PY) scripts/demo.py

## make bench: the benchmarks under bench/ (figures go to the README)
bench: deps venv
	$(PY) -m bench.run

deps:
	@bash scripts/tools.sh .tools
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing; \
	fi

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements/dev.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements/dev.txt
	$(PY) -m pip install -q --no-deps -e .
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
