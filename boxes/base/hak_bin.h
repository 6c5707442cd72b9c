/*
 * hak_bin.h - not a box: a thread's LIFO list of free blocks of one class.
 *
 * The fast paths of tiny and pool are a pop or a push on a bin: no atomic
 * operation, no lock. A block on a bin holds the next pointer in its first
 * word and hak_free_key in its second, so an immediate double free is seen
 * (glibc's tcache does the same); pop clears the key.
 */
#ifndef HAK_BIN_H
#define HAK_BIN_H

#include "hak_base.h"

/**
 * struct hak_bin - one class's free blocks in one thread
 * @head:  first free block, NULL when empty
 * @count: blocks on the list
 * @cap:   most blocks the list may hold; 0 sends every free to the slow path
 */
struct hak_bin {
	void *head;
	uint32_t count;
	uint32_t cap;
};

/* Random per process; set once at init, before any block is freed. */
extern HAK_HIDDEN uint64_t hak_free_key;

HAK_FAST_PATH void *hak_bin_pop(struct hak_bin *b)
{
	void **p = b->head;

	if (likely(p != NULL)) {
		b->head = p[0];
		/* the next pop reads the next block: often a line another
		 * core wrote last (a remote free), so start fetching it now */
		__builtin_prefetch(p[0], 1);
		b->count--;
		p[1] = NULL;
	}
	return p;
}

HAK_FAST_PATH void hak_bin_push(struct hak_bin *b, void *blk)
{
	void **p = blk;
	uint64_t key = hak_free_key;	/* read before the stores below */

	p[0] = b->head;
	p[1] = (void *)(uintptr_t)key;
	b->head = p;
	b->count++;
}

/* hak_bin_has_key() - @blk looks freed already: confirm with hak_bin_contains(). */
HAK_FAST_PATH bool hak_bin_has_key(const void *blk)
{
	return ((const uint64_t *)blk)[1] == hak_free_key;
}

/* O(count): only for the slow path that confirms a suspected double free. */
static inline bool hak_bin_contains(const struct hak_bin *b, const void *blk)
{
	for (void **p = b->head; p; p = p[0])
		if (p == blk)
			return true;
	return false;
}

#endif /* HAK_BIN_H */
