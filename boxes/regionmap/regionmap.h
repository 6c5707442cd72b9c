/*
 * regionmap.h - the O(1) answer to "whose pointer is this?". Layer 1.
 *
 * One 32-bit entry per 2 MiB granule of the 47-bit user address space, in
 * two levels: a static top table of 512 leaf pointers (one per 256 GiB) and
 * 512 KiB leaves mapped the first time a region lands in their range (until
 * then the slot points to one shared all-zero leaf, so lookups never test
 * for a missing leaf). An
 * entry names the kind of region that owns the granule and where that region
 * starts (a region of a single granule, such as a superslab, stores its kind
 * alone: the entry then equals the kind, and the base is the granule of the
 * pointer), so a lookup touches only HAKMEM's tables and makes no system call;
 * it needs no init (an empty top table answers 0) and reserves no address
 * space up front, so a small RLIMIT_AS is no obstacle. Regions are 2 MiB-
 * aligned and own every granule they overlap.
 *
 * A second table of the same shape keeps one byte per 64 KiB page: the size
 * class of the blocks on that page, set by the superslab and pool boxes when
 * they carve a span and cleared when the span goes back. free() finds the
 * class of a tiny or pool block from it alone, in one lookup that touches no
 * region header; a segment's pages read HAK_RMAP_RUNS, which sends free()
 * straight to the medium tier. A region's class leaves are mapped when it
 * registers, so setting a class cannot fail.
 *
 * Registration is done by the owner of a fresh region before any pointer into
 * it escapes, and undone before the region is unmapped; lookups need no lock.
 */
#ifndef HAK_REGIONMAP_H
#define HAK_REGIONMAP_H

#include "../base/hak_base.h"
#include "../base/hak_box.h"

#define HAK_RMAP_SHIFT		21
#define HAK_RMAP_GRANULE	((size_t)1 << HAK_RMAP_SHIFT)
#define HAK_RMAP_ADDR_BITS	47
#define HAK_RMAP_KIND_BITS	4
#define HAK_RMAP_LEAF_SHIFT	38	/* a top table fills one 4 KiB page */
#define HAK_RMAP_TOP_SIZE	((size_t)1 << (HAK_RMAP_ADDR_BITS - HAK_RMAP_LEAF_SHIFT))
#define HAK_RMAP_LEAF_SIZE	((size_t)1 << (HAK_RMAP_LEAF_SHIFT - HAK_RMAP_SHIFT))
#define HAK_RMAP_PAGE_SHIFT	16
#define HAK_RMAP_CLASS_LEAF_SIZE ((size_t)1 << (HAK_RMAP_LEAF_SHIFT - HAK_RMAP_PAGE_SHIFT))
#define HAK_RMAP_NO_CLASS	(~0u)		/* hak_rmap_class() of a page without blocks */
#define HAK_RMAP_RUNS		254u		/* ... of a segment's page: runs, each tagged with its class */

enum hak_rmap_kind {
	HAK_RMAP_NONE = 0,
	HAK_RMAP_SUPERSLAB = 1,
	HAK_RMAP_LARGE = 2,
	HAK_RMAP_POOL = 3,
	HAK_RMAP_SEGMENT = 4,	/* page runs <= 1 MiB of the medium tier (bigcache) */
	HAK_RMAP_LARGE_RUNS = 5,	/* large blocks as page runs (bigcache) */
};

/**
 * hak_rmap_register() - name @kind as owner of [@base, @base + @size)
 * @base: 2 MiB-aligned start of the region
 * @size: bytes (need not be a multiple of 2 MiB)
 * Context: may map a leaf (a system call), so call it with no lock held
 * that malloc or free may wait for, unless the range was registered before
 * (its leaves exist: nothing is mapped and it cannot fail).
 * Returns 0, or -ENOMEM when a leaf could not be mapped.
 */
int hak_rmap_register(void *base, size_t size, enum hak_rmap_kind kind);

