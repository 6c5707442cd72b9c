/*
 * hak_box.h - not a box: the shape of an entry in the box registry.
 *
 * Every box exports one "const struct hak_box hak_box_<name>". The frontend's
 * registry (boxes/frontend/registry.c) lists them bottom-up in one table and
 * walks it for init, thread exit, fork, stats and self-checks. Any op may be
 * NULL. The registry is control plane only: malloc and free call boxes
 * directly.
 */
#ifndef HAK_BOX_H
#define HAK_BOX_H

#include <stdint.h>
#include <stdio.h>

#include "hak_base.h"
#include "hak_options.h"

/**
 * struct hak_stats_sink - where counters go: one source, several formats
 * @box_begin:   the counters of box @name follow (the registry calls this)
 * @box_end:     the box is done
 * @value:       one counter, @name unique within its box or class
 * @class_begin: the counters until @class_end are size class @cls's, whose
 *               blocks are @bytes long; @cls indexes the one size class
 *               table (hak_class_bytes, hak_sizeclass.h), so class @cls
 *               holds requests from class @cls - 1's size + 1 up to @bytes
 * @class_end:   the class is done
 *
 * A box's stats op calls hak_stat() and the class calls; the frontend's
 * writers turn them into the text report, the JSON document and malloc_info's
 * XML. The FILE writers may allocate (stdio), so a stats op reads its
 * counters under its locks but reports them after unlocking.
 */
struct hak_stats_sink {
	void (*box_begin)(struct hak_stats_sink *s, const char *name);
	void (*box_end)(struct hak_stats_sink *s);
	void (*value)(struct hak_stats_sink *s, const char *name, uint64_t v);
	void (*class_begin)(struct hak_stats_sink *s, unsigned cls, unsigned bytes);
	void (*class_end)(struct hak_stats_sink *s);
};

static inline void hak_stat(struct hak_stats_sink *s, const char *name, uint64_t v)
{
	s->value(s, name, v);
}

/*
 * hak_stat_bytes_live() - report "bytes_out", the bytes of every block that
 * left @n size classes for a thread, and "bytes_live", those not back yet.
 * Class i's blocks are @bytes[i] long; its blocks_out and blocks_in counters
 * are @out and @in advanced by i * @stride bytes (an array of class structs).
 */
void hak_stat_bytes_live(struct hak_stats_sink *s, const hak_counter_t *out,
			 const hak_counter_t *in, size_t stride, const uint32_t *bytes,
			 unsigned n);

/* The same sums, returned: bytes out (the result) and *@live not back yet. */
uint64_t hak_class_bytes_sum(const hak_counter_t *out, const hak_counter_t *in,
			     size_t stride, const uint32_t *bytes, unsigned n,
			     uint64_t *live);

/**
 * struct hak_box - a box's registry entry
 * @name:            short name, unique ("sysmem", "tiny", ...)
 * @layer:           0 for the bottom box; a box only calls lower layers
 * @init:            called once, bottom-up, before any allocation is served;
 *                   @opt holds the run-time options; returns 0 or -errno
 * @thread_exit:     the calling thread is exiting: give cached memory back
 *                   (called top-down)
 * @prefork:         take every lock of the box (called top-down, before fork)
 * @postfork_parent: release them in the parent (bottom-up)
 * @postfork_child:  make them usable in the child (bottom-up)
 * @reclaim:         a mapping failed, or malloc_trim: give the OS back all
 *                   that the box keeps idle and can reach from any thread
 *                   (the caller's thread_exit ran first; top-down); unmap
 *                   after dropping the locks malloc/free may wait on;
 *                   returns the bytes given back
 * @decay:           give the OS back what has idled past the box's delay at
 *                   @now_ms (hak_sys_now_ms()), at most a fixed number of
 *                   spans, segments or mappings per call; called with no
 *                   lock held, unmaps after dropping its own; returns the
 *                   bytes given back (to the OS, or to the box below,
 *                   whose own decay returns them). Each box runs it from
 *                   its own slow paths; hak_registry_decay() walks every
 *                   box's (top-down)
 * @stats:           report the box's counters to @s (struct hak_stats_sink)
 * @self_check:      verify the box's invariants; returns the number of errors
 * @describe:        one line (no newline) for HAKMEM_VERBOSE=1
 */
struct hak_box {
	const char *name;
	int layer;
	int (*init)(const struct hak_options *opt);
	void (*thread_exit)(void);
	void (*prefork)(void);
	void (*postfork_parent)(void);
	void (*postfork_child)(void);
	size_t (*reclaim)(void);
	size_t (*decay)(uint64_t now_ms);
	void (*stats)(struct hak_stats_sink *s);
	int (*self_check)(void);
	void (*describe)(char *buf, size_t len);
};

#endif /* HAK_BOX_H */
