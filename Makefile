# HAKMEM build. ./build.sh drives this; `make PROFILE=debug` works too.
#
#   out/$(PROFILE)/libhakmem.a libhakmem.so   the allocator (overrides malloc);
#                                            the .so's soname is libhakmem.so.MAJOR
#   out/$(PROFILE)/libhakmem_test.a          hak_* only, -DHAKMEM_TEST hooks
#   out/$(PROFILE)/config/hakmem_config.h    generated from config/flags
PROFILE ?= release
PROFILES := release debug asan tsan
ifeq ($(filter $(PROFILE),$(PROFILES)),)
$(error PROFILE must be one of: $(PROFILES))
endif

OUT := out/$(PROFILE)
CC ?= cc
include config/$(PROFILE).mk

BOXES := base sysmem regionmap superslab bigcache tiny pool_p1_p4 medium learner frontend
lib-src :=
override-src :=
include $(foreach b,$(BOXES),boxes/$(b)/box.mk)

FLAG_OVERRIDES := $(foreach v,$(filter FLAG_%,$(.VARIABLES)),$(v:FLAG_%=%)=$($(v)))
CFLAGS_BASE := -std=gnu11 -Wall -Wextra -Wundef -Wshadow -fPIC -fvisibility=hidden \
	-ftls-model=initial-exec -fno-strict-aliasing -D_GNU_SOURCE
CPPFLAGS_ALL := -I$(OUT)/config -Iinclude
ALL_CFLAGS := $(CFLAGS_BASE) $(PROFILE_CFLAGS) $(CFLAGS)
LIBS := -lpthread $(PROFILE_LIBS)

CONFIG_H := $(OUT)/config/hakmem_config.h
lib-obj := $(lib-src:%.c=$(OUT)/obj/%.o)
override-obj := $(override-src:%.c=$(OUT)/obj/%.o)
test-lib-obj := $(lib-src:%.c=$(OUT)/obj-test/%.o)

# The version is include/hakmem.h's; its major number names the soname.
version = $(shell sed -n 's/^\#define HAKMEM_VERSION_$(1) \([0-9]*\)$$/\1/p' include/hakmem.h)
VERSION := $(call version,MAJOR).$(call version,MINOR).$(call version,PATCH)
SONAME := libhakmem.so.$(call version,MAJOR)

LIB_A := $(OUT)/libhakmem.a
LIB_SO := $(OUT)/libhakmem.so
LIB_SONAME := $(OUT)/$(SONAME)
LIB_TEST := $(OUT)/libhakmem_test.a

.PHONY: all lib print-flags print-version docs clean FORCE
all: lib tests
lib: $(LIB_A) $(LIB_SO) $(LIB_SONAME) $(LIB_TEST)

# The kernel's filechk: regenerate, replace only when the text changed.
$(CONFIG_H): FORCE
	@mkdir -p $(@D)
	@tmp=$@.$$$$.tmp; \
	tools/gen_config.sh $(PROFILE) config/flags "$(CC)" "$(ALL_CFLAGS)" $(FLAG_OVERRIDES) > $$tmp && \
	if cmp -s $$tmp $@; then rm $$tmp; else mv $$tmp $@; echo "  GEN     $@"; fi

print-flags: $(CONFIG_H)
	@sed -n 's/^#define HAKMEM_CONFIG_STRING "\(.*\)"$$/\1/p' $(CONFIG_H)

print-version:
	@echo $(VERSION)

# The option tables of README.md and hakmem(7), from boxes/base/hak_options.h.
docs:
	@tools/gen_docs.sh

$(OUT)/obj/%.o: %.c $(CONFIG_H)
	@mkdir -p $(@D)
	@echo "  CC      $@"
	@$(CC) $(CPPFLAGS_ALL) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(override-obj): ALL_CFLAGS += -fexceptions

$(OUT)/obj-test/%.o: %.c $(CONFIG_H)
	@mkdir -p $(@D)
	@echo "  CC      $@"
	@$(CC) $(CPPFLAGS_ALL) $(ALL_CFLAGS) -DHAKMEM_TEST -MMD -MP -c $< -o $@

$(LIB_A): $(lib-obj) $(override-obj)
	@echo "  AR      $@"
	@rm -f $@ && ar rcs $@ $^

$(LIB_TEST): $(test-lib-obj)
	@echo "  AR      $@"
	@rm -f $@ && ar rcs $@ $^

$(LIB_SO): $(lib-obj) $(override-obj)
	@echo "  LD      $@"
	@$(CC) -shared $(ALL_CFLAGS) $(PROFILE_LDFLAGS) -Wl,-z,now -Wl,-soname,$(SONAME) -o $@ $^ $(LIBS)

# Programs linked with -L$(OUT) -lhakmem find the soname here at run time.
$(LIB_SONAME): | $(LIB_SO)
	@ln -sf libhakmem.so $@

include tools/install.mk

include tests/tests.mk

clean:
	rm -rf out

-include $(lib-obj:.o=.d) $(override-obj:.o=.d) $(test-lib-obj:.o=.d)
FORCE:
