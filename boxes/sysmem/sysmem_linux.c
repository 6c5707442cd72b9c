/*
 * sysmem_linux.c - P4 on Linux: mmap/munmap/madvise/mremap and counters.
 *
 * No locks: counters are relaxed atomics. The thread-exit key is created at
 * init; its destructor calls the frontend's hook once per exiting thread that
 * asked to be watched.
 */
#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../base/hak_base.h"
#include "../base/hak_lock.h"
#include "sysmem.h"

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25	/* Linux 6.1; older headers lack it */
#endif

#define HAK_SYS_STAT_FIELDS(X)						\
	X(map_calls) X(unmap_calls) X(decommit_calls) X(remap_calls)	\
	X(bytes_mapped) X(bytes_unmapped) X(bytes_decommitted) X(map_failures) \
	X(unmap_failures) X(bytes_stranded) X(hugepage_bytes) X(collapse_bytes) \
	X(collapse_failures)

static struct {
#define X(f) hak_counter_t f;
	HAK_SYS_STAT_FIELDS(X)
#undef X
} st;

static pthread_key_t exit_key;
static void (*exit_hook)(void);
static HAK_TLS bool watched, exiting;

#ifdef HAKMEM_TEST
_Atomic long hak_sys_fail_after = -1;
_Atomic bool hak_sys_fail_once;
_Atomic long hak_sys_calls;

/* Every system call below asks first: true when this one must fail. */
static bool inject_fault(void)
{
	long n = hak_atomic_load_relaxed(&hak_sys_fail_after);

	hak_atomic_add_relaxed(&hak_sys_calls, 1);
	while (n > 0 && !atomic_compare_exchange_weak(&hak_sys_fail_after, &n, n - 1))
		;
	if (n == 0 && hak_atomic_load_relaxed(&hak_sys_fail_once))
		atomic_store(&hak_sys_fail_after, -1);
	return n == 0;
}

_Atomic bool hak_sys_fail_split;

static bool inject_split_fault(void)
{
	return hak_atomic_load_relaxed(&hak_sys_fail_split) &&
	       atomic_exchange(&hak_sys_fail_split, false);
}
#else
static bool inject_fault(void)
{
	return false;
}

static bool inject_split_fault(void)
{
	return false;
}
#endif

size_t hak_sys_page_size(void)
{
	static size_t page;

	if (unlikely(!page))
		page = (size_t)sysconf(_SC_PAGESIZE);
	return page;
}

uint64_t hak_sys_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

size_t hak_sys_phys_mem(void)
{
	return (size_t)sysconf(_SC_PHYS_PAGES) * hak_sys_page_size();
}

unsigned hak_sys_ncpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (unsigned)n : 1;
}

static int map_raw(size_t size, int prot, int extra, void **out)
{
	void *p;

	if (inject_fault()) {
		hak_count(st.map_failures, 1);
		return -ENOMEM;
	}
	p = mmap(NULL, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | extra, -1, 0);
	if (p == MAP_FAILED) {
		hak_count(st.map_failures, 1);
		return -ENOMEM;
	}
	hak_count(st.map_calls, 1);
	hak_count(st.bytes_mapped, size);
	*out = p;
	return 0;
}

/* Trim [p, p+total) down to the @align-aligned @size bytes inside it. */
static void *trim_to_align(char *p, size_t total, size_t size, size_t align)
{
	char *a = (char *)HAK_ALIGN_UP((uintptr_t)p, align);
	size_t head = (size_t)(a - p), tail = total - head - size;

	if (head)
		hak_sys_unmap(p, head);
	if (tail)
		hak_sys_unmap(a + size, tail);
	return a;
}

static int map_aligned(size_t size, size_t align, int prot, void **out)
{
	size_t page = hak_sys_page_size();
	void *p;
	int err;

	hak_assert(size && size % page == 0 && HAK_IS_POW2(align));
	if (align > SIZE_MAX / 4 || size > SIZE_MAX / 4 - align)
		return -ENOMEM;
	if (align <= page)
		return map_raw(size, prot, 0, out);
	/* Try the exact size first: the kernel often hands out aligned ranges. */
	err = map_raw(size, prot, 0, &p);
	if (err)
		return err;
	if ((uintptr_t)p % align == 0) {
		*out = p;
		return 0;
	}
	hak_sys_unmap(p, size);
	err = map_raw(size + align - page, prot, 0, &p);
	if (err)
		return err;
	*out = trim_to_align(p, size + align - page, size, align);
	return 0;
}

int hak_sys_map(size_t size, size_t align, void **out)
{
	hak_assert_no_lock();
	return map_aligned(size, align, PROT_READ | PROT_WRITE, out);
}

/* Mapped inaccessible, then opened: only what is ever writable is charged. */
int hak_sys_map_part(size_t size, size_t *open, size_t align, void **out)
{
	int err;

	hak_assert_no_lock();
	hak_assert(*open && *open <= size && *open % hak_sys_page_size() == 0);
	if (*open == size)
		return hak_sys_map(size, align, out);
	err = map_aligned(size, align, PROT_NONE, out);
	if (err)
		return err;
	if (inject_split_fault() || inject_fault() ||
	    mprotect(*out, *open, PROT_READ | PROT_WRITE)) {
		/* no VMA to spare for the split (vm.max_map_count): open it all */
		*open = size;
		if (inject_fault() || mprotect(*out, size, PROT_READ | PROT_WRITE)) {
			hak_sys_unmap(*out, size);
			hak_count(st.map_failures, 1);
			return -ENOMEM;
		}
	}
	return 0;
}

