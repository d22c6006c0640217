#!/usr/bin/env bash
# Builds the busybox rootfs tarball that tests and examples import as busybox:latest:
#   deploy/images/build-busybox.sh OUT.tar
# From Debian's busybox-static: /bin/busybox, a symlink for each applet, root and nobody in /etc/passwd and
# /etc/group, a world-writable /tmp, and empty /etc/hostname, /etc/hosts, /etc/resolv.conf for the runtime
# to bind over. The tarball is reproducible: fixed owners, times and order.
set -euo pipefail
out=${1:?usage: build-busybox.sh OUT.tar}
busybox=${BUSYBOX:-/bin/busybox}
[ -x "$busybox" ] || { echo "build-busybox: $busybox not found (apt-get install busybox-static)" >&2; exit 1; }

rootfs=$(mktemp -d)
trap 'rm -rf "$rootfs"' EXIT
chmod 0755 "$rootfs"
mkdir -p "$rootfs"/{bin,sbin,usr/bin,usr/sbin,etc,root,home,proc,sys,dev,run,var/tmp}
install -d -m 1777 "$rootfs/tmp"
chmod 1777 "$rootfs/var/tmp"
chmod 0700 "$rootfs/root"
install -m 0755 "$busybox" "$rootfs/bin/busybox"
# One perl process makes every applet link: a process per link takes minutes on a loaded machine.
"$busybox" --list-full | ROOTFS="$rootfs" perl -MFile::Basename -MFile::Path=make_path -nle '
  next if $_ eq "bin/busybox";
  my $link = "$ENV{ROOTFS}/$_";
  make_path(dirname($link));
  next if -e $link || -l $link;
  symlink("/bin/busybox", $link) or die "build-busybox: $link: $!\n";
'
cat > "$rootfs/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > "$rootfs/etc/group" <<'GROUP'
root:x:0:
nogroup:x:65534:
GROUP
: > "$rootfs/etc/hostname"
: > "$rootfs/etc/hosts"
: > "$rootfs/etc/resolv.conf"

tmp_out="$out.$$.tmp"
tar --create --file "$tmp_out" --directory "$rootfs" --sort=name --numeric-owner --owner=0 --group=0 \
  --mtime=@0 --format=ustar .
mv "$tmp_out" "$out"
