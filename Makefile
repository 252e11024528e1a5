# vitviz - see README.md.  `make` builds ./vitviz, `make test` runs every
# test, `make demo` renders the bundled demo, `make asan` runs the tests
# under AddressSanitizer + UBSan, `make bench` regenerates bench/RESULTS.md.

BUILD   ?= build
OPT     ?= -O2
CC      ?= cc
PKGS     = openblas lapacke cairo pango pangocairo libavcodec libavformat \
           libswscale libavutil libcjson libzip yaml-0.1 libpng libjpeg
# CFLAGS, LDFLAGS and LDLIBS are the user's (`make CFLAGS=-Werror`); the
# project's own flags live in VV_* so a command-line value adds to them
# instead of replacing them.
CFLAGS  ?=
VV_CFLAGS  = -std=gnu11 -g $(OPT) -Wall -Wextra -pthread -I. $(DEP_CFLAGS) $(SAN) $(CFLAGS)
VV_LDFLAGS = -pthread $(SAN) $(LDFLAGS)
VV_LDLIBS  = $(DEP_LIBS) -lm $(LDLIBS)

LIB_SRCS  := $(sort $(wildcard common/*.c embed/*.c analysis/*.c render/*.c))
CLI_SRCS  := $(sort $(wildcard cli/*.c))
TEST_SRCS := $(sort $(wildcard tests/test_*.c))
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
CLI_OBJS  := $(CLI_SRCS:%.c=$(BUILD)/%.o)
TESTS     := $(TEST_SRCS:tests/%.c=$(BUILD)/tests/%)

.PHONY: all deps test asan demo bench fuzz clean
all: vitviz

# Installs the Debian packages when something is missing, then records the
# flags pkg-config gives for them.  Make re-reads this file once it exists.
include $(BUILD)/config.mk
$(BUILD)/config.mk: scripts/install-deps.sh
	@scripts/install-deps.sh
	@mkdir -p $(BUILD)
	@{ echo "DEP_CFLAGS = $$(pkg-config --cflags $(PKGS))"; \
	   echo "DEP_LIBS = $$(pkg-config --libs $(PKGS))"; \
	   echo "CMOCKA_LIBS = $$(pkg-config --libs cmocka)"; } > $@.tmp
	@mv $@.tmp $@
deps: $(BUILD)/config.mk

Q = $(if $(V),,@)
$(BUILD)/%.o: %.c $(BUILD)/config.mk
	@mkdir -p $(@D)
	@$(if $(V),,echo "  CC      $<")
	$(Q)$(CC) $(VV_CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/libvitviz.a: $(LIB_OBJS)
	@rm -f $@
	$(Q)$(AR) rcs $@ $^

$(BUILD)/vitviz: $(CLI_OBJS) $(BUILD)/libvitviz.a
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(VV_LDFLAGS) $^ $(VV_LDLIBS) -o $@

vitviz: $(BUILD)/vitviz
	cp $< $@

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(BUILD)/libvitviz.a
	@$(if $(V),,echo "  LD      $@")
	$(Q)$(CC) $(VV_LDFLAGS) $^ $(CMOCKA_LIBS) $(VV_LDLIBS) -o $@

test: $(TESTS) $(BUILD)/vitviz
	@VITVIZ=$(BUILD)/vitviz scripts/run-tests.sh $(TESTS)

# fontconfig keeps its caches for the life of the process (pango loads it on
# the first text): tests/lsan.supp tells LeakSanitizer, in the tests and in
# the vitviz processes they start.
asan:
	LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp:print_suppressions=0 \
	$(MAKE) BUILD=build-asan OPT=-O1 \
	  SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" test

DEMO_TITLE = "A ViT learns to read digits"
demo: vitviz
	./vitviz run data/demo/run --data data/demo/images -o demo.mp4 --work demo-work --title $(DEMO_TITLE)
	./vitviz render demo-work -o demo.gif --size 960x540 --fps 10 --title $(DEMO_TITLE)
	./vitviz report demo-work -o demo-outliers.csv
	@echo "demo: wrote demo.mp4, demo.gif, demo-outliers.csv (work folder demo-work/)"

include bench/bench.mk
bench: vitviz bench-bins
	bench/run.sh

clean:
	rm -rf build build-asan build-fuzz vitviz

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(TESTS:=.d) $(BENCH_BINS:=.d)
.SECONDARY:
