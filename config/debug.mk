# Debug: no optimisation, assertions, full checks, libunwind backtraces.
PROFILE_CFLAGS := -O0 -g3
FLAG_HAK_DEBUG := 1
FLAG_HAK_BACKTRACE := 1
FLAG_HAK_STATS_FAST := 1
FLAG_AGGRESSIVE_INLINE := 0
PROFILE_LIBS := -lunwind
