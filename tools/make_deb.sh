#!/bin/sh
# tools/make_deb.sh: out/hakmem_VERSION_ARCH.deb from the release build, with
# Debian's own tools only (dpkg-deb, dpkg-shlibdeps; no network): make install
# into a staging root with Debian's paths, the library stripped (its debug
# symbols stay in out/deb/, outside the package), then control with the libc6
# version the library needs, shlibs, md5sums and the ldconfig trigger.
set -eu
cd "$(dirname "$0")/.."
version=$(make --no-print-directory print-version)
arch=$(dpkg --print-architecture)
multiarch=$(dpkg-architecture -qDEB_HOST_MULTIARCH 2>/dev/null || ${CC:-cc} -print-multiarch)
major=${version%%.*}
# dpkg-shlibdeps wants debian/control and the package in debian/PACKAGE.
work=out/deb
root=$work/debian/hakmem
deb=out/hakmem_${version}_${arch}.deb
lib=$root/usr/lib/$multiarch/libhakmem.so.$version

rm -rf "$work"
make --no-print-directory PROFILE=release install PREFIX=/usr LIBDIR=/usr/lib/"$multiarch" \
	DESTDIR="$PWD/$root" >/dev/null
objcopy --only-keep-debug "$lib" "$work/libhakmem.so.$version.debug"
strip --strip-unneeded "$lib"
objcopy --add-gnu-debuglink="$work/libhakmem.so.$version.debug" "$lib"
strip --strip-debug "$root/usr/lib/$multiarch/libhakmem.a"
gzip -9n "$root"/usr/share/man/man[137]/hakmem.[137]
install -d "$root/DEBIAN"
install -m 644 README.md "$root/usr/share/doc/hakmem/README.md"
cat >"$root/usr/share/doc/hakmem/copyright" <<COPYRIGHT
HAKMEM, a general-purpose malloc replacement.

Copyright: the HAKMEM developers.

Licence: no licence has been chosen; all rights reserved by the HAKMEM developers.
COPYRIGHT
chmod 644 "$root/usr/share/doc/hakmem/copyright"
printf 'Source: hakmem\n\nPackage: hakmem\nArchitecture: any\n' >"$work/debian/control"
libs=$(cd "$work" && dpkg-shlibdeps -O "${lib#$work/}") # shlibs:Depends=libc6 (>= 2.34)
libs=${libs#shlibs:Depends=}
cat >"$root/DEBIAN/control" <<CONTROL
Package: hakmem
Version: $version
Architecture: $arch
Maintainer: HAKMEM developers <hakmem@localhost>
Section: libs
Priority: optional
Depends: $libs, bash, gawk | mawk
Suggests: gnuplot-nox, pkg-config
Installed-Size: $(du -sk "$root/usr" | cut -f1)
Description: general-purpose malloc replacement
 HAKMEM replaces malloc and the whole glibc allocation family, the C++
 operators and glibc's internal names for every program that links
 libhakmem or preloads it. This package holds the shared and static
 library, the header, the pkg-config file, the man pages hakmem(1),
 hakmem(3) and hakmem(7), and the launcher hakmem, which runs a program
 under HAKMEM and reports what the allocator did.
CONTROL
echo "libhakmem $major hakmem (>= $version)" >"$root/DEBIAN/shlibs"
echo "activate-noawait ldconfig" >"$root/DEBIAN/triggers"
(cd "$root" && find usr -type f | LC_ALL=C sort | xargs md5sum) >"$root/DEBIAN/md5sums"
chmod 644 "$root/DEBIAN/control" "$root/DEBIAN/shlibs" "$root/DEBIAN/triggers" "$root/DEBIAN/md5sums"
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
