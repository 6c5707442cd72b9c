/*
 * regionmap.c - the two-level granule table: leaves mapped on demand,
 * installed lock-free, never freed. Entries are written by region owners.
 */
#include <errno.h>

#include "../sysmem/sysmem.h"
#include "regionmap.h"

BUILD_BUG_ON(HAK_RMAP_ADDR_BITS - HAK_RMAP_SHIFT + HAK_RMAP_KIND_BITS > 32);

/* What every slot points to until its range gets a leaf; never written
 * (not const: .bss costs no file space, unlike .rodata). */
static uint32_t zero_leaf[HAK_RMAP_LEAF_SIZE];
static uint8_t zero_class_leaf[HAK_RMAP_CLASS_LEAF_SIZE];

_Atomic(void *) hak_rmap_top[HAK_RMAP_TOP_SIZE] = {
	[0 ... HAK_RMAP_TOP_SIZE - 1] = zero_leaf,
};
_Atomic(void *) hak_rmap_class_top[HAK_RMAP_TOP_SIZE] = {
	[0 ... HAK_RMAP_TOP_SIZE - 1] = zero_class_leaf,
};
static hak_counter_t granules_live, registrations, leaves;

/*
 * The leaf in @slot, mapped (@bytes, zero-filled) and installed if it is
 * still @none; NULL on ENOMEM.
 */
static void *leaf_get(_Atomic(void *) *slot, void *none, size_t bytes)
{
	void *leaf = hak_atomic_load_acquire(slot), *fresh;

	if (leaf != none)
		return leaf;
	if (hak_sys_map(bytes, hak_sys_page_size(), &fresh))
		return NULL;
	if (hak_atomic_cas_acq_rel(slot, &none, fresh)) {
		hak_count(leaves, 1);
		return fresh;
	}
	hak_sys_unmap(fresh, bytes);	/* lost the race */
	return none;
}

static int set_range(void *base, size_t size, uint32_t entry)
{
	uintptr_t a = (uintptr_t)base, end = a + size;

	for (; a < end; a += HAK_RMAP_GRANULE) {
		_Atomic(void *) *slot = &hak_rmap_top[a >> HAK_RMAP_LEAF_SHIFT];
		uint32_t *leaf = entry ? leaf_get(slot, zero_leaf, sizeof(zero_leaf))
				       : hak_atomic_load_acquire(slot);

		if (!leaf)
			return -ENOMEM;
		if (leaf == zero_leaf)
			continue;	/* nothing registered there */
		if (entry && !leaf_get(&hak_rmap_class_top[a >> HAK_RMAP_LEAF_SHIFT],
				       zero_class_leaf, sizeof(zero_class_leaf)))
			return -ENOMEM;
		hak_atomic_store_release((_Atomic uint32_t *)
			&leaf[(a >> HAK_RMAP_SHIFT) & (HAK_RMAP_LEAF_SIZE - 1)], entry);
	}
	return 0;
}

int hak_rmap_register(void *base, size_t size, enum hak_rmap_kind kind)
{
	uintptr_t a = (uintptr_t)base;
	uint32_t entry;

	hak_assert(a % HAK_RMAP_GRANULE == 0 && size > 0 && kind != HAK_RMAP_NONE);
	if ((a + size - 1) >> HAK_RMAP_ADDR_BITS)
		return -ENOMEM;
	entry = size <= HAK_RMAP_GRANULE ? kind
					 : (uint32_t)((a >> HAK_RMAP_SHIFT) << HAK_RMAP_KIND_BITS) | kind;
	if (set_range(base, size, entry)) {
		set_range(base, size, 0);
		return -ENOMEM;
	}
	hak_count(registrations, 1);
	hak_count(granules_live, (size + HAK_RMAP_GRANULE - 1) >> HAK_RMAP_SHIFT);
	return 0;
}

static uint8_t *class_byte(uintptr_t a)
{
	uint8_t *leaf = hak_atomic_load_acquire(&hak_rmap_class_top[a >> HAK_RMAP_LEAF_SHIFT]);

	return &leaf[(a >> HAK_RMAP_PAGE_SHIFT) & (HAK_RMAP_CLASS_LEAF_SIZE - 1)];
}

void hak_rmap_set_class(const void *page, size_t npages, unsigned cls)
{
	uintptr_t a = (uintptr_t)page, step = (uintptr_t)1 << HAK_RMAP_PAGE_SHIFT;

	hak_assert(a % step == 0 && (cls < 255 || cls == HAK_RMAP_NO_CLASS));
	for (; npages--; a += step) {
		if (hak_atomic_load_acquire(&hak_rmap_class_top[a >> HAK_RMAP_LEAF_SHIFT]) ==
		    (void *)zero_class_leaf)	/* would name every unregistered page */
			hak_fatal("regionmap: page class set outside any region (%p)", (void *)a);
		__atomic_store_n(class_byte(a), (uint8_t)(cls + 1), __ATOMIC_RELAXED);
	}
}

void hak_rmap_unregister(void *base, size_t size)
{
	/* A stale class would send a later foreign pointer there to a bin. The
	 * owners clear their classes first; only bytes still set are written,
	 * so a large region's untouched class pages stay untouched. Relaxed
	 * atomics: once unmapped, the range may be mapped again by another
	 * thread, which sets its classes; the kernel orders the two, which
	 * ThreadSanitizer cannot see. */
	for (uintptr_t a = (uintptr_t)base; a < (uintptr_t)base + size;
	     a += (uintptr_t)1 << HAK_RMAP_PAGE_SHIFT) {
		uint8_t *c = class_byte(a);

		if (__atomic_load_n(c, __ATOMIC_RELAXED))
			__atomic_store_n(c, 0, __ATOMIC_RELAXED);
	}
	set_range(base, size, 0);
	hak_atomic_sub_relaxed(&granules_live, (size + HAK_RMAP_GRANULE - 1) >> HAK_RMAP_SHIFT);
}

static void rmap_stats(struct hak_stats_sink *s)
{
	hak_stat(s, "registrations", hak_atomic_load_relaxed(&registrations));
	hak_stat(s, "granules_live", hak_atomic_load_relaxed(&granules_live));
	hak_stat(s, "leaves", hak_atomic_load_relaxed(&leaves));
}

static void rmap_describe(char *buf, size_t len)
{
	snprintf(buf, len, "2 MiB granules and 64 KiB page classes, %zu leaves of %zu GiB each, %llu mapped",
		 HAK_RMAP_TOP_SIZE, ((size_t)1 << HAK_RMAP_LEAF_SHIFT) >> 30,
		 (unsigned long long)hak_atomic_load_relaxed(&leaves));
}

const struct hak_box hak_box_regionmap = {
	.name = "regionmap",
	.layer = 1,
	.stats = rmap_stats,
	.describe = rmap_describe,
};