int hak_sys_reserve(size_t size, void **out)
{
	hak_assert_no_lock();
	return map_raw(size, PROT_READ | PROT_WRITE, MAP_NORESERVE, out);
}

int hak_sys_unmap(void *p, size_t size)
{
	int err = 0;

	hak_assert_no_lock();
	if (inject_fault() || munmap(p, size) != 0) {
		/* only a split at vm.max_map_count fails: keep the addresses,
		 * give the pages back */
		err = -ENOMEM;
		hak_count(st.unmap_failures, 1);
		hak_count(st.bytes_stranded, size);
		if (madvise(p, size, MADV_DONTNEED))
			return err;
	}
	hak_count(st.unmap_calls, 1);
	hak_count(st.bytes_unmapped, size);
	return err;
}

int hak_sys_guard(void *p, size_t size)
{
	hak_assert_no_lock();
	if (inject_fault() ||
	    mmap(p, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_NORESERVE,
		 -1, 0) == MAP_FAILED)
		return -ENOMEM;
	hak_count(st.bytes_unmapped, size);
	return 0;
}

int hak_sys_unguard(void *p, size_t size)
{
	hak_assert_no_lock();
	if (inject_fault() || munmap(p, size)) {
		hak_count(st.unmap_failures, 1);	/* nothing to give back: no pages */
		hak_count(st.bytes_stranded, size);
		return -ENOMEM;
	}
	return 0;
}

int hak_sys_close(void *p, size_t size)
{
	hak_assert_no_lock();
	if (inject_fault())
		return -ENOMEM;
	return mprotect(p, size, PROT_NONE) ? -errno : 0;
}

int hak_sys_reopen(void *p, size_t size)
{
	hak_assert_no_lock();
	if (inject_fault())
		return -ENOMEM;
	return mprotect(p, size, PROT_READ | PROT_WRITE) ? -errno : 0;
}

int hak_sys_decommit(void *p, size_t size)
{
	hak_assert_no_lock();
	if (inject_fault())
		return -ENOMEM;
	if (madvise(p, size, MADV_DONTNEED) != 0)
		return -errno;
	hak_count(st.decommit_calls, 1);
	hak_count(st.bytes_decommitted, size);
	return 0;
}

int hak_sys_hugepage(void *p, size_t size)
{
	hak_assert_no_lock();
	if (inject_fault())
		return -ENOMEM;
	if (madvise(p, size, MADV_HUGEPAGE) != 0)
		return -errno;
	hak_count(st.hugepage_bytes, size);
	return 0;
}

int hak_sys_nohugepage(void *p, size_t size)
{
	hak_assert_no_lock();
	if (inject_fault())
		return -ENOMEM;
	if (madvise(p, size, MADV_NOHUGEPAGE) != 0)
		return -errno;
	return 0;
}

int hak_sys_collapse(void *p, size_t size)
{
	int err = 0;

	hak_assert_no_lock();
	if (inject_fault())
		err = -ENOMEM;
	else if (madvise(p, size, MADV_COLLAPSE) != 0)
		err = -errno;
	if (err) {
		hak_count(st.collapse_failures, 1);
		return err;
	}
	hak_count(st.collapse_bytes, size);
	return 0;
}

int hak_sys_move(void *src, size_t size, void *dst)
{
	hak_assert_no_lock();
	hak_assert(size % hak_sys_page_size() == 0);
	if (inject_fault())
		return -ENOMEM;
	hak_count(st.remap_calls, 1);
	if (mremap(src, size, size, MREMAP_MAYMOVE | MREMAP_FIXED, dst) == MAP_FAILED)
		return -errno;
	hak_count(st.bytes_unmapped, size);	/* the pages at @dst were replaced */
	return 0;
}

static void thread_exit_destructor(void *arg)
{
	(void)arg;
	exiting = true;
	if (exit_hook)
		exit_hook();
}

bool hak_sys_thread_exiting(void)
{
	return exiting;
}

void hak_sys_thread_watch(void)
{
	if (likely(watched))
		return;
	watched = true;
	pthread_setspecific(exit_key, (void *)1);
}

void hak_sys_set_thread_exit_hook(void (*hook)(void))
{
	exit_hook = hook;
}

size_t hak_sys_bytes_mapped(void)
{
	return (size_t)(hak_atomic_load_relaxed(&st.bytes_mapped) -
			hak_atomic_load_relaxed(&st.bytes_unmapped));
}

static int sys_init(const struct hak_options *opt)
{
	(void)opt;
	hak_sys_page_size();
	return pthread_key_create(&exit_key, thread_exit_destructor) ? -EAGAIN : 0;
}

static void sys_stats(struct hak_stats_sink *s)
{
#define X(f) hak_stat(s, #f, hak_atomic_load_relaxed(&st.f));
	HAK_SYS_STAT_FIELDS(X)
#undef X
}

static void sys_describe(char *buf, size_t len)
{
	snprintf(buf, len, "page %zu B, %zu MiB physical, thread-exit key %u",
		 hak_sys_page_size(), hak_sys_phys_mem() >> 20, exit_key);
}

const struct hak_box hak_box_sysmem = {
	.name = "sysmem",
	.layer = 0,
	.init = sys_init,
	.stats = sys_stats,
	.describe = sys_describe,
};
