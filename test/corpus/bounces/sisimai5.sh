#!/bin/sh
# Runs label.pl with Sisimai 5.3.0, a dev tool only (from the repository root, arguments as
# label.pl's). Debian 12 ships Sisimai 4.25; Debian 13 (trixie) ships 5.3.0, the release nearest
# dev/'s labels (5.2): on dev/ it gives the same reason to 98.7% of recipients. Its package is pure
# Perl; it is fetched from Debian's archive into the user's cache folder, checked against the
# archive's checksum on every run, and unpacked in a fresh private folder, never installed.
# Needs curl, dpkg-deb and the Perl modules Sisimai needs (libclass-accessor-lite-perl,
# libjson-perl, both in Debian 12).
set -eu
deb=libsisimai-perl_5.3.0-1_all.deb
sum=c68e60dd23ec660e1726279997e7d774b1f5038dd17ea76a068c3c77f984b9b2
cache="${XDG_CACHE_HOME:-$HOME/.cache}/cible"
mkdir -p "$cache"
if ! echo "$sum  $cache/$deb" | sha256sum -c --status - 2>/dev/null; then
  curl -fsS -o "$cache/$deb.part" "http://deb.debian.org/debian/pool/main/libs/libsisimai-perl/$deb"
  mv "$cache/$deb.part" "$cache/$deb"
fi
# Checked on every run, and unpacked afresh in a private folder: nothing unverified is run.
echo "$sum  $cache/$deb" | sha256sum -c --status -
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
dpkg-deb -x "$cache/$deb" "$dir"
perl -I"$dir/usr/share/perl5" "$(dirname "$0")/label.pl" "$@"
