#!/bin/sh
# Runs label.pl with Sisimai 5.3.0, a dev tool only (from the repository root, arguments as
# label.pl's). Debian 12 ships Sisimai 4.25; Debian 13 (trixie) ships 5.3.0, the release nearest
# dev/'s labels (5.2): on dev/ it gives the same reason to 98.7% of recipients. Its package is pure
# Perl; it is fetched from Debian's archive, checked against the archive's checksum, and unpacked
# in a temporary folder, never installed. Needs curl, dpkg-deb and the Perl modules Sisimai
# needs (libclass-accessor-lite-perl, libjson-perl, both in Debian 12).
set -eu
deb=libsisimai-perl_5.3.0-1_all.deb
sum=c68e60dd23ec660e1726279997e7d774b1f5038dd17ea76a068c3c77f984b9b2
dir="${TMPDIR:-/tmp}/cible-sisimai-5.3.0"
if [ ! -f "$dir/usr/share/perl5/Sisimai.pm" ]; then
  mkdir -p "$dir"
  curl -fsS -o "$dir/$deb" "http://deb.debian.org/debian/pool/main/libs/libsisimai-perl/$deb"
  echo "$sum  $dir/$deb" | sha256sum -c - >&2
  dpkg-deb -x "$dir/$deb" "$dir"
fi
exec perl -I"$dir/usr/share/perl5" "$(dirname "$0")/label.pl" "$@"
