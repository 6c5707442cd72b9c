# Benchmarks: every NAME is built as $(OUT)/bench/NAME_hakmem (libhakmem.a
# linked in) and $(OUT)/bench/NAME_system (glibc; peers via LD_PRELOAD).
# Included from tests/tests.mk. tools/bench/run.sh and icount.sh run them;
# $(OUT)/tests/check_bench checks that each one catches a corrupted block.
BENCH_NAMES := bench_random_mixed bench_pool_tls bench_mid_large_mt \
	bench_large larson bench_xthread bench_realloc icount bench_sweep \
	bench_cache_scratch bench_cache_thrash bench_glibc_thread bench_xmalloc \
	bench_mstress bench_rptest bench_malloc_large bench_mleak bench_phases \
	bench_batch bench_churn
BENCH_OUT := $(OUT)/bench
# -O2 in every profile (the last -O wins); the -fno-builtin flags keep the
# compiler from reasoning malloc/free calls away.
BENCH_CFLAGS := $(TEST_CFLAGS) -O2 -fno-builtin-malloc -fno-builtin-free \
	-fno-builtin-realloc -fno-builtin-calloc
BENCH_COMMON_OBJ := $(BENCH_OUT)/obj/bench_common.o
BENCH_HAKMEM := $(BENCH_NAMES:%=$(BENCH_OUT)/%_hakmem)
BENCH_SYSTEM := $(BENCH_NAMES:%=$(BENCH_OUT)/%_system)
CHECK_BENCH := $(OUT)/tests/check_bench

TEST_BINS += $(BENCH_HAKMEM) $(BENCH_SYSTEM) $(CHECK_BENCH)

$(BENCH_OUT)/obj/%.o: tests/bench/%.c
	@mkdir -p $(@D)
	@echo "  CC      $@"
	@$(CC) $(BENCH_CFLAGS) -MMD -MP -c $< -o $@

$(BENCH_HAKMEM): $(BENCH_OUT)/%_hakmem: $(BENCH_OUT)/obj/%.o $(BENCH_COMMON_OBJ) \
		$(LIB_A)
	@echo "  LD      $@"
	@$(CC) $(BENCH_CFLAGS) $(PROFILE_LDFLAGS) -o $@ $(filter %.o,$^) \
		$(LIB_A) -lpthread $(PROFILE_LIBS)

$(BENCH_SYSTEM): $(BENCH_OUT)/%_system: $(BENCH_OUT)/obj/%.o $(BENCH_COMMON_OBJ)
	@echo "  LD      $@"
	@$(CC) $(BENCH_CFLAGS) $(PROFILE_LDFLAGS) -o $@ $^ -lpthread

$(CHECK_BENCH): tests/bench/check_bench.c | $(BENCH_HAKMEM) $(BENCH_SYSTEM)
	@mkdir -p $(@D)
	@echo "  CC      $@"
	@$(CC) $(TEST_CFLAGS) $(PROFILE_LDFLAGS) -MMD -MP -o $@ $< $(CHECK_LIBS)

-include $(BENCH_NAMES:%=$(BENCH_OUT)/obj/%.d) $(BENCH_COMMON_OBJ:.o=.d) \
	$(CHECK_BENCH).d
