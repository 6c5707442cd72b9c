/*
 * regionmap.c - the granule table: reserved once, written by region owners.
 */
#include <errno.h>

#include "../sysmem/sysmem.h"
#include "regionmap.h"

#define NR_GRANULES	((size_t)1 << (HAK_RMAP_ADDR_BITS - HAK_RMAP_SHIFT))

BUILD_BUG_ON(HAK_RMAP_ADDR_BITS - HAK_RMAP_SHIFT + HAK_RMAP_KIND_BITS > 32);

_Atomic(uint32_t *) hak_rmap_table;
static hak_counter_t granules_live, registrations;

static void set_range(void *base, size_t size, uint32_t entry)
{
	uint32_t *t = hak_atomic_load_relaxed(&hak_rmap_table);
	uintptr_t g = (uintptr_t)base >> HAK_RMAP_SHIFT;
	uintptr_t end = ((uintptr_t)base + size - 1) >> HAK_RMAP_SHIFT;

	for (; g <= end; g++)
		hak_atomic_store_release((_Atomic uint32_t *)&t[g], entry);
}

int hak_rmap_register(void *base, size_t size, enum hak_rmap_kind kind)
{
	uintptr_t a = (uintptr_t)base;

	hak_assert(a % HAK_RMAP_GRANULE == 0 && size > 0 && kind != HAK_RMAP_NONE);
	if (!hak_atomic_load_relaxed(&hak_rmap_table) || (a + size) >> HAK_RMAP_ADDR_BITS)
		return -ENOMEM;
	set_range(base, size, (uint32_t)((a >> HAK_RMAP_SHIFT) << HAK_RMAP_KIND_BITS) | kind);
	hak_count(registrations, 1);
	hak_count(granules_live, (size + HAK_RMAP_GRANULE - 1) >> HAK_RMAP_SHIFT);
	return 0;
}

void hak_rmap_unregister(void *base, size_t size)
{
	set_range(base, size, 0);
	hak_atomic_sub_relaxed(&granules_live, (size + HAK_RMAP_GRANULE - 1) >> HAK_RMAP_SHIFT);
}

static int rmap_init(const struct hak_options *opt)
{
	void *t;
	int err;

	(void)opt;
	err = hak_sys_reserve(NR_GRANULES * sizeof(uint32_t), &t);
	if (err)
		return err;
	hak_atomic_store_release(&hak_rmap_table, (uint32_t *)t);
	return 0;
}

static void rmap_stats(FILE *out)
{
	fprintf(out, "regionmap.registrations %llu\nregionmap.granules_live %llu\n",
		(unsigned long long)hak_atomic_load_relaxed(&registrations),
		(unsigned long long)hak_atomic_load_relaxed(&granules_live));
}

static void rmap_describe(char *buf, size_t len)
{
	snprintf(buf, len, "%zu granules of %zu MiB, table at %p",
		 NR_GRANULES, HAK_RMAP_GRANULE >> 20,
		 (void *)hak_atomic_load_relaxed(&hak_rmap_table));
}

const struct hak_box hak_box_regionmap = {
	.name = "regionmap",
	.layer = 1,
	.init = rmap_init,
	.stats = rmap_stats,
	.describe = rmap_describe,
};