/**
 * hak_rmap_unregister() - forget [@base, @base + @size), page classes
 * included; call before unmapping.
 */
void hak_rmap_unregister(void *base, size_t size);

/**
 * hak_rmap_set_class() - the @npages 64 KiB pages from @page hold blocks of
 * size class @cls (< 255), or none (HAK_RMAP_NO_CLASS). Only for pages of
 * a region the caller registered.
 */
void hak_rmap_set_class(const void *page, size_t npages, unsigned cls);

/* ---------------------------------------------------------------- fast path */

/* Leaves: uint32_t entries per granule, uint8_t classes per page. */
extern HAK_HIDDEN _Atomic(void *) hak_rmap_top[HAK_RMAP_TOP_SIZE];
extern HAK_HIDDEN _Atomic(void *) hak_rmap_class_top[HAK_RMAP_TOP_SIZE];

/**
 * hak_rmap_lookup() - the entry for @p: 0 when HAKMEM does not own that
 * granule. Decode with hak_rmap_kind() and hak_rmap_base().
 */
HAK_FAST_PATH uint32_t hak_rmap_lookup(const void *p)
{
	uintptr_t a = (uintptr_t)p, top = a >> HAK_RMAP_LEAF_SHIFT;
	const uint32_t *leaf;

	if (unlikely(top >= HAK_RMAP_TOP_SIZE))	/* beyond the 47-bit user space */
		return 0;
	leaf = hak_atomic_load_acquire(&hak_rmap_top[top]);
	/* acquire: pairs with the owner's release, so the region's header
	 * written before registration is visible (a plain load on x86) */
	return hak_atomic_load_acquire((_Atomic uint32_t *)
		&leaf[(a >> HAK_RMAP_SHIFT) & (HAK_RMAP_LEAF_SIZE - 1)]);
}

/**
 * hak_rmap_class_user() - size class of the blocks on @p's 64 KiB page, or
 * HAK_RMAP_NO_CLASS, for a @p the caller has checked is in the 47-bit user
 * space; hak_rmap_class() checks. A relaxed load: the class was set before
 * any block of the page escaped.
 */
HAK_FAST_PATH unsigned hak_rmap_class_user(const void *p)
{
	uintptr_t a = (uintptr_t)p;
	const uint8_t *leaf = hak_atomic_load_acquire(&hak_rmap_class_top[a >> HAK_RMAP_LEAF_SHIFT]);

	/* stored as class + 1, so that a never-written byte reads "none"; a
	 * relaxed load (a plain one on x86): a page being carved again may be
	 * written meanwhile by its owner */
	return (unsigned)__atomic_load_n(&leaf[(a >> HAK_RMAP_PAGE_SHIFT) & (HAK_RMAP_CLASS_LEAF_SIZE - 1)],
					 __ATOMIC_RELAXED) - 1;
}

HAK_FAST_PATH unsigned hak_rmap_class(const void *p)
{
	if (unlikely((uintptr_t)p >> HAK_RMAP_ADDR_BITS))
		return HAK_RMAP_NO_CLASS;
	return hak_rmap_class_user(p);
}

HAK_FAST_PATH enum hak_rmap_kind hak_rmap_kind(uint32_t entry)
{
	return (enum hak_rmap_kind)(entry & ((1u << HAK_RMAP_KIND_BITS) - 1));
}

/* hak_rmap_base() - start of the region that owns @p, from @p's @entry. */
HAK_FAST_PATH void *hak_rmap_base(uint32_t entry, const void *p)
{
	uintptr_t g = entry >> HAK_RMAP_KIND_BITS;

	if (!g)		/* a single-granule region */
		return (void *)((uintptr_t)p & ~(HAK_RMAP_GRANULE - 1));
	return (void *)(g << HAK_RMAP_SHIFT);
}

extern const struct hak_box hak_box_regionmap;

#endif /* HAK_REGIONMAP_H */
