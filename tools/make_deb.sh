#!/bin/sh
# tools/make_deb.sh: out/hakmem_VERSION_ARCH.deb from the release build, with
# Debian's own tools only (dpkg-deb; no network): make install into a staging
# root with Debian's paths, then control, shlibs and the ldconfig trigger.
set -eu
cd "$(dirname "$0")/.."
version=$(make --no-print-directory print-version)
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || ${CC:-cc} -print-multiarch)
major=${version%%.*}
root=out/deb/root
deb=out/hakmem_${version}_${arch}.deb

rm -rf "$root"
make --no-print-directory PROFILE=release install PREFIX=/usr LIBDIR=/usr/lib/"$multiarch" \
	DESTDIR="$PWD/$root" >/dev/null
gzip -9n "$root"/usr/share/man/man3/hakmem.3 "$root"/usr/share/man/man7/hakmem.7
install -d "$root/usr/share/doc/hakmem" "$root/DEBIAN"
install -m 644 README.md "$root/usr/share/doc/hakmem/README.md"
cat >"$root/DEBIAN/control" <<CONTROL
Package: hakmem
Version: $version
Architecture: $arch
Maintainer: HAKMEM developers <hakmem@localhost>
Section: libs
Priority: optional
Depends: libc6, bash, gawk | mawk
Suggests: gnuplot-nox, pkg-config
Installed-Size: $(du -sk "$root/usr" | cut -f1)
Description: general-purpose malloc replacement
 HAKMEM replaces malloc and the whole glibc allocation family, the C++
 operators and glibc's internal names for every program that links
 libhakmem or preloads it. This package holds the shared and static
 library, the header, the pkg-config file, the man pages hakmem(3) and
 hakmem(7), and the launcher hakmem, which runs a program under HAKMEM and
 reports what the allocator did.
CONTROL
echo "libhakmem $major hakmem (>= $version)" >"$root/DEBIAN/shlibs"
echo "activate-noawait ldconfig" >"$root/DEBIAN/triggers"
chmod 644 "$root/DEBIAN/control" "$root/DEBIAN/shlibs" "$root/DEBIAN/triggers"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
