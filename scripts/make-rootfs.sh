#!/usr/bin/env bash
# Builds a tiny busybox root filesystem offline from the host's static busybox
# (Debian package busybox-static). Usage: scripts/make-rootfs.sh DIR
set -euo pipefail
dir=${1:?usage: make-rootfs.sh DIR}
busybox=${BUSYBOX:-/bin/busybox}
ldd_out=$(LC_ALL=C ldd "$busybox" 2>&1 || true)
if [[ ! -x $busybox || $ldd_out != *"not a dynamic executable"* ]]; then
  echo "make-rootfs: $busybox is missing or not statically linked; install busybox-static" >&2
  exit 1
fi
rm -rf "$dir.tmp"
mkdir -p "$dir.tmp"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,tmp,root,run,var,home}
cp "$busybox" "$dir.tmp/bin/busybox"
for applet in $("$busybox" --list); do
  [[ -e "$dir.tmp/bin/$applet" ]] || ln -s busybox "$dir.tmp/bin/$applet"
done
chmod 1777 "$dir.tmp/tmp"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' > "$dir.tmp/etc/passwd"
printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' > "$dir.tmp/etc/group"
printf 'tsrun\n' > "$dir.tmp/etc/hostname"
rm -rf "$dir"
mv "$dir.tmp" "$dir"
