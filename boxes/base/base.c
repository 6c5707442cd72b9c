/*
 * base.c - reporting that is safe inside malloc: no allocation, no stdio.
 * The libunwind backtrace (HAK_BACKTRACE builds) lives here so that every
 * box can reach it; a reentrancy guard keeps a fault inside it from looping.
 * Also the statistics helpers that several boxes share.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "hak_base.h"
#include "hak_box.h"
#include "hak_lock.h"
#include "hak_tick.h"

#if HAK_BACKTRACE
#define UNW_LOCAL_ONLY
#include <libunwind.h>
#endif

HAK_TLS int hak_locks_held;

_Atomic uint64_t hak_tick_next_ms = UINT64_MAX;
HAK_TLS long hak_tick_net;
static _Atomic int64_t tick_credit = INT64_MAX / 4;	/* no learner: never spent */
static _Atomic int64_t tick_granted;	/* the learner's last credit */
static void (*tick_fn)(uint64_t now_ms);
static uint64_t tick_period;

void hak_tick_credit(int64_t bytes)
{
	hak_atomic_store_relaxed(&tick_granted, bytes);
	hak_atomic_store_relaxed(&tick_credit, bytes);
}

/*
 * A tick is due once the credit is spent (the tiers took back that much,
 * net) or doubled (they handed out that much, net): so the learner sees
 * the heap's tops and bottoms to within a credit, however short a burst.
 */
void hak_tick_settle(void)
{
	int64_t n = hak_tick_net, left;

	hak_tick_net = 0;
	left = hak_atomic_sub_relaxed(&tick_credit, n) - n;
	if (tick_fn && (left <= 0 || left >= 2 * hak_atomic_load_relaxed(&tick_granted)))
		hak_atomic_store_relaxed(&hak_tick_next_ms, 0);	/* due at the next hak_tick() */
}

void hak_tick_register(void (*fn)(uint64_t now_ms), uint64_t period_ms)
{
	tick_fn = fn;
	tick_period = period_ms;
	hak_atomic_store_release(&hak_tick_next_ms, 0);
}

/* The caller that moves the next tick on runs this one. */
void hak_tick_run(uint64_t now_ms)
{
	uint64_t due = hak_atomic_load_relaxed(&hak_tick_next_ms);

	if (now_ms < due || !hak_atomic_cas_acq_rel(&hak_tick_next_ms, &due, now_ms + tick_period))
		return;
	hak_assert_no_lock();
	tick_fn(now_ms);
}

static void vreport(const char *fmt, va_list ap)
{
	char buf[512];
	int n = snprintf(buf, sizeof(buf), "hakmem: ");

	n += vsnprintf(buf + n, sizeof(buf) - (size_t)n - 1, fmt, ap);
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n++] = '\n';
	(void)!write(STDERR_FILENO, buf, (size_t)n);
}

void hak_report(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap);
	va_end(ap);
}

static void backtrace_print(void)
{
#if HAK_BACKTRACE
	static __thread int busy;
	unw_context_t ctx;
	unw_cursor_t c;
	int depth = 0;

	if (busy++ || unw_getcontext(&ctx) || unw_init_local(&c, &ctx))
		goto out;
	hak_report("backtrace:");
	while (unw_step(&c) > 0 && depth < 32) {
		unw_word_t ip = 0, off = 0;
		char name[128];

		unw_get_reg(&c, UNW_REG_IP, &ip);
		if (unw_get_proc_name(&c, name, sizeof(name), &off) != 0)
			snprintf(name, sizeof(name), "?");
		hak_report("  #%d 0x%lx %s+0x%lx", depth++, (unsigned long)ip, name,
			   (unsigned long)off);
	}
out:
	busy--;
#endif
}

void hak_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap);
	va_end(ap);
	backtrace_print();
	abort();
}

void hak_assert_fail(const char *expr, const char *file, int line)
{
	hak_fatal("assertion failed: %s (%s:%d)", expr, file, line);
}

/*
 * The counters are read while threads run. A block comes back only after it
 * left, so each class's blocks_in is read first (acquire) and its live bytes
 * clamped at 0: out - in read the other way round can wrap to ~1.8e19.
 */
uint64_t hak_class_bytes_sum(const hak_counter_t *out, const hak_counter_t *in,
			     size_t stride, const uint32_t *bytes, unsigned n,
			     uint64_t *live)
{
	uint64_t total = 0;

	*live = 0;
	for (unsigned i = 0; i < n; i++) {
		const hak_counter_t *o = (const void *)((const char *)out + i * stride);
		const hak_counter_t *b = (const void *)((const char *)in + i * stride);
		uint64_t back = atomic_load_explicit(b, memory_order_acquire) * bytes[i];
		uint64_t gone = atomic_load_explicit(o, memory_order_relaxed) * bytes[i];

		total += gone;
		*live += gone > back ? gone - back : 0;
	}
	return total;
}

void hak_stat_bytes_live(struct hak_stats_sink *s, const hak_counter_t *out,
			 const hak_counter_t *in, size_t stride, const uint32_t *bytes,
			 unsigned n)
{
	uint64_t live, total = hak_class_bytes_sum(out, in, stride, bytes, n, &live);

	hak_stat(s, "bytes_out", total);
	hak_stat(s, "bytes_live", live);
}
