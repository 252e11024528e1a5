# bench/bench.mk - benchmark drivers; include it from the Makefile
# (`include bench/bench.mk`) or use bench/build_ood.sh.
BENCH_BINS := $(BUILD)/bench/ood_bench

$(BENCH_BINS): $(BUILD)/bench/%: $(BUILD)/bench/%.o $(BUILD)/libvitviz.a
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(VV_LDFLAGS) $^ $(VV_LDLIBS) -o $@

bench-bins: $(BENCH_BINS)
.PHONY: bench-bins
