# Release: what users link.
PROFILE_CFLAGS := -O2 -g -fno-plt -fno-tree-slp-vectorize
