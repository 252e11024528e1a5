#!/bin/sh
# Build build/bench/ood_bench without touching the Makefile.
set -e
cd "$(dirname "$0")/.."
exec make -f Makefile -f bench/bench.mk build/bench/ood_bench
