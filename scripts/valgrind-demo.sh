#!/bin/sh
# An end-to-end `vitviz run` on a small subset of the bundled demo (three
# checkpoints, two images per class, a short 320x240 video) under valgrind's
# memcheck: fails on any invalid access, use of uninitialised memory or
# leak (definite, indirect or possible), except the process-lifetime caches
# of fontconfig / pango listed in tests/valgrind.supp.  About 30 s.
#
#   VITVIZ=build/vitviz scripts/valgrind-demo.sh
set -eu
cd "$(dirname "$0")/.."
vitviz=${VITVIZ:-build/vitviz}
tmp=$(mktemp -d /tmp/vv_valgrind.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir "$tmp/run"
for c in 15 240 450; do
	cp -r "data/demo/run/checkpoint-$c" "$tmp/run/"
done
log=${VALGRIND_LOG:-$tmp/valgrind.log}
t0=$(date +%s)
if valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite,indirect,possible \
	--errors-for-leak-kinds=definite,indirect,possible --num-callers=30 \
	--suppressions=tests/valgrind.supp --log-file="$log" \
	"$vitviz" --quiet run "$tmp/run" --data data/demo/images --per-class 2 --threads 1 \
	--size 320x240 --fps 5 --seconds-per-checkpoint 0.2 --hold 0.2 \
	-o "$tmp/out.mp4" --work "$tmp/work"; then
	rc=0
else
	rc=$?
fi
summary=$(grep -E "ERROR SUMMARY" "$log" | tail -1 | sed 's/^==[0-9]*== //')
leaks=$(grep -E "definitely lost:|indirectly lost:|possibly lost:" "$log" | sed 's/^==[0-9]*== *//' | tr '\n' ' ')
echo "valgrind: $(($(date +%s) - t0)) s; $summary; ${leaks:-no leaks}"
if [ "$rc" -ne 0 ] || [ ! -s "$tmp/out.mp4" ]; then
	echo "valgrind: FAILED (exit $rc); the report follows" >&2
	cat "$log" >&2
	exit 1
fi
