#!/usr/bin/env bash
# Debian's Chromium for the browser tests (test/browser/, driven by playwright-core with
# executablePath /usr/bin/chromium). Installs the `chromium` package with apt-get when
# /usr/bin/chromium is missing; does nothing when it is there. Safe to run any number of times.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt=(apt-get -q -o DPkg::Lock::Timeout=900)
[ "$(id -u)" = 0 ] || apt=(sudo "${apt[@]}")
printf '[chromium] apt-get update\n' >&2
"${apt[@]}" update >/dev/null
printf '[chromium] apt-get install chromium\n' >&2
"${apt[@]}" install -y --no-install-recommends chromium fonts-liberation >/dev/null
[ -x /usr/bin/chromium ] || { printf '[chromium] ERROR: /usr/bin/chromium still missing after apt-get install\n' >&2; exit 1; }
printf '[chromium] %s\n' "$(/usr/bin/chromium --version 2>/dev/null || echo installed)" >&2
