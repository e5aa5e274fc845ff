# shellcheck shell=bash
# Helpers shared by scripts/services.sh and scripts/lib/*.sh: messages, timing, bounded waits,
# apt installs and pid checks. Sourced, never run.

# A test run's workers write temp files in a directory removed when the run ends
# (test/support/run-tmpdir.ts sets TMPDIR to it and STRATUS_OUTER_TMPDIR to what it was); the
# services these scripts start (a fault test restarts MariaDB, Redis, Ceph) outlive the run and
# get the outer one: mariadbd refused to start when its TMPDIR was the run's root-only directory.
if [ -n "${STRATUS_OUTER_TMPDIR+set}" ]; then
  if [ -n "$STRATUS_OUTER_TMPDIR" ]; then export TMPDIR="$STRATUS_OUTER_TMPDIR"; else unset TMPDIR; fi
  unset STRATUS_OUTER_TMPDIR
fi

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] ERROR: %s\n' "$*" >&2; exit 1; }

# Seconds since the epoch with microseconds, and seconds elapsed since such a stamp ("12.3").
now() { local t=${EPOCHREALTIME:-$(date +%s.%N)}; printf '%s' "${t/,/.}"; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }

# wait_for SECONDS CMD...: run CMD every 0.5 s until it succeeds; non-zero if it never did.
wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.5
  done
}

# port_open PORT: something accepts TCP connections on 127.0.0.1:PORT.
port_open() { timeout 2 bash -c "exec 3<>/dev/tcp/127.0.0.1/$1" 2>/dev/null; }

# Set by ensure_installed, read by started_action; reset per service by services.sh.
INSTALLED=0
APT_UPDATED=0
# ensure_installed BINARY PACKAGE...: apt-get install the packages unless BINARY exists.
# Waits for the dpkg lock when another apt run (e.g. a parallel install) holds it.
ensure_installed() {
  local bin=$1; shift
  if command -v "$bin" >/dev/null 2>&1; then return 0; fi
  export DEBIAN_FRONTEND=noninteractive
  local apt=(apt-get -q -o DPkg::Lock::Timeout=900)
  if [ "$APT_UPDATED" = 0 ]; then
    log "apt-get update"
    "${apt[@]}" update >/dev/null || die "apt-get update failed"
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  "${apt[@]}" install -y --no-install-recommends "$@" >/dev/null || die "apt-get install $* failed"
  command -v "$bin" >/dev/null 2>&1 || die "$bin still missing after installing $*"
  INSTALLED=1
}

started_action() { if [ "$INSTALLED" = 1 ]; then echo "installed+started"; else echo "started"; fi; }

# pid_alive PIDFILE COMM: the pid in PIDFILE runs (not a zombie: kill -0 is true for those) and
# its command name is COMM (so a recycled pid does not count).
pid_alive() {
  local pid state
  [ -s "$1" ] || return 1
  pid=$(tr -dc '0-9' <"$1")
  [ -n "$pid" ] && [ -r "/proc/$pid/stat" ] || return 1
  [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$2" ] || return 1
  state=$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null | cut -d' ' -f1)
  [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]
}
