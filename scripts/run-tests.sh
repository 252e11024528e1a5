#!/bin/sh
# Run each test binary from the repository root (fixtures are found under
# tests/fixtures), then print the tests cmocka reported as skipped (with the
# binary's name) and one summary line "N passed, N failed".
# Each binary gets at most $TEST_TIMEOUT seconds (default 300; `make asan`
# runs the same tests several times slower): one that hangs is stopped
# (TERM, then KILL 10 s later), reported as "TIMEOUT" with its name, and
# counted as failed, so that a hang cannot stall CI.
# Exit status is non-zero when any test binary failed or timed out.
limit=${TEST_TIMEOUT:-300}
log=$(mktemp /tmp/vv-run-tests.XXXXXX) || exit 1
trap 'rm -f "$log" "$log.rc"' EXIT
pass=0
fail=0
failed=""
skipped=""
for t in "$@"; do
	echo "== $t"
	{ timeout -k 10 "$limit" "$t"; echo $? > "$log.rc"; } 2>&1 | tee "$log"
	rc=$(cat "$log.rc")
	if [ "$rc" -eq 0 ]; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
			echo "TIMEOUT: $t did not finish within ${limit}s (TEST_TIMEOUT)"
			failed="$failed $t(timeout)"
		else
			failed="$failed $t"
		fi
	fi
	for s in $(sed -n 's/^\[  SKIPPED \] \([A-Za-z0-9_]*\)$/\1/p' "$log" | sort -u); do
		skipped="$skipped $(basename "$t"):$s"
	done
done
[ -n "$skipped" ] && echo "skipped (not run here, see their output for why):$skipped"
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
