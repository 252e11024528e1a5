#!/bin/sh
# Run each test binary from the repository root (fixtures are found under
# tests/fixtures), then print one summary line "N passed, N failed".
# Exit status is non-zero when any test binary failed.
pass=0
fail=0
failed=""
for t in "$@"; do
	echo "== $t"
	if "$t"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		failed="$failed $t"
	fi
done
[ -n "$failed" ] && echo "failed:$failed"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
