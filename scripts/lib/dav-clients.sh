#!/usr/bin/env bash
# Debian's WebDAV clients for test/dav/ (litmus, the WebDAV compliance suite, and rclone) and the
# bench's WebDAV row. Installs the `litmus` and `rclone` packages with apt-get when either
# command is missing; does nothing when both are there. Safe to run any number of times.
set -euo pipefail

missing=()
command -v litmus >/dev/null 2>&1 || missing+=(litmus)
command -v rclone >/dev/null 2>&1 || missing+=(rclone)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt=(apt-get -q -o DPkg::Lock::Timeout=900)
[ "$(id -u)" = 0 ] || apt=(sudo "${apt[@]}")
printf '[dav-clients] apt-get update\n' >&2
"${apt[@]}" update >/dev/null
printf '[dav-clients] apt-get install %s\n' "${missing[*]}" >&2
"${apt[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null
for cmd in litmus rclone; do
  command -v "$cmd" >/dev/null 2>&1 || { printf '[dav-clients] ERROR: %s still missing after apt-get install\n' "$cmd" >&2; exit 1; }
done
printf '[dav-clients] %s\n' "$(rclone version 2>/dev/null | head -n 1 || echo rclone installed)" >&2
