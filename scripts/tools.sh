#!/usr/bin/env bash
# The real Docker stack the suite runs on, from Debian 13 (trixie): Docker Engine 26.1 (BuildKit 0.13
# built in), the docker CLI 26.1, the buildx plugin 0.13.1, containerd 1.7 and kubectl 1.32.
#
# On Debian 13 they are ordinary packages: installed with apt. On Debian 12 they are taken from a
# trixie source pinned low (priority 100, so nothing of the system moves), downloaded and unpacked into
# TOOLS (they need only libc >= 2.34); Debian 12's own runc serves dockerd 26 (trixie's needs a newer
# libc). Idempotent: a stamp file holds the versions unpacked.
set -euo pipefail
TOOLS=${1:-.tools}
# docker-compose only for the official docker:<version>-cli image's shape (the action copies no compose)
PACKAGES=(docker.io docker-cli docker-buildx docker-compose containerd kubectl)
export DEBIAN_FRONTEND=noninteractive

major=$(cut -d. -f1 /etc/debian_version 2>/dev/null || echo 0)
if [ "$major" -ge 13 ] 2>/dev/null || grep -q '^trixie' /etc/debian_version 2>/dev/null; then
	missing=()
	for p in "${PACKAGES[@]}" runc; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
	if [ ${#missing[@]} -gt 0 ]; then
		apt-get update -qq
		apt-get install -y -qq --no-install-recommends "${missing[@]}"
	fi
	mkdir -p "$TOOLS"
	echo "system" >"$TOOLS/.source"
	exit 0
fi

stamp="$TOOLS/.unpacked"
if [ -f "$stamp" ] && [ -x "$TOOLS/usr/sbin/dockerd" ] && [ -x "$TOOLS/usr/bin/docker" ] \
	&& [ -x "$TOOLS/usr/libexec/docker/cli-plugins/docker-buildx" ] && [ -x "$TOOLS/usr/bin/kubectl" ] \
	&& [ -x "$TOOLS/usr/libexec/docker/cli-plugins/docker-compose" ]; then
	exit 0
fi

source_file=/etc/apt/sources.list.d/trixie.sources
if [ ! -f "$source_file" ]; then
	uris=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
	[ -n "$uris" ] || uris=http://deb.debian.org/debian
	cat >"$source_file" <<EOF
Types: deb
URIs: $uris
Suites: trixie
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
fi
cat >/etc/apt/preferences.d/trixie-low <<'EOF'
Package: *
Pin: release n=trixie
Pin-Priority: 100
EOF
apt-get update -qq

work=$(mktemp -d)
chown _apt "$work" 2>/dev/null || chmod 777 "$work"  # apt downloads as _apt
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download -qq $(printf '%s/trixie ' "${PACKAGES[@]}"))
mkdir -p "$TOOLS"
for deb in "$work"/*.deb; do dpkg-deb -x "$deb" "$TOOLS"; done
# Debian's docker.io keeps dockerd in /usr/sbin; the CLI is /usr/bin/docker, buildx a plugin file.
ls "$work"/*.deb | xargs -n1 basename >"$stamp"
echo "unpacked into $TOOLS: $(tr '\n' ' ' <"$stamp")"
