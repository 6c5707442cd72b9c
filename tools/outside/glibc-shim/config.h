/* Stand-in for glibc's generated config.h (tools/outside/glibc_tests.sh): nothing needed. */
