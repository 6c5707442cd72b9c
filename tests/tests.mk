# Tests and benchmarks; included by the top Makefile (PROFILE, OUT, LIB_* set).
CHECK_LIBS := $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm)
TEST_CFLAGS := -std=gnu11 -Wall -Wextra -D_GNU_SOURCE $(PROFILE_CFLAGS) -Iinclude -I$(OUT)/config

include tests/unit/unit.mk
include tests/integration/integration.mk
include tests/bench/bench.mk

.PHONY: tests
tests: $(TEST_BINS)

.PHONY: list-bins
list-bins:
	@for b in $(LIB_A) $(LIB_SO) $(LIB_TEST) $(TEST_BINS); do echo "  $$b"; done
