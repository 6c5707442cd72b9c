/*
 * icount TIER PAIRS - a fixed, short malloc+free workload per tier for
 * instruction counting under callgrind (tools/bench/icount.sh).
 *
 * TIER is tiny (16..1024 B, 256 live slots), pool (8..32 KiB, 64 slots),
 * medium (56 KiB..1 MiB, 64 slots) or large (64 KiB..1 MiB, 8 slots). A ring of slots is walked PAIRS times:
 * free the slot's block if it holds one, malloc a new one into it; at the
 * end the rest are freed, so the run is exactly PAIRS mallocs and PAIRS
 * frees. Sizes come from a fixed-seed PRNG, so every allocator sees the same
 * requests. The walk runs twice: a warm-up that calls malloc/free directly,
 * then the measured one through icount_malloc()/icount_free(), which
 * callgrind collects with --toggle-collect: only the allocator's
 * instructions (plus the wrappers' own, which the script subtracts) count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"

#define MAX_SLOTS 256

struct tier {
	const char *name;
	size_t min, max;
	unsigned slots;
};

static const struct tier tiers[] = {
	{ "tiny", 16, 1024, 256 },
	{ "pool", 8 << 10, 32 << 10, 64 },
	{ "medium", 56 << 10, 1 << 20, 64 },
	{ "large", 64 << 10, 1 << 20, 8 },
};

/* Global, so callgrind finds them by name for --toggle-collect. */
void *icount_malloc(size_t n);
void icount_free(void *p);

/* Not inlined, not tail-called: callgrind must see them entered and left. */
__attribute__((noinline, noipa)) void *icount_malloc(size_t n)
{
	void *p = malloc(n);

	__asm__ volatile("" : "+r"(p));
	return p;
}

__attribute__((noinline, noipa)) void icount_free(void *p)
{
	free(p);
	__asm__ volatile("");
}

struct api {
	void *(*alloc)(size_t);
	void (*release)(void *);
};

static void take(struct bench_block *b, const struct api *api, size_t size,
		 struct bench_rng *r)
{
	b->p = api->alloc(size);
	if (!b->p)
		bench_die("malloc(%zu) failed", size);
	b->size = size;
	b->tag = bench_rng_next(r);
	bench_fill(b);
	bench_corrupt_maybe(b);
}

static void give(struct bench_block *b, const struct api *api)
{
	if (!bench_check(b))
		bench_die_corrupt(b);
	api->release(b->p);
	b->p = NULL;
}

static void walk(const struct tier *t, uint64_t pairs, const struct api *api)
{
	struct bench_block slots[MAX_SLOTS] = { { 0 } };
	struct bench_rng r;

	bench_rng_seed(&r, 42);
	for (uint64_t i = 0; i < pairs; i++) {
		struct bench_block *b = &slots[i % t->slots];

		if (b->p)
			give(b, api);
		take(b, api, bench_rand_range(&r, t->min, t->max), &r);
	}
	for (unsigned i = 0; i < t->slots; i++)
		if (slots[i].p)
			give(&slots[i], api);
}

int main(int argc, char **argv)
{
	static const struct api direct = { malloc, free };
	static const struct api counted = { icount_malloc, icount_free };
	static char name[32];
	const struct tier *t = NULL;
	uint64_t pairs;
	double t0;

	bench_init("icount");
	for (size_t i = 0; argc == 3 && i < sizeof(tiers) / sizeof(*tiers); i++)
		if (!strcmp(argv[1], tiers[i].name))
			t = &tiers[i];
	if (!t) {
		fprintf(stderr, "usage: %s tiny|pool|medium|large PAIRS\n", argv[0]);
		return 2;
	}
	snprintf(name, sizeof(name), "icount_%s", t->name);
	bench_init(name);
	pairs = bench_arg(argv[2], "PAIRS", 1, UINT64_MAX);
	walk(t, pairs, &direct);
	t0 = bench_now();
	walk(t, pairs, &counted);
	bench_report(1, 2 * pairs, bench_now() - t0);
	return 0;
}
