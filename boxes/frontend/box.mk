lib-src += boxes/frontend/registry.c boxes/frontend/options.c \
	   boxes/frontend/frontend.c boxes/frontend/glibc.c boxes/frontend/version.c \
	   boxes/frontend/stats.c
# The libc names: only in libhakmem.a/.so, never in the unit-test library.
override-src += boxes/frontend/override.c
