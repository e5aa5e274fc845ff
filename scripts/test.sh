#!/usr/bin/env bash
# The README's test command runs this (npm run test:ci): start the real services, then type-check,
# lint and run every test: the fast tier without network, then the main suite against the services
# (files in parallel), then the fault suite (npm run test:faults: one file at a time, since it
# stops and restarts real services). Ends with the plain line "N passed, N failed" counting all.
#
# What mostly waits (apt installs, Ceph starting, image builds) runs in the background beside what
# mostly computes: the services and the tools of the main suite beside the web build, typecheck,
# lint, contract checks and the fast tier (which needs no service); podman, its base images and
# the image the fault suite's pods test builds (nothing else uses them) beside the main suite.
# Each background job's output is printed once it is done.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true

started=$(date +%s)
# "== name", and how long the step took once the next one starts (or step_end).
step_name="" step_t=0
step() { step_end; step_name=$1 step_t=$(date +%s); echo "== $1"; }
step_end() { if [ -n "$step_name" ]; then echo "   ($(($(date +%s) - step_t)) s)"; fi; step_name=""; }

# One background job at a time: `background CMD...` runs CMD with its output in a file; `collect`
# waits for it, prints that output and sets bg_rc to its exit status.
bg_log=$(mktemp)
bg_pid=""
trap 'rm -f "$bg_log"; [ -z "$bg_pid" ] || kill "$bg_pid" 2>/dev/null' EXIT
background() { "$@" >"$bg_log" 2>&1 & bg_pid=$!; }
collect() { wait "$bg_pid"; bg_rc=$?; bg_pid=""; cat "$bg_log"; }
# tool NAME CMD...: one install step, timed; prints nothing else on success.
tool() {
  local t rc
  t=$(date +%s)
  echo "-- $1"; shift
  "$@"; rc=$?
  echo "   ($(($(date +%s) - t)) s)"
  return $rc
}

# Exit 100: the services did not start (nothing after them can run); otherwise the number of
# tool installs that failed.
services_and_tools() {
  local t0 failed=0
  t0=$(date +%s)
  bash scripts/services.sh up || return 100
  # Space of objects deleted by earlier runs comes back only after RGW garbage collection.
  bash scripts/services.sh gc || echo "(RGW garbage collection failed; going on)"
  echo "   (services: $(($(date +%s) - t0)) s)"
  tool "chromium (browser tests)" bash scripts/lib/chromium.sh || failed=$((failed + 1))
  # Debian's litmus and rclone for test/dav/ (real WebDAV clients against /dav/).
  tool "litmus, rclone (WebDAV client tests)" bash scripts/lib/dav-clients.sh || failed=$((failed + 1))
  # promtool from Debian's prometheus package for the chart's alert rules (test/deploy/monitoring.test.ts).
  tool "promtool (alert rule tests)" sh -c 'bash scripts/lib/promtool.sh >/dev/null' || failed=$((failed + 1))
  return "$failed"
}
background services_and_tools

failed_checks=0
step "build web app"; npm run --silent build:web || failed_checks=$((failed_checks + 1))
step "typecheck"; npm run --silent typecheck || failed_checks=$((failed_checks + 1))
step "lint"; npm run --silent lint || failed_checks=$((failed_checks + 1))
step "contract"; { npm run --silent codegen:check && npm run --silent schema:check; } || failed_checks=$((failed_checks + 1))

# The fast tier (npm test) in a network namespace holding only loopback: proof that it needs no
# service. The main run then leaves its files out (STRATUS_TEST_TIER=services), so each test runs
# and is counted once.
step "fast tests (no network, no services)"
rm -f .vitest-fast-report.json .vitest-report.json .vitest-faults-report.json
unshare --net sh -c 'ip link set lo up && exec npx vitest run --config vitest.fast.config.ts --reporter=default --reporter=json --outputFile.json=.vitest-fast-report.json'
fast_rc=$?

step "services and test tools (in the background since the start; waiting for them)"
collect
if [ "$bg_rc" -eq 100 ]; then
  echo "services failed to start"
  echo "0 passed, 1 failed"
  exit 1
fi
failed_checks=$((failed_checks + bg_rc))

# Podman and the stand-in Node base images (cached) for test/deploy/pods.test.ts, then that test's
# image built ahead of it (its own build then comes from podman's cache; a failure here is the
# test's to report).
podman_and_image() {
  tool "podman (image tests)" sh -c 'bash scripts/lib/podman.sh >/dev/null' || return 1
  tool "the pods test's image, built ahead" npx tsx test/deploy/prebuild-image.ts || echo "(going on: test/deploy/pods.test.ts builds it itself)"
}
background podman_and_image
step "tests"
STRATUS_TEST_TIER=services npx vitest run --reporter=default --reporter=json --outputFile.json=.vitest-report.json
main_rc=$?
step "podman and the pods test's image (in the background since the tests started; waiting for them)"
collect
[ "$bg_rc" -eq 0 ] || failed_checks=$((failed_checks + 1))
step "fault tests"
npx vitest run --config vitest.faults.config.ts --reporter=default --reporter=json --outputFile.json=.vitest-faults-report.json
faults_rc=$?
step_end

node scripts/lib/test-summary.mjs "$failed_checks" "$started" .vitest-fast-report.json .vitest-report.json .vitest-faults-report.json
rc=$?
[ $rc -eq 0 ] && { [ $fast_rc -ne 0 ] || [ $main_rc -ne 0 ] || [ $faults_rc -ne 0 ]; } && rc=1
exit $rc
