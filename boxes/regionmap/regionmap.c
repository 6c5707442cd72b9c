/*
 * regionmap.c - the two-level granule table: leaves mapped on demand,
 * installed lock-free, never freed. Entries are written by region owners.
 */
#include <errno.h>

#include "../sysmem/sysmem.h"
#include "regionmap.h"

BUILD_BUG_ON(HAK_RMAP_ADDR_BITS - HAK_RMAP_SHIFT + HAK_RMAP_KIND_BITS > 32);

/* What every slot points to until its range gets a leaf; never written
 * (not const: .bss costs no file space, unlike 128 KiB of .rodata). */
static uint32_t zero_leaf[HAK_RMAP_LEAF_SIZE];

_Atomic(uint32_t *) hak_rmap_top[HAK_RMAP_TOP_SIZE] = {
	[0 ... HAK_RMAP_TOP_SIZE - 1] = zero_leaf,
};
static hak_counter_t granules_live, registrations, leaves;

/* The leaf covering @a, mapped and installed if missing; NULL on ENOMEM. */
static uint32_t *leaf_of(uintptr_t a)
{
	_Atomic(uint32_t *) *slot = &hak_rmap_top[a >> HAK_RMAP_LEAF_SHIFT];
	uint32_t *leaf = hak_atomic_load_acquire(slot), *none = zero_leaf;
	void *fresh;

	if (leaf != zero_leaf)
		return leaf;
	if (hak_sys_map(HAK_RMAP_LEAF_SIZE * sizeof(uint32_t), hak_sys_page_size(), &fresh))
		return NULL;
	if (hak_atomic_cas_acq_rel(slot, &none, (uint32_t *)fresh)) {
		hak_count(leaves, 1);
		return fresh;
	}
	hak_sys_unmap(fresh, HAK_RMAP_LEAF_SIZE * sizeof(uint32_t));	/* lost the race */
	return none;
}

static int set_range(void *base, size_t size, uint32_t entry)
{
	uintptr_t a = (uintptr_t)base, end = a + size;

	for (; a < end; a += HAK_RMAP_GRANULE) {
		uint32_t *leaf = entry ? leaf_of(a)
				       : hak_atomic_load_acquire(&hak_rmap_top[a >> HAK_RMAP_LEAF_SHIFT]);

		if (!leaf)
			return -ENOMEM;
		if (leaf == zero_leaf)
			continue;	/* nothing registered there */
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

void hak_rmap_unregister(void *base, size_t size)
{
	set_range(base, size, 0);
	hak_atomic_sub_relaxed(&granules_live, (size + HAK_RMAP_GRANULE - 1) >> HAK_RMAP_SHIFT);
}

static void rmap_stats(FILE *out)
{
	fprintf(out, "regionmap.registrations %llu\nregionmap.granules_live %llu\nregionmap.leaves %llu\n",
		(unsigned long long)hak_atomic_load_relaxed(&registrations),
		(unsigned long long)hak_atomic_load_relaxed(&granules_live),
		(unsigned long long)hak_atomic_load_relaxed(&leaves));
}

static void rmap_describe(char *buf, size_t len)
{
	snprintf(buf, len, "2 MiB granules, %zu leaves of %zu GiB, %llu mapped",
		 HAK_RMAP_TOP_SIZE, ((size_t)1 << HAK_RMAP_LEAF_SHIFT) >> 30,
		 (unsigned long long)hak_atomic_load_relaxed(&leaves));
}

const struct hak_box hak_box_regionmap = {
	.name = "regionmap",
	.layer = 1,
	.stats = rmap_stats,
	.describe = rmap_describe,
};
