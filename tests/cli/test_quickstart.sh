#!/bin/sh
# The README's main command (scripts/quickstart.sh) on the built mmdx: synthetic
# cohorts, a throwaway PostgreSQL, a signed model, screening, audit verify.
# SPDX-License-Identifier: Apache-2.0
set -eu
build=$1 src=$2
out=$(mktemp)
trap 'rm -f "$out"' EXIT
fail() { echo "FAIL: $*" >&2; cat "$out" >&2; exit 1; }
MMDX_BIN="$build/bin/mmdx" PATIENTS=30 MMDX_DB= MMDX_CONFIG= MMDX_SITE_KEY= \
    sh "$src/scripts/quickstart.sh" > "$out" 2>&1 || fail "quickstart exited $?"
grep -q "== screen" "$out" || fail "no screening step"
grep -q "screened *30 now.*0 failed" "$out" || fail "the summary does not report 30 patients screened, none failed"
grep -q "The audit log is intact" "$out" || fail "audit verify did not report an intact log"
echo "quickstart: ok"
