#!/usr/bin/env bash
# promtool (Prometheus's rule checker and rule unit-test runner) for test/deploy/monitoring.test.ts:
# `promtool check rules` and `promtool test rules` on the chart's PrometheusRule. Debian's
# `prometheus` package ships it; installing that package would also install and start a Prometheus
# server (port 9090, a system user, a unit), so this fetches the package with `apt-get download`
# and extracts only /usr/bin/promtool (a static Go binary) to bin/promtool (git-ignored). Does
# nothing when bin/promtool already runs. Safe to run any number of times and from parallel test
# workers. Prints the path of the binary on stdout. Usage: bash scripts/lib/promtool.sh
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
target="$root/bin/promtool"

if [ -x "$target" ] && "$target" --version >/dev/null 2>&1; then
  printf '%s\n' "$target"
  exit 0
fi
mkdir -p "$root/bin"
tmp=$(mktemp -d "$root/bin/.promtool-extract.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# apt-get download writes into the current directory; _apt cannot write into a root-owned mktemp
# dir, so let it (the download is then sandboxed as usual).
chmod 0777 "$tmp"
apt=(apt-get -q -o DPkg::Lock::Timeout=900)
[ "$(id -u)" = 0 ] || apt=(sudo "${apt[@]}")
if ! (cd "$tmp" && "${apt[@]}" download prometheus >/dev/null 2>&1); then
  printf '[promtool] apt-get update\n' >&2
  "${apt[@]}" update >/dev/null
  (cd "$tmp" && "${apt[@]}" download prometheus >/dev/null)
fi
deb=$(find "$tmp" -maxdepth 1 -name 'prometheus_*.deb' | head -n 1)
[ -n "$deb" ] || { printf '[promtool] ERROR: apt-get download prometheus left no package\n' >&2; exit 1; }
dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" ./usr/bin/promtool
chmod 0755 "$tmp/usr/bin/promtool"
mv -f "$tmp/usr/bin/promtool" "$target"
printf '[promtool] extracted %s\n' "$("$target" --version 2>&1 | head -n 1)" >&2
printf '%s\n' "$target"
