/*
 * fuzz_targets.h - one entry point per parser, shared by the libFuzzer
 * harnesses (tests/fuzz/fuzz_main.c, `make fuzz`) and the regression test that
 * replays every file under tests/fixtures/fuzz/<target>/ (tests/test_fuzz_regress.c).
 *
 * Each entry point feeds `size` bytes of arbitrary input to one parser the
 * way vitviz does and frees whatever it built.  Bad input must give an
 * error code, never a crash, a leak or undefined behaviour; the return
 * value is the parser's (0 or a negative VV_E* code) and is informational.
 */
#ifndef FUZZ_TARGETS_H
#define FUZZ_TARGETS_H

#include <stddef.h>
#include <stdint.h>

typedef struct fuzz_target {
	const char *name;                        /* "safetensors", "pt", ... */
	int (*run)(const uint8_t *data, size_t size); /* the entry point */
} fuzz_target;

/* Every target, terminated by a { NULL, NULL } entry. */
extern const fuzz_target fuzz_targets[];

/* The target called `name`, or NULL. */
const fuzz_target *fuzz_target_find(const char *name);

#endif
