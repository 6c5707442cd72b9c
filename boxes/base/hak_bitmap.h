/*
 * hak_bitmap.h - not a box: bit arrays of uint64_t words, such as the free
 * page maps of pool chunks and large-block segments.
 */
#ifndef HAK_BITMAP_H
#define HAK_BITMAP_H

#include "hak_base.h"

HAK_FAST_PATH bool hak_bit(const uint64_t *w, unsigned i)
{
	return w[i / 64] >> (i % 64) & 1;
}

/* hak_bits_next() - first index in [@i, @end) whose bit is @v, or @end. */
static inline unsigned hak_bits_next(const uint64_t *w, unsigned i, unsigned end, bool v)
{
	while (i < end) {
		uint64_t word = (v ? w[i / 64] : ~w[i / 64]) >> (i % 64);

		if (word) {
			i += (unsigned)__builtin_ctzll(word);
			return i < end ? i : end;
		}
		i = (i / 64 + 1) * 64;
	}
	return end;
}

/* The bits of [@first, @first + @n) that lie in @first's word; advances both past them. */
static inline uint64_t hak_bits_take_word(unsigned *first, unsigned *n)
{
	unsigned b = *first % 64, k = 64 - b < *n ? 64 - b : *n;

	*first += k;
	*n -= k;
	return (k == 64 ? ~(uint64_t)0 : ((uint64_t)1 << k) - 1) << b;
}

/* hak_bits_assign() - set (@v) or clear bits [@first, @first + @n), a word at a time. */
static inline void hak_bits_assign(uint64_t *w, unsigned first, unsigned n, bool v)
{
	while (n) {
		uint64_t *word = &w[first / 64];
		uint64_t m = hak_bits_take_word(&first, &n);

		*word = v ? *word | m : *word & ~m;
	}
}

/* hak_bits_count() - how many of bits [@first, @first + @n) are set. */
static inline unsigned hak_bits_count(const uint64_t *w, unsigned first, unsigned n)
{
	unsigned c = 0;

	while (n) {
		const uint64_t *word = &w[first / 64];

		c += (unsigned)__builtin_popcountll(*word & hak_bits_take_word(&first, &n));
	}
	return c;
}

/* hak_bits_any() - is any of bits [@first, @first + @n) set? */
static inline bool hak_bits_any(const uint64_t *w, unsigned first, unsigned n)
{
	return hak_bits_next(w, first, first + n, true) < first + n;
}

/* hak_bits_find_run() - first index of @n set bits in a row within [@from, @end), or -1. */
static inline int hak_bits_find_run(const uint64_t *w, unsigned from, unsigned end, unsigned n)
{
	for (unsigned i = from;;) {
		unsigned j;

		i = hak_bits_next(w, i, end, true);
		if (end - i < n)
			return -1;
		j = hak_bits_next(w, i, i + n, false);
		if (j == i + n)
			return (int)i;
		i = j;
	}
}

#endif /* HAK_BITMAP_H */
