# Unit tests: every box's Check suite in one binary, linked with the test
# library (hak_* only), so Check and libunwind keep glibc's malloc.
UNIT_SRC := $(wildcard tests/unit/*.c)
UNIT_BIN := $(OUT)/tests/unit_tests

$(UNIT_BIN): $(UNIT_SRC) tests/unit/unit.h tests/hang_guard.h $(LIB_TEST) $(CONFIG_H)
	@mkdir -p $(@D)
	@echo "  LD      $@"
	@$(CC) $(TEST_CFLAGS) -DHAKMEM_TEST -o $@ $(UNIT_SRC) $(LIB_TEST) $(PROFILE_LDFLAGS) \
		$(CHECK_LIBS) $(LIBS)

TEST_BINS += $(UNIT_BIN)
