/*
 * fuzz_main.c - the libFuzzer harness for one target of fuzz_targets.h,
 * chosen at build time with -DFUZZ_TARGET='"name"' (see `make fuzz`).
 */
#include <stdio.h>
#include <stdlib.h>

#include "tests/fuzz/fuzz_targets.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const fuzz_target *t;

	if (!t && !(t = fuzz_target_find(FUZZ_TARGET))) {
		fprintf(stderr, "fuzz: no target %s\n", FUZZ_TARGET);
		abort();
	}
	(void)t->run(data, size);
	return 0;
}
