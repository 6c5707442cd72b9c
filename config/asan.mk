# AddressSanitizer + UBSan over HAKMEM's own code; ASan owns malloc, so the
# unit tests drive HAKMEM through the hak_* API.
PROFILE_CFLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
PROFILE_LDFLAGS := -fsanitize=address,undefined
FLAG_HAK_DEBUG := 1
FLAG_HAKMEM_FORCE_LIBC_ALLOC_BUILD := 1
