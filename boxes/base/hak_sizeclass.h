/*
 * hak_sizeclass.h - not a box: the size classes of every request a thread
 * cache serves, 1 B - 1 MiB, shared by tiny, pool, medium and superslab.
 *
 * One rule: steps of 16 B up to 128 B, then 8 classes per doubling, so a
 * request wastes under 16 B below 128 B and under 1/8 above. Classes
 * 0..HAK_SMALL_NCLASSES-1 (16 B - 52 KiB) are carved from spans of 64 KiB
 * pages, whose class the region map keeps (tiny: 0..31, up to 1 KiB; pool:
 * 32..76); the classes above (56 KiB - 1 MiB) are whole 4 KiB pages
 * (medium). The tables are constant (sizeclass.c): they are right before
 * anything is initialised, and a lookup is one load.
 */
#ifndef HAK_SIZECLASS_H
#define HAK_SIZECLASS_H

#include "hak_base.h"

#define HAK_NCLASSES		112		/* 16 B .. 1 MiB */
#define HAK_CLASS_MAX		(1u << 20)	/* the largest class's blocks */
#define HAK_SMALL_NCLASSES	77		/* 16 B .. 52 KiB: blocks in spans */
#define HAK_SMALL_MAX		(52u << 10)
#define HAK_CLASS_BY_SIZE_MAX	1024		/* hak_class_by_size[] covers 0..1 KiB */
#define HAK_CLASS_PAGE_SHIFT	12		/* hak_class_by_page[] is by 4 KiB page */

/*
 * HAK_CLASS_BYTES() - the block size of class @c, as a constant expression:
 * 16 B steps for classes 0..7, then, from 128 B, 8 steps of 1/8 of each
 * power of two.
 */
#define HAK_CLASS_BYTES(c)						\
	((c) < 8 ? 16u * ((c) + 1)					\
		 : (128u + ((c) % 8 + 1) * 16u) << (HAK_MAX(c, 8) - 8) / 8)

/* Block size of each class. */
extern HAK_HIDDEN const uint32_t hak_class_bytes[HAK_NCLASSES];
/* The class of each request of 0..HAK_CLASS_BY_SIZE_MAX bytes. */
extern HAK_HIDDEN const uint8_t hak_class_by_size[HAK_CLASS_BY_SIZE_MAX + 1];
/*
 * The smallest class of whole pages (HAK_SMALL_NCLASSES or above) that
 * holds a request of 1..HAK_CLASS_MAX bytes, by (size - 1) >> HAK_CLASS_PAGE_SHIFT.
 */
extern HAK_HIDDEN const uint8_t hak_class_by_page[HAK_CLASS_MAX >> HAK_CLASS_PAGE_SHIFT];

/*
 * hak_size_class() - the class of a request of @size <= HAK_CLASS_MAX
 * bytes, computed (the tables above are one load for the sizes they cover).
 */
HAK_FAST_PATH unsigned hak_size_class(size_t size)
{
	unsigned b;

	if (size <= 128)
		return size ? (unsigned)((size + 15) >> 4) - 1 : 0;
	b = 63 - (unsigned)__builtin_clzll(size - 1);
	return 8 + (b - 7) * 8 + (unsigned)(((size - 1) >> (b - 3)) & 7);
}

#endif /* HAK_SIZECLASS_H */
