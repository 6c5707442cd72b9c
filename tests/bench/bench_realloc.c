/*
 * bench_realloc ROUNDS BUFS MAX SEED - buffers grown by realloc step by
 * step, then shrunk, as a program appending to growing arrays does.
 *
 * Each round starts BUFS buffers of 16..64 B; buffer i grows up to
 * MAX >> i (at least 4 KiB, or MAX if smaller), so with MAX = 256 MiB the
 * buffers span every tier. Each step picks a random buffer that is still
 * growing and reallocs it to 112.5..125 % of its size, then writes the new
 * bytes (the appended data); when all are full, they shrink step by step
 * the same way back to at most 64 B and are freed. After every realloc the
 * kept bytes are checked (first word, old or new last byte, a middle byte).
 * ops = mallocs + reallocs + frees.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"

#define START_MAX	64
#define CAP_MIN		4096

struct buf {
	struct bench_block b;
	size_t cap;
};

static uint8_t fill_byte(const struct bench_block *b)
{
	return (uint8_t)(b->tag >> 56) | 1;
}

/* The first word, byte @last and byte @mid of @b still hold the pattern. */
static void check_kept(const struct bench_block *b, size_t last, size_t mid)
{
	uint64_t head;
	const unsigned char *c = b->p;

	memcpy(&head, c, 8);
	if (head != b->tag || c[last] != fill_byte(b) || c[mid] != fill_byte(b))
		bench_die_corrupt(b);
}

static void buf_start(struct buf *f, size_t cap, struct bench_rng *r)
{
	size_t size = bench_rand_range(r, 16, START_MAX);

	f->b.p = malloc(size);
	if (!f->b.p)
		bench_die("malloc(%zu) failed", size);
	f->b.size = size;
	f->b.tag = bench_rng_next(r);
	memcpy(f->b.p, &f->b.tag, 8);
	memset((char *)f->b.p + 8, fill_byte(&f->b), size - 8);
	bench_corrupt_maybe(&f->b);
	f->cap = cap;
}

static void buf_resize(struct buf *f, size_t size)
{
	size_t old = f->b.size;
	void *p = realloc(f->b.p, size);

	if (!p)
		bench_die("realloc(%zu) failed", size);
	f->b.p = p;
	f->b.size = size;
	if (size > old) {
		check_kept(&f->b, old - 1, old / 2);
		memset((char *)p + old, fill_byte(&f->b), size - old);
	} else {
		check_kept(&f->b, size - 1, size / 2);
	}
}

/* A step of 12.5..25 % of @size, at least 1. */
static size_t step(size_t size, struct bench_rng *r)
{
	return size / 8 + bench_rand_range(r, 0, size / 8) + 1;
}

/* Grow (or shrink) random buffers until each reaches its goal; count calls. */
static uint64_t walk(struct buf *bufs, unsigned n, bool grow,
		     struct bench_rng *r)
{
	unsigned active[n], nactive = n;
	uint64_t ops = 0;

	for (unsigned i = 0; i < n; i++)
		active[i] = i;
	while (nactive) {
		unsigned k = (unsigned)bench_rand_range(r, 0, nactive - 1);
		struct buf *f = &bufs[active[k]];
		size_t s = f->b.size, d = step(s, r);
		bool done;

		if (grow)
			s = s + d >= f->cap ? f->cap : s + d;
		else
			s = s - d <= START_MAX ? START_MAX : s - d;
		buf_resize(f, s);
		ops++;
		done = grow ? s == f->cap : s == START_MAX;
		if (done)
			active[k] = active[--nactive];
	}
	return ops;
}

static uint64_t round_run(struct buf *bufs, unsigned n, size_t max,
			  struct bench_rng *r)
{
	uint64_t ops = 0;

	for (unsigned i = 0; i < n; i++) {
		size_t cap = i < 63 ? max >> i : 0;

		if (cap < CAP_MIN)
			cap = max < CAP_MIN ? max : CAP_MIN;
		buf_start(&bufs[i], cap, r);
	}
	ops += n + walk(bufs, n, true, r);
	ops += walk(bufs, n, false, r);
	for (unsigned i = 0; i < n; i++)
		check_kept(&bufs[i].b, bufs[i].b.size - 1, bufs[i].b.size / 2);
	for (unsigned i = 0; i < n; i++)
		free(bufs[i].b.p);
	return ops + n;
}

int main(int argc, char **argv)
{
	uint64_t rounds, ops = 0;
	unsigned n;
	size_t max;
	struct bench_rng r;
	struct buf *bufs;
	double t0, secs;

	bench_init("bench_realloc");
	if (argc != 5) {
		fprintf(stderr, "usage: %s ROUNDS BUFS MAX SEED\n", argv[0]);
		return 2;
	}
	rounds = bench_arg(argv[1], "ROUNDS", 1, UINT64_MAX);
	n = (unsigned)bench_arg(argv[2], "BUFS", 1, 4096);
	max = bench_arg(argv[3], "MAX", START_MAX * 2, 1ull << 32);
	bench_rng_seed(&r, bench_arg(argv[4], "SEED", 0, UINT64_MAX));
	bufs = calloc(n, sizeof(*bufs));
	if (!bufs)
		bench_die("out of memory");
	t0 = bench_now();
	for (uint64_t i = 0; i < rounds; i++)
		ops += round_run(bufs, n, max, &r);
	secs = bench_now() - t0;
	free(bufs);
	bench_report(1, ops, secs);
	return 0;
}
