# vitviz - see README.md.  `make` builds ./vitviz, `make test` runs every
# test, `make demo` renders the bundled demo, `make asan` runs the tests
# under AddressSanitizer + UBSan, `make bench` regenerates bench/RESULTS.md,
# `make fuzz` runs the libFuzzer harnesses (FUZZ_SECONDS each), `make
# fuzz-smoke` a few seconds each, `make valgrind` an end-to-end run under
# valgrind.

BUILD   ?= build
OPT     ?= -O2
CC      ?= cc
PKGS     = openblas lapacke cairo pango pangocairo libavcodec libavformat \
           libswscale libavutil libcjson libzip yaml-0.1 libpng libjpeg
# CFLAGS, LDFLAGS and LDLIBS are the user's (`make CFLAGS=-Werror`); the
# project's own flags live in VV_* so a command-line value adds to them
# instead of replacing them.
CFLAGS  ?=
VV_CFLAGS  = -std=gnu11 -g $(OPT) -Wall -Wextra -pthread -I. -I$(BUILD)/gen $(DEP_CFLAGS) $(SAN) $(CFLAGS)
VV_LDFLAGS = -pthread $(SAN) $(LDFLAGS)
VV_LDLIBS  = $(DEP_LIBS) -lm $(LDLIBS)

LIB_SRCS  := $(sort $(wildcard common/*.c embed/*.c embed/*/*.c analysis/*.c render/*.c))
CLI_SRCS  := $(sort $(wildcard cli/*.c))
# tests/test_util.c holds helpers shared by the tests, not a test
TEST_SRCS := $(filter-out tests/test_util.c,$(sort $(wildcard tests/test_*.c)))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_OBJS  := $(CLI_SRCS:%.c=$(BUILD)/%.o)
TESTS     := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)
# linked into every test: the shared helpers (as an object, so that its
# line-buffering constructor always runs) and, from an archive, the fuzz
# entry points that tests/test_fuzz_regress.c replays
TESTLIB_OBJS := $(BUILD)/tests/test_util.o $(BUILD)/tests/fuzz/fuzz_targets.o

.PHONY: all deps test asan demo bench fuzz fuzz-smoke fuzz-long fuzz-bins valgrind clean
all: vitviz

# Installs the Debian packages when something is missing, then records the
# flags pkg-config gives for them.  Make re-reads this file once it exists.
# A package pkg-config cannot find stops the build with its name (and no
# config.mk is written, so the next make tries again).  `make clean` alone
# needs none of this and does not include it (no installer, no pkg-config).
ifneq ($(if $(MAKECMDGOALS),$(filter-out clean,$(MAKECMDGOALS)),all),)
include $(BUILD)/config.mk
endif
$(BUILD)/config.mk: scripts/install-deps.sh
	@scripts/install-deps.sh
	@mkdir -p $(BUILD)
	@missing=""; for p in $(PKGS) cmocka; do \
	   pkg-config --exists $$p || missing="$$missing $$p"; done; \
	 if [ -n "$$missing" ]; then \
	   echo "config: pkg-config cannot find:$$missing (PKG_CONFIG_PATH=$${PKG_CONFIG_PATH:-unset}); run scripts/install-deps.sh" >&2; \
	   exit 1; fi
	@cflags=$$(pkg-config --cflags $(PKGS)) && libs=$$(pkg-config --libs $(PKGS)) && \
	 cmocka=$$(pkg-config --libs cmocka) && \
	 printf 'DEP_CFLAGS = %s\nDEP_LIBS = %s\nCMOCKA_LIBS = %s\n' "$$cflags" "$$libs" "$$cmocka" > $@.tmp || \
	 { echo "config: pkg-config failed (see above)" >&2; rm -f $@.tmp; exit 1; }
	@mv $@.tmp $@
deps: $(BUILD)/config.mk

Q = $(if $(V),,@)
$(BUILD)/%.o: %.c $(BUILD)/config.mk
	@mkdir -p $(@D)
	@$(if $(V),,echo "  CC      $<")
	$(Q)$(CC) $(VV_CFLAGS) -MMD -MP -c $< -o $@

# the HTML viewer's sources as C arrays for render/render_html.c
HTML_ASSETS = render_html_template=render/html/viewer.html render_html_css=render/html/viewer.css \
              render_html_js=render/html/viewer.js
$(BUILD)/gen/render_html_assets.h: render/html/viewer.html render/html/viewer.css render/html/viewer.js \
                                   scripts/embed-assets.sh
	@mkdir -p $(@D)
	$(Q)scripts/embed-assets.sh $(HTML_ASSETS) > $@.tmp && mv $@.tmp $@
$(BUILD)/render/render_html.o: $(BUILD)/gen/render_html_assets.h

$(BUILD)/libvitviz.a: $(LIB_OBJS)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

$(BUILD)/vitviz: $(CLI_OBJS) $(BUILD)/libvitviz.a
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(VV_LDFLAGS) $^ $(VV_LDLIBS) -o $@

vitviz: $(BUILD)/vitviz
	cp $< $@

$(BUILD)/libvvtest.a: $(BUILD)/tests/fuzz/fuzz_targets.o
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/tests/test_util.o $(BUILD)/libvvtest.a $(BUILD)/libvitviz.a
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(VV_LDFLAGS) $^ $(CMOCKA_LIBS) $(VV_LDLIBS) -o $@

# tests that run the command in process (cli_run, the command's own code):
# test_hybrid and test_timm after registering their tiny test architectures,
# which the vitviz binary cannot know, test_embed_stage with its injected
# faults.  They link the command's objects but main.o.
CLI_LIB_OBJS := $(filter-out $(BUILD)/cli/main.o,$(CLI_OBJS))
CLI_TESTS := $(BUILD)/tests/test_hybrid $(BUILD)/tests/test_timm $(BUILD)/tests/test_embed_stage
$(CLI_TESTS): $(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/tests/test_util.o $(CLI_LIB_OBJS) $(BUILD)/libvvtest.a $(BUILD)/libvitviz.a
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(VV_LDFLAGS) $^ $(CMOCKA_LIBS) $(VV_LDLIBS) -o $@
# test_embed_stage injects allocation failures into the stage's work-folder
# paths: its link routes vv_work_path() through the test's wrapper
$(BUILD)/tests/test_embed_stage: VV_LDFLAGS += -Wl,--wrap=vv_work_path
# test_fs watches the order of fsync and rename in vv_outfile_commit()
$(BUILD)/tests/test_fs: VV_LDFLAGS += -Wl,--wrap=fsync,--wrap=rename

test: $(TESTS) $(BUILD)/vitviz
	@VITVIZ=$(BUILD)/vitviz scripts/run-tests.sh $(TESTS)

# fontconfig keeps its caches for the life of the process (pango loads it on
# the first text): tests/lsan.supp tells LeakSanitizer, in the tests and in
# the vitviz processes they start.
asan:
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	$(MAKE) BUILD=build-asan OPT=-O1 \
	  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" test

# libFuzzer harnesses (clang), one per parser of tests/fuzz/fuzz_targets.c, built
# in build-fuzz/ with ASan + UBSan; scripts/fuzz.sh seeds each corpus
# (tests/fuzz/corpus-<target>/) from the test fixtures and runs it.  The
# targets are the names in fuzz_targets.c's table (one line adds one).
# `make fuzz` runs each FUZZ_SECONDS, `make fuzz-smoke` a few seconds,
# `make fuzz-long` each until FUZZ_RUNS executions (10^7; hours for all).
FUZZ_TARGETS := $(shell sed -n 's/^[[:space:]]*{ "\([a-z0-9_]*\)", t_[a-z0-9_]* },.*/\1/p' tests/fuzz/fuzz_targets.c)
FUZZ_SECONDS ?= 60
FUZZ_SMOKE_SECONDS ?= 4
FUZZ_RUNS ?= 10000000
FUZZ_SAN = -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
FUZZ_BINS = $(FUZZ_TARGETS:%=build-fuzz/fuzz_%)
fuzz-bins:
	@scripts/install-deps.sh --dev
	$(MAKE) BUILD=build-fuzz CC=clang OPT=-O1 SAN="$(FUZZ_SAN) -fsanitize=fuzzer-no-link" \
	  $(FUZZ_BINS)
$(BUILD)/fuzz_%: tests/fuzz/fuzz_main.c $(BUILD)/tests/fuzz/fuzz_targets.o $(BUILD)/libvitviz.a
	@$(if $(V),,echo "  FUZZ    $@")
	$(Q)$(CC) $(VV_CFLAGS) -fsanitize=fuzzer -DFUZZ_TARGET='"$*"' $^ $(VV_LDLIBS) -o $@
fuzz: fuzz-bins
	scripts/fuzz.sh $(FUZZ_SECONDS) $(FUZZ_TARGETS)
fuzz-smoke: fuzz-bins
	scripts/fuzz.sh $(FUZZ_SMOKE_SECONDS) $(FUZZ_TARGETS)
fuzz-long: fuzz-bins
	FUZZ_RUNS=$(FUZZ_RUNS) scripts/fuzz.sh 0 $(FUZZ_TARGETS)

# an end-to-end `vitviz run` on a subset of the demo under valgrind
valgrind: $(BUILD)/vitviz
	@scripts/install-deps.sh --dev
	VITVIZ=$(BUILD)/vitviz scripts/valgrind-demo.sh

DEMO_TITLE = "A ViT learns to read digits"
demo: vitviz
	./vitviz run data/demo/run --data data/demo/images -o demo.mp4 --work demo-work --title $(DEMO_TITLE)
	./vitviz render demo-work -o demo.gif --size 960x540 --fps 10 --preset classroom --title $(DEMO_TITLE)
	./vitviz report demo-work -o demo-outliers.csv
	@echo "demo: wrote demo.mp4, demo.gif, demo-outliers.csv (work folder demo-work/)"

include bench/bench.mk
bench: vitviz bench-bins
	bench/run.sh

clean:
	rm -rf build build-asan build-fuzz vitviz

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(TESTS:=.d) $(BENCH_BINS:=.d) $(TESTLIB_OBJS:.o=.d)
.SECONDARY:
