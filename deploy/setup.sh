#!/usr/bin/env bash
# Installs what berth needs on a Debian machine (as root) and builds it. Safe to run again: it only
# installs what is missing.
#   deploy/setup.sh           what a cluster needs (the quick start)
#   deploy/setup.sh --tests   and what the tests and benches use besides: NATS for the replicated store,
#                             and the peers berth is tested against (podman, skopeo, umoci, buildah,
#                             docker-registry)
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

# runc runs containers, the CNI plugins build pod networks, nftables and conntrack carry Services,
# busybox-static is the example's base image, and tini's static build is the init runtimed binds into
# containers that ask for one (docker run --init).
debian_packages=(runc iproute2 nftables conntrack containernetworking-plugins busybox-static tini)
case "${1:-}" in
  --tests) debian_packages+=(nats-server skopeo umoci podman podman-compose buildah docker-registry) ;;
  '') ;;
  *) echo "setup: unknown option $1 (the only one is --tests)" >&2; exit 1 ;;
esac
missing=()
for pkg in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
done
# The container shim is C, compiled by deploy/build.mjs.
command -v cc >/dev/null 2>&1 || missing+=(gcc libc6-dev)
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq -o Dpkg::Options::=--force-confold "${missing[@]}" >/dev/null
  # Debian's docker-registry is a peer the tests start on ports of their own; its service would hold
  # port 5000, which is berth's cluster registry's.
  if command -v systemctl >/dev/null 2>&1; then systemctl disable --now docker-registry >/dev/null 2>&1 || true; fi
fi
# podman and skopeo refuse to read any image without a signature policy; the tests use only local archives.
if [ "${1:-}" = --tests ] && [ ! -e /etc/containers/policy.json ]; then
  mkdir -p /etc/containers
  echo '{"default":[{"type":"insecureAcceptAnything"}]}' > /etc/containers/policy.json
fi

# npm ci only when node_modules was not installed from this exact lock file.
lock_hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ "$(cat node_modules/.berth-lock-hash 2>/dev/null)" != "$lock_hash" ]; then
  echo "setup: installing npm packages" >&2
  npm ci --no-audit --no-fund --loglevel=error
  echo "$lock_hash" > node_modules/.berth-lock-hash
fi
node deploy/build.mjs
