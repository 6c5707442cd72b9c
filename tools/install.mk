# make install / uninstall, included by the top Makefile (PROFILE, OUT, LIB_*,
# VERSION, SONAME set). Installs one profile's library (release by default):
#   make install PREFIX=/usr/local DESTDIR=/tmp/root
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
MANDIR ?= $(PREFIX)/share/man
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig

REALNAME := libhakmem.so.$(VERSION)
INSTALLED := $(LIBDIR)/$(REALNAME) $(LIBDIR)/$(SONAME) $(LIBDIR)/libhakmem.so \
	$(LIBDIR)/libhakmem.a $(INCLUDEDIR)/hakmem.h $(PKGCONFIGDIR)/hakmem.pc \
	$(MANDIR)/man3/hakmem.3 $(MANDIR)/man7/hakmem.7 $(BINDIR)/hakmem

# Paths of the final system (never DESTDIR), written into the .pc and the launcher.
$(OUT)/install/hakmem.pc: tools/hakmem.pc.in include/hakmem.h FORCE
	@mkdir -p $(@D)
	@sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	     -e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	     -e 's|@LIBS_PRIVATE@|$(strip $(LIBS))|' $< > $@

$(OUT)/install/hakmem: tools/hakmem FORCE
	@mkdir -p $(@D)
	@sed -e 's|@HAKMEM_LIB@|$(LIBDIR)/$(SONAME)|' $< > $@

.PHONY: install uninstall
install: $(LIB_A) $(LIB_SO) $(OUT)/install/hakmem.pc $(OUT)/install/hakmem
	install -d $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCLUDEDIR) $(DESTDIR)$(PKGCONFIGDIR) \
		$(DESTDIR)$(MANDIR)/man3 $(DESTDIR)$(MANDIR)/man7 $(DESTDIR)$(BINDIR)
	install -m 644 $(LIB_SO) $(DESTDIR)$(LIBDIR)/$(REALNAME)
	ln -sf $(REALNAME) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libhakmem.so
	install -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/libhakmem.a
	install -m 644 include/hakmem.h $(DESTDIR)$(INCLUDEDIR)/hakmem.h
	install -m 644 $(OUT)/install/hakmem.pc $(DESTDIR)$(PKGCONFIGDIR)/hakmem.pc
	install -m 644 man/hakmem.3 $(DESTDIR)$(MANDIR)/man3/hakmem.3
	install -m 644 man/hakmem.7 $(DESTDIR)$(MANDIR)/man7/hakmem.7
	install -m 755 $(OUT)/install/hakmem $(DESTDIR)$(BINDIR)/hakmem

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))
