/*
 * Stand-in for glibc's internal libc-diag.h, for building glibc's malloc
 * tests outside glibc (tools/outside/glibc_tests.sh): the tests use these
 * macros only to silence compiler warnings, so they expand to nothing.
 */
#ifndef GLIBC_SHIM_LIBC_DIAG_H
#define GLIBC_SHIM_LIBC_DIAG_H
#define DIAG_PUSH_NEEDS_COMMENT
#define DIAG_POP_NEEDS_COMMENT
#define DIAG_IGNORE_NEEDS_COMMENT(version, option)
#define DIAG_IGNORE_Os_NEEDS_COMMENT(version, option)
#endif
