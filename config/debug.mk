# Debug: no optimisation, assertions, full checks, libunwind backtraces.
PROFILE_CFLAGS := -O0 -g3
FLAG_HAK_DEBUG := 1
FLAG_HAK_BACKTRACE := 1
FLAG_HAK_STATS_FAST := 1
FLAG_AGGRESSIVE_INLINE := 0
# libgcc_s before libunwind: both define _Unwind_*, and the first in the
# search order wins, also for libgcc_s's own calls when glibc unwinds a
# cancelled thread; libunwind's would skip libc's cleanups (a FILE stays
# locked). --no-as-needed: nothing here calls libgcc_s, it must stay.
PROFILE_LIBS := -Wl,--push-state,--no-as-needed -lgcc_s -Wl,--pop-state -lunwind
