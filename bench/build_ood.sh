#!/bin/sh
# Build build/bench/ood_bench (the Makefile includes bench/bench.mk).
set -e
cd "$(dirname "$0")/.."
exec make -s build/bench/ood_bench
