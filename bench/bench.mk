# bench/bench.mk - benchmark drivers, included by the Makefile.  Every
# bench/<name>.c is a stand-alone program linked against libvitviz.a and
# built as build/bench/<name> (`make bench-bins`); the bench/*.sh scripts
# call them.
BENCH_SRCS := $(sort $(wildcard bench/*.c))
BENCH_BINS := $(BENCH_SRCS:bench/%.c=$(BUILD)/bench/%)

$(BENCH_BINS): $(BUILD)/bench/%: $(BUILD)/bench/%.o $(BUILD)/libvitviz.a
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(VV_LDFLAGS) $^ $(VV_LDLIBS) -o $@

bench-bins: $(BENCH_BINS)
.PHONY: bench-bins
