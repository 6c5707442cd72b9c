/*
 * hak_options.h - not a box: the one list of run-time options.
 *
 * Each X(id, default, min, max, keywords, help) becomes the environment
 * variable HAKMEM_<id>. @keywords, when not NULL, names the values 0, 1, ...
 * ("fast|full"); numbers are accepted too. @keywords HAK_OPT_PATH marks an
 * option whose value is a file name: its value is 1 when set, and
 * hak_option_path() returns the name. The frontend parses the list
 * once at start-up (boxes/frontend/options.c) and hands every box's init the
 * result; a bad value is reported and the default used.
 */
#ifndef HAK_OPTIONS_H
#define HAK_OPTIONS_H

#include <stdbool.h>
#include <string.h>

#include "hakmem_config.h"

#define HAK_OPT_PATH "<path>"

/* Whether an option with these @keywords names a file (the library and tools/gen_options.c). */
static inline bool hak_option_is_path(const char *keywords)
{
	return keywords && strcmp(keywords, HAK_OPT_PATH) == 0;
}

#define HAK_OPTIONS(X)							\
	X(HELP, 0, 0, 1, NULL, "print this table at start-up")		\
	X(VERBOSE, 0, 0, 1, NULL, "print one line per box at start-up")	\
	X(STATS, 0, 0, 2, "off|text|json",				\
	  "at exit, write every box's counters as text or as one JSON document (docs/STATS.md)") \
	X(STATS_FILE, 0, 0, 1, HAK_OPT_PATH,				\
	  "write the HAKMEM_STATS report to this file, not stderr; %p in it becomes the process id; never through a symbolic link, and setuid programs ignore it") \
	X(CHECK, HAK_DEBUG, 0, 1, "fast|full",				\
	  "full: interior pointers, double free anywhere, use-after-free canaries, overruns past a large block's last page; the default in debug builds") \
	X(FOREIGN_FREE, 0, 0, 1, "abort|forward",			\
	  "free() of a pointer HAKMEM never returned: report and abort, or pass to the next free()") \
	X(TINY_CACHE, 128, 4, 4096, NULL,				\
	  "most blocks a thread keeps per tiny class (<= 1 KiB)")	\
	X(TINY_P0_ENABLE, 1, 0, 1, NULL,				\
	  "tiny bins refill and flush in batches (0: one block at a time)") \
	X(TINY_P0_NO_DRAIN, 0, 0, 1, NULL,				\
	  "A/B debugging only: owners do not drain their spans' remote frees") \
	X(TINY_P0_LOG, 0, 0, 1, NULL,					\
	  "log each tiny refill's span counter check to stderr")	\
	X(POOL_CACHE_KB, 32768, 0, 1048576, NULL,			\
	  "KiB of free pool blocks (1-52 KiB) all threads' bins hold together, beyond 64 KiB per class each; the learner allows up to 4x the pool's live bytes, at most 8x this") \
	X(POOL_TLS_ARENA_MB_INIT, 1, 1, 32, NULL,			\
	  "MiB of a thread's first pool arena chunk")			\
	X(POOL_TLS_ARENA_MB_MAX, 8, 1, 32, NULL,			\
	  "MiB of its largest chunks")					\
	X(POOL_TLS_ARENA_GROWTH_LEVELS, 3, 0, 5, NULL,			\
	  "times a thread's next chunk doubles, from _MB_INIT towards _MB_MAX") \
	X(POOL_THP_MB, 10, 0, 1048576, NULL,				\
	  "MiB of pool arena chunks on transparent huge pages, for the whole process: whole 2 MiB granules of the first chunks, asked once their arena holds 8 MiB of spans and the granule is nearly all spans (faster 1-52 KiB blocks; each such 2 MiB is committed whole)") \
	X(MEDIUM_CACHE_KB, 16384, 0, 1048576, NULL,			\
	  "most KiB of free medium blocks (52 KiB-1 MiB) each thread keeps; 0: none") \
	X(SS_KEEP, 2, 0, 1024, NULL,					\
	  "empty 2 MiB superslabs always kept mapped for reuse")	\
	X(SS_DELAY_MS, 1000, 0, 3600000, NULL,				\
	  "further empty superslabs, empty tiny spans, idle pool spans and empty chunks go back once idle this long; pool and medium bins unused this long shrink") \
	X(BIGCACHE_MB, -1, -1, 1048576, NULL,				\
	  "most MiB of freed large blocks kept for reuse, mappings and segment pages each (-1: 1/64 of memory within 256 MiB..1 GiB, and at most 1/8 of it)") \
	X(BIGCACHE_ENTRIES, 64, 0, 4096, NULL,				\
	  "most freed large blocks kept for reuse")			\
	X(BIGCACHE_DELAY_MS, 1000, 0, 3600000, NULL,			\
	  "a freed large block idle this long goes back to the OS (at the next large malloc/free, medium refill or flush, or thread exit); so do the free pages of a segment with no free for this long") \
	X(LARGE_RUNS_MB, 32, 0, 32, NULL,				\
	  "large blocks of up to this many MiB are cut from shared 128 MiB segments, where freed neighbours merge at once and a steady mix of sizes makes no system call; larger ones get a mapping each (0: all do)") \
	X(LARGE_THP, 0, 0, 1, NULL,					\
	  "1: transparent huge pages for large blocks: large segments past their first 2 MiB, and the whole 2 MiB granules a new block in a mapping of its own covers (faster; a sparsely used block commits more)") \
	X(LEARN, 1, 0, 1, "off|on",					\
	  "the learner sets cache sizes and return delays from demand and memory pressure, within the options above (off: they stay fixed)") \
	X(RSS_TARGET_MB, 0, 0, 1048576, NULL,				\
	  "the learner returns memory sooner as the resident set nears this many MiB, as it does near a cgroup memory.high or memory.max (0: no target)")

enum hak_option_id {
#define HAK_OPT_ENUM(id, def, min, max, kw, help) HAK_OPT_##id,
	HAK_OPTIONS(HAK_OPT_ENUM)
#undef HAK_OPT_ENUM
	HAK_OPT_COUNT
};

/* Values of options with keywords. */
enum { HAK_CHECK_FAST = 0, HAK_CHECK_FULL = 1 };
enum { HAK_FOREIGN_ABORT = 0, HAK_FOREIGN_FORWARD = 1 };
enum { HAK_STATS_OFF = 0, HAK_STATS_TEXT = 1, HAK_STATS_JSON = 2 };

/**
 * struct hak_options - the parsed option values, indexed by enum hak_option_id
 * @v: one value per option, within its [min, max]
 */
struct hak_options {
	long v[HAK_OPT_COUNT];
};

#endif /* HAK_OPTIONS_H */
