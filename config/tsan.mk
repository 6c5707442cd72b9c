# ThreadSanitizer over HAKMEM's own code; TSan owns malloc (see asan.mk).
PROFILE_CFLAGS := -O1 -g -fsanitize=thread
PROFILE_LDFLAGS := -fsanitize=thread
FLAG_HAK_DEBUG := 1
FLAG_HAKMEM_FORCE_LIBC_ALLOC_BUILD := 1
