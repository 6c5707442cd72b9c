# Integration tests: the real malloc names, each test built twice -
#   $(OUT)/tests/NAME_static   linked with libhakmem.a
#   $(OUT)/tests/NAME_preload  a plain glibc program, run with LD_PRELOAD=libhakmem.so
# Run them with tests/integration/run.sh PROFILE (or make PROFILE=.. integration-run).
# asan/tsan builds leave malloc to the sanitizer, so only release and debug have them.
ifneq ($(filter $(PROFILE),release debug),)

ITEST_DIR := $(OUT)/tests
ITEST_C := check_api check_wrong check_threads check_oom
ITEST_CXX := check_cxx
ITEST_DEPS := tests/integration/itest.h tests/hang_guard.h include/hakmem.h $(CONFIG_H)
# Test code is optimised in every profile (the allocator keeps its own flags);
# -fno-builtin keeps the compiler from removing or merging allocator calls.
ITEST_CFLAGS := $(TEST_CFLAGS) -O2 -fno-builtin
ITEST_CXXFLAGS := $(filter-out -std=%,$(ITEST_CFLAGS)) -std=gnu++17 -fsized-deallocation

ITEST_BINS := $(foreach t,$(ITEST_C) $(ITEST_CXX),$(ITEST_DIR)/$(t)_static $(ITEST_DIR)/$(t)_preload)
TEST_BINS += $(ITEST_BINS)

$(ITEST_DIR)/%_static: tests/integration/%.c $(ITEST_DEPS) $(LIB_A)
	@mkdir -p $(@D)
	@echo "  CCLD    $@"
	@$(CC) $(ITEST_CFLAGS) -DITEST_STATIC -o $@ $< $(CHECK_LIBS) $(LIB_A) -lpthread $(PROFILE_LIBS)

$(ITEST_DIR)/%_preload: tests/integration/%.c $(ITEST_DEPS) | $(LIB_SO)
	@mkdir -p $(@D)
	@echo "  CCLD    $@"
	@$(CC) $(ITEST_CFLAGS) -o $@ $< $(CHECK_LIBS) -lpthread

$(ITEST_DIR)/%_static: tests/integration/%.cc $(ITEST_DEPS) $(LIB_A)
	@mkdir -p $(@D)
	@echo "  CXXLD   $@"
	@$(CXX) $(ITEST_CXXFLAGS) -DITEST_STATIC -o $@ $< $(CHECK_LIBS) $(LIB_A) -lpthread $(PROFILE_LIBS)

$(ITEST_DIR)/%_preload: tests/integration/%.cc $(ITEST_DEPS) | $(LIB_SO)
	@mkdir -p $(@D)
	@echo "  CXXLD   $@"
	@$(CXX) $(ITEST_CXXFLAGS) -o $@ $< $(CHECK_LIBS) -lpthread

.PHONY: integration-run
integration-run: $(ITEST_BINS) $(LIB_SO)
	tests/integration/run.sh $(PROFILE)

endif
