#!/bin/sh
# Run the libFuzzer harnesses built by `make fuzz-bins` (build-fuzz/fuzz_<target>).
#
#   scripts/fuzz.sh SECONDS TARGET...
#   FUZZ_RUNS=N scripts/fuzz.sh 0 TARGET...   (make fuzz-long: N executions each, no time limit)
#
# Each target runs for SECONDS (0: no time limit; then FUZZ_RUNS bounds the
# executions) on its corpus tests/fuzz/corpus-<target>/ (kept
# between runs, gitignored), seeded from the test fixtures and from the
# regression inputs tests/fixtures/fuzz/<target>/.  Crashing inputs are
# written to build-fuzz/crash-<target>-*; copy them to
# tests/fixtures/fuzz/<target>/ once fixed so that tests/test_fuzz_regress.c
# replays them.  Prints one summary line per target and exits non-zero
# when any target found a crash.
set -u
cd "$(dirname "$0")/.."
secs=$1
shift
fail=0

# seed files (fixtures under 300 KiB) for a target
seeds() {
	case $1 in
	safetensors) find tests/fixtures -name '*.safetensors' ;;
	st_index) find tests/fixtures -name '*.index.json' ;;
	pt) find tests/fixtures/pt tests/fixtures/timm \( -name '*.pt' -o -name '*.bin' \
		-o -name '*.pth' -o -name '*.pth.tar' \) ;;
	pickle) ;; # data.pkl of the zips, extracted below
	json) find tests/fixtures data/demo/run/checkpoint-15 -name '*.json' ;;
	config) find tests/fixtures data/demo/run/checkpoint-15 -name 'config.json' ;;
	swin_config) find tests/fixtures/swin -name 'config.json' ;;
	preproc) find tests/fixtures data/demo/run/checkpoint-15 -name 'preprocessor_config.json' ;;
	trainer_state) find tests/fixtures data/demo/run/checkpoint-450 -name 'trainer_state.json' ;;
	args_yaml) find tests/fixtures -name '*.yaml' ;;
	summary_csv) find tests/fixtures -name '*.csv' ;;
	cifar) ;; # made below
	jpeg) find tests/fixtures -name '*.jpg' ;;
	png) find tests/fixtures/image -name 'm_*.png' -o -name 'bad_*.png' ;;
	npy) find tests/fixtures -name '*.npy' ;;
	manifest) find tests/fixtures data/demo -name 'manifest.json' ;;
	samples) find tests/fixtures -name 'samples.csv' ;;
	label_map) find tests/fixtures -name '*label*map*.csv' ;;
	shard_part) ;; # tests/fixtures/fuzz/shard_part/ is its corpus
	esac
}

for t in "$@"; do
	bin=${FUZZ_BIN_DIR:-build-fuzz}/fuzz_$t
	corpus=tests/fuzz/corpus-$t
	mkdir -p "$corpus"
	seeds "$t" | while read -r f; do
		[ "$(wc -c < "$f")" -le 307200 ] && cp "$f" "$corpus/seed-$(echo "$f" | tr / _)"
	done
	if [ "$t" = pickle ] && command -v unzip >/dev/null 2>&1; then
		for z in tests/fixtures/pt/*.bin tests/fixtures/pt/crafted_ok.pt tests/fixtures/timm/*.pth.tar; do
			[ -f "$z" ] && unzip -p "$z" '*/data.pkl' > "$corpus/seed-$(basename "$z").pkl" 2>/dev/null
		done
		cp tests/fixtures/pt/legacy.pt "$corpus/seed-legacy.pkl" 2>/dev/null
	fi
	if [ "$t" = cifar ]; then
		# name byte 0 (test_batch.bin: CIFAR-10) + two records
		{ printf '\000'; head -c 3073 /dev/zero; printf '\001'; head -c 3072 /dev/zero; } \
			> "$corpus/seed-c10"
		{ printf '\001'; printf '\000\003'; head -c 3072 /dev/zero; } > "$corpus/seed-c100"
	fi
	extra=""
	[ -d tests/fixtures/fuzz/$t ] && extra=tests/fixtures/fuzz/$t
	log=build-fuzz/fuzz-$t.log
	# -rss_limit_mb: the parsers bound their allocations well below this
	# shellcheck disable=SC2086
	limit="-max_total_time=$secs"
	[ -n "${FUZZ_RUNS:-}" ] && limit="$limit -runs=$FUZZ_RUNS"
	t0=$(date +%s)
	# shellcheck disable=SC2086
	"$bin" $limit -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
		-print_final_stats=1 -artifact_prefix="build-fuzz/crash-$t-" \
		"$corpus" $extra > "$log" 2>&1
	rc=$?
	el=$(($(date +%s) - t0))
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
	rate=$(awk -v r="${runs:-0}" -v s="$el" 'BEGIN { printf "%.0f", (s > 0 ? r / s : r) }')
	if [ $rc -eq 0 ]; then
		echo "fuzz $t: ${runs:-?} runs in ${el}s ($rate exec/s), $cov, corpus $(ls "$corpus" | wc -l), no crash"
	else
		echo "fuzz $t: CRASH (exit $rc) after ${runs:-?} runs; see $log and build-fuzz/crash-$t-*"
		grep -m3 -E 'ERROR|runtime error|SUMMARY' "$log"
		fail=1
	fi
done
exit $fail
