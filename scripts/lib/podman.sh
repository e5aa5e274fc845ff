#!/usr/bin/env bash
# Podman for the image tests (test/deploy/pods.test.ts): there is no Docker engine on these
# machines and no image registry is reachable, so this
#   1. installs Debian's podman, buildah, mmdebstrap, runc (crun refuses the hybrid cgroups here),
#      uidmap, fuse-overlayfs and slirp4netns when podman is missing (apt-get update first);
#   2. builds stand-ins for the official node:<major>-bookworm and node:<major>-bookworm-slim images
#      when they are missing from podman's store: a bookworm minbase from Debian's mirror
#      (mmdebstrap; plus python3, make and g++ for the build one) with this machine's Node at
#      /usr/local/bin/node and npm beside it, where the official images keep them. The root file
#      systems are cached under /var/lib/stratus/images and the images in podman's store, so a
#      second run does nothing.
# Prints the two image names on stdout: "<build image> <runtime image>".
# Safe to run any number of times and from parallel callers (flock).
# Usage: bash scripts/lib/podman.sh
set -euo pipefail

cache=/var/lib/stratus/images
mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9

log() { printf '[podman] %s\n' "$*" >&2; }

if ! command -v podman >/dev/null || ! command -v mmdebstrap >/dev/null || ! command -v runc >/dev/null; then
  export DEBIAN_FRONTEND=noninteractive
  apt=(apt-get -q -o DPkg::Lock::Timeout=900)
  [ "$(id -u)" = 0 ] || apt=(sudo "${apt[@]}")
  log 'apt-get update'
  "${apt[@]}" update >/dev/null
  log 'apt-get install podman buildah mmdebstrap runc uidmap fuse-overlayfs slirp4netns'
  "${apt[@]}" install -y --no-install-recommends podman buildah mmdebstrap runc uidmap \
    fuse-overlayfs slirp4netns ca-certificates >/dev/null
fi

node_bin=$(readlink -f "$(command -v node)")
major=$(node -p 'process.versions.node.split(".")[0]')
build_image="localhost/node:${major}-bookworm"
runtime_image="localhost/node:${major}-bookworm-slim"
# Where this machine's npm lives (Debian/NodeSource: /usr/lib/node_modules; official: /usr/local/lib).
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")

# The crun default refuses hybrid cgroups; the ulimits must not exceed the host's hard limits.
hard_nofile=$(ulimit -Hn); [ "$hard_nofile" = unlimited ] && hard_nofile=65536
nofile=$(( hard_nofile < 20000 ? hard_nofile : 20000 ))
podman_opts=(--runtime runc --ulimit "nofile=${nofile}:${nofile}" --ulimit nproc=4096:4096)

node_tar() {
  # This machine's node and npm, laid out as in the official images; with $2=build also its C++
  # headers (/usr/local/include/node, as the official images ship them) and its CA bundle.
  local out=$1 kind=$2 stage
  stage=$(mktemp -d)
  mkdir -p "$stage/usr/local/bin" "$stage/usr/local/lib/node_modules"
  cp "$node_bin" "$stage/usr/local/bin/node"
  cp -a "$npm_dir" "$stage/usr/local/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$stage/usr/local/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$stage/usr/local/bin/npx"
  if [ "$kind" = build ]; then
    local headers
    headers=$(dirname "$(dirname "$node_bin")")/include/node
    [ -f "$headers/node.h" ] || { log "ERROR: no Node headers at $headers (node-gyp needs them offline)"; exit 1; }
    mkdir -p "$stage/usr/local/include"
    cp -a "$headers" "$stage/usr/local/include/node"
    # The registry is reached here as the host reaches it, possibly through a TLS-inspecting
    # proxy whose CA only the host's bundle holds.
    mkdir -p "$stage/usr/local/share/stratus"
    cp /etc/ssl/certs/ca-certificates.crt "$stage/usr/local/share/stratus/host-ca-certificates.crt"
  fi
  tar -C "$stage" -cf "$out.tmp" usr && mv "$out.tmp" "$out"
  rm -rf "$stage"
}

make_base() {
  local image=$1 include=$2 rootfs=$3 kind=$4
  # What the image is made of; a change (another Node, another recipe) rebuilds it.
  local recipe
  recipe=$(printf '%s\n' "$include" "$kind" "$(node -v)" "$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)" | sha256sum | cut -c1-16)
  if podman image exists "$image" \
    && [ "$(podman image inspect --format '{{index .Labels "stratus.base.recipe"}}' "$image")" = "$recipe" ]; then
    return 0
  fi
  if [ ! -f "$cache/$rootfs" ] || [ ! -s "$cache/$rootfs" ]; then
    rm -rf "$cache/$rootfs"
    log "mmdebstrap bookworm minbase ($include) -> $cache/$rootfs"
    # mmdebstrap picks the output format from the name: keep the .tar suffix on the partial file.
    rm -rf "$cache/partial-$rootfs"
    mmdebstrap --quiet --variant=minbase --include="$include" bookworm "$cache/partial-$rootfs" \
      http://deb.debian.org/debian >&2
    mv "$cache/partial-$rootfs" "$cache/$rootfs"
  fi
  local ctx
  ctx=$(mktemp -d)
  ln "$cache/$rootfs" "$ctx/rootfs.tar" 2>/dev/null || cp "$cache/$rootfs" "$ctx/rootfs.tar"
  node_tar "$ctx/node.tar" "$kind"
  {
    printf 'FROM scratch\nADD rootfs.tar /\nADD node.tar /\n'
    printf 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n'
    # Offline stand-ins for what the official build image fetches or trusts: node-gyp uses the
    # bundled headers instead of downloading them; npm trusts the host's CA bundle.
    [ "$kind" = build ] && printf 'ENV npm_config_nodedir=/usr/local NODE_EXTRA_CA_CERTS=/usr/local/share/stratus/host-ca-certificates.crt\n'
    printf 'LABEL stratus.base.recipe=%s\nCMD ["node"]\n' "$recipe"
  } >"$ctx/Containerfile"
  log "podman build $image (this machine's Node $(node -v))"
  podman build "${podman_opts[@]}" -q -t "$image" -f "$ctx/Containerfile" "$ctx" >/dev/null
  rm -rf "$ctx"
}

make_base "$runtime_image" ca-certificates "bookworm-slim.tar" runtime
make_base "$build_image" ca-certificates,python3,make,g++ "bookworm-build.tar" build

printf '%s %s\n' "$build_image" "$runtime_image"
