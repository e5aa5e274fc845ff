#!/usr/bin/env bash
# The README's test command runs this (npm run test:ci): start the real services, then type-check,
# lint and run every test: the fast tier without network, then the main suite against the services
# (files in parallel), then the fault suite (npm run test:faults: one file at a time, since it
# stops and restarts real services). Ends with the plain line "N passed, N failed" counting all.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true

started=$(date +%s)
bash scripts/services.sh up || { echo "services failed to start"; echo "0 passed, 1 failed"; exit 1; }
# Space of objects deleted by earlier runs comes back only after RGW garbage collection.
bash scripts/services.sh gc || echo "(RGW garbage collection failed; going on)"

failed_checks=0
echo "== chromium (browser tests)"; bash scripts/lib/chromium.sh || failed_checks=$((failed_checks + 1))
# Debian's litmus and rclone for test/dav/ (real WebDAV clients against /dav/).
echo "== litmus, rclone (WebDAV client tests)"; bash scripts/lib/dav-clients.sh || failed_checks=$((failed_checks + 1))
# promtool from Debian's prometheus package for the chart's alert rules (test/deploy/monitoring.test.ts).
echo "== promtool (alert rule tests)"; bash scripts/lib/promtool.sh >/dev/null || failed_checks=$((failed_checks + 1))
# Podman and the stand-in Node base images (cached) for test/deploy/pods.test.ts.
echo "== podman (image tests)"; bash scripts/lib/podman.sh >/dev/null || failed_checks=$((failed_checks + 1))
echo "== build web app"; npm run --silent build:web || failed_checks=$((failed_checks + 1))
echo "== typecheck"; npm run --silent typecheck || failed_checks=$((failed_checks + 1))
echo "== lint"; npm run --silent lint || failed_checks=$((failed_checks + 1))
echo "== contract"; { npm run --silent codegen:check && npm run --silent schema:check; } || failed_checks=$((failed_checks + 1))

# The fast tier (npm test) in a network namespace holding only loopback: proof that it needs no
# service. The main run then leaves its files out (STRATUS_TEST_TIER=services), so each test runs
# and is counted once.
echo "== fast tests (no network, no services)"
rm -f .vitest-fast-report.json .vitest-report.json .vitest-faults-report.json
unshare --net sh -c 'ip link set lo up && exec npx vitest run --config vitest.fast.config.ts --reporter=default --reporter=json --outputFile.json=.vitest-fast-report.json'
fast_rc=$?
echo "== tests"
STRATUS_TEST_TIER=services npx vitest run --reporter=default --reporter=json --outputFile.json=.vitest-report.json
main_rc=$?
echo "== fault tests"
npx vitest run --config vitest.faults.config.ts --reporter=default --reporter=json --outputFile.json=.vitest-faults-report.json
faults_rc=$?

node -e '
const fs = require("fs");
let passed = 0, failed = 0;
for (const file of [".vitest-fast-report.json", ".vitest-report.json", ".vitest-faults-report.json"]) {
  try {
    const r = JSON.parse(fs.readFileSync(file, "utf8"));
    passed += r.numPassedTests; failed += r.numFailedTests;
    // A test file that failed to load has no tests counted: count it as a failure.
    failed += r.testResults.filter((f) => f.status === "failed" && f.assertionResults.length === 0).length;
  } catch { failed += 1; }
}
failed += Number(process.argv[1]);
console.log(`(${Math.round((Date.now() / 1000) - Number(process.argv[2]))} s)`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
' "$failed_checks" "$started"
rc=$?
[ $rc -eq 0 ] && { [ $fast_rc -ne 0 ] || [ $main_rc -ne 0 ] || [ $faults_rc -ne 0 ]; } && rc=1
exit $rc
