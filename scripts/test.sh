#!/usr/bin/env bash
# The README's test command runs this (npm run test:ci): start the real services, then type-check,
# lint and run every test against them. Ends with the plain line "N passed, N failed".
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED=true

started=$(date +%s)
bash scripts/services.sh up || { echo "services failed to start"; echo "0 passed, 1 failed"; exit 1; }

failed_checks=0
echo "== typecheck"; npm run --silent typecheck || failed_checks=$((failed_checks + 1))
echo "== lint"; npm run --silent lint || failed_checks=$((failed_checks + 1))

echo "== tests"
report=.vitest-report.json
rm -f "$report"
npx vitest run --reporter=default --reporter=json --outputFile.json="$report"
vitest_rc=$?

node -e '
const fs = require("fs");
let passed = 0, failed = 0;
try {
  const r = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
  passed = r.numPassedTests; failed = r.numFailedTests;
  // A test file that failed to load has no tests counted: count it as a failure.
  failed += r.testResults.filter((f) => f.status === "failed" && f.assertionResults.length === 0).length;
} catch { failed = 1; }
failed += Number(process.argv[2]);
console.log(`(${Math.round((Date.now() / 1000) - Number(process.argv[3]))} s)`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
' "$report" "$failed_checks" "$started"
rc=$?
[ $vitest_rc -ne 0 ] && [ $rc -eq 0 ] && rc=$vitest_rc
exit $rc
