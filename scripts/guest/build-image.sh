#!/usr/bin/env bash
# Builds the host tier's Linux guest (Debian bookworm, open-iscsi, multipath-tools, fio, file system tools) into a
# cache outside the work tree: root.qcow2, vmlinuz, initrd.img, versions.json and a stamp of the recipe. Does nothing
# when the cached image matches this recipe; `--force` rebuilds. Needs root, debootstrap, qemu-img, mkfs.ext4 and
# deb.debian.org. Usage: scripts/guest/build-image.sh [--force]   (cache: ${TANDEM_GUEST_CACHE:-/var/cache/tandem-guest})
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
CACHE="${TANDEM_GUEST_CACHE:-/var/cache/tandem-guest}"
MIRROR="${TANDEM_GUEST_MIRROR:-http://deb.debian.org/debian}"
SUITE=bookworm
PACKAGES=(open-iscsi multipath-tools fio e2fsprogs xfsprogs sg3-utils util-linux udev kmod iproute2 iptables procps)
# Kernel modules the guest does not need (GPUs, wireless, sound, ...): dropping them makes the image a third the size.
PRUNE_MODULES=(drivers/gpu drivers/media drivers/net/wireless drivers/net/ethernet drivers/infiniband drivers/staging
  drivers/iio drivers/bluetooth drivers/usb drivers/hid drivers/isdn drivers/mtd drivers/thunderbolt drivers/platform
  drivers/input/touchscreen drivers/input/joystick drivers/net/can drivers/hwmon drivers/leds drivers/power
  drivers/comedi drivers/misc drivers/ata drivers/nvme drivers/firewire sound net/wireless net/mac80211
  net/bluetooth net/netfilter/ipvs fs/ocfs2 fs/nls fs/btrfs fs/f2fs fs/gfs2 fs/ceph fs/nfs fs/nfsd fs/smb fs/cifs)

# The recipe's identity: this script and the guest's init. A change to either rebuilds the image.
STAMP="$(cat "$HERE/build-image.sh" "$HERE/init.sh" | sha256sum | cut -c1-16)"
FORCE=0
[ "${1:-}" = "--force" ] && FORCE=1

mkdir -p "$CACHE"
# One build at a time: a second caller waits for the first and then finds the cache current.
exec 9>"$CACHE/.lock"
flock -w 3600 9 || { echo "build-image: another build holds $CACHE/.lock" >&2; exit 1; }

if [ $FORCE -eq 0 ] && [ -f "$CACHE/stamp" ] && [ "$(cat "$CACHE/stamp")" = "$STAMP" ] &&
  [ -s "$CACHE/root.qcow2" ] && [ -s "$CACHE/vmlinuz" ] && [ -s "$CACHE/initrd.img" ] && [ -s "$CACHE/versions.json" ]; then
  echo "build-image: $CACHE is current (recipe $STAMP)"
  exit 0
fi

fail() { echo "build-image: $*" >&2; exit 1; }
[ "$(id -u)" -eq 0 ] || fail "must run as root (debootstrap and chroot)"
for bin in debootstrap qemu-img mkfs.ext4 chroot; do
  command -v "$bin" >/dev/null 2>&1 || [ -x "/usr/sbin/$bin" ] || fail "$bin is missing (Debian: debootstrap qemu-utils e2fsprogs)"
done

started=$(date +%s)
WORK="$(mktemp -d "$CACHE/build.XXXXXX")"
ROOT="$WORK/root"
cleanup() {
  for m in proc sys dev/pts dev; do umount "$ROOT/$m" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

echo "build-image: debootstrap $SUITE from $MIRROR into $ROOT"
timeout 1200 debootstrap --variant=minbase --include="$(IFS=,; echo "${PACKAGES[*]}")" "$SUITE" "$ROOT" "$MIRROR" \
  >"$WORK/debootstrap.log" 2>&1 || { tail -30 "$WORK/debootstrap.log" >&2; fail "debootstrap failed (is $MIRROR reachable?)"; }

# Before the kernel goes in: a small initrd with exactly what finds the root disk, no services started in the chroot.
mkdir -p "$ROOT/etc/initramfs-tools/conf.d"
printf 'MODULES=list\nCOMPRESS=gzip\n' >"$ROOT/etc/initramfs-tools/conf.d/tandem.conf"
printf '%s\n' virtio_pci virtio_blk virtio_net ext4 crc32c_generic >"$ROOT/etc/initramfs-tools/modules"
printf '#!/bin/sh\nexit 101\n' >"$ROOT/usr/sbin/policy-rc.d"
chmod +x "$ROOT/usr/sbin/policy-rc.d"
printf 'path-exclude /usr/share/doc/*\npath-exclude /usr/share/man/*\npath-exclude /usr/share/locale/*\n' \
  >"$ROOT/etc/dpkg/dpkg.cfg.d/tandem-excludes"
mount -t proc proc "$ROOT/proc"
mount -t sysfs sysfs "$ROOT/sys"
mount --bind /dev "$ROOT/dev"
echo "build-image: installing the kernel"
timeout 900 chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
  linux-image-amd64 >"$WORK/kernel.log" 2>&1 || { tail -30 "$WORK/kernel.log" >&2; fail "installing linux-image-amd64 failed"; }

KVER="$(ls "$ROOT/lib/modules" | sort -V | tail -1)"
echo "build-image: pruning kernel modules of $KVER"
for d in "${PRUNE_MODULES[@]}"; do rm -rf "$ROOT/lib/modules/$KVER/kernel/$d"; done
chroot "$ROOT" depmod -a "$KVER"
timeout 600 chroot "$ROOT" update-initramfs -u -k "$KVER" >"$WORK/initramfs.log" 2>&1 || { tail -30 "$WORK/initramfs.log" >&2; fail "update-initramfs failed"; }

versions() {
  chroot "$ROOT" dpkg-query -W -f '${Version}' "$1"
}
cat >"$WORK/versions.json" <<EOF
{ "recipe": "$STAMP", "suite": "$SUITE", "kernel": "$KVER", "kernelPackage": "$(versions "linux-image-$KVER")",
  "openIscsi": "$(versions open-iscsi)", "multipathTools": "$(versions multipath-tools)", "fio": "$(versions fio)",
  "e2fsprogs": "$(versions e2fsprogs)", "xfsprogs": "$(versions xfsprogs)", "sg3Utils": "$(versions sg3-utils)",
  "builtAt": "$(date -u +%FT%TZ)" }
EOF

for m in proc sys dev; do umount "$ROOT/$m"; done
install -m 0755 "$HERE/init.sh" "$ROOT/sbin/tandem-init"
cp "$ROOT/boot/vmlinuz-$KVER" "$WORK/vmlinuz"
cp "$ROOT/boot/initrd.img-$KVER" "$WORK/initrd.img"
# What the guest never reads: the kernel and initrd travel outside the image, apt's caches, docs.
rm -rf "$ROOT/boot/"* "$ROOT/var/cache/apt/"* "$ROOT/var/lib/apt/lists/"* "$ROOT/usr/share/doc" "$ROOT/usr/share/man" \
  "$ROOT/usr/share/locale" "$ROOT/usr/share/info" "$ROOT/var/log/"*
rm -f "$ROOT/usr/sbin/policy-rc.d"
echo 'tandem-guest' >"$ROOT/etc/hostname"
printf '/dev/vda / ext4 rw 0 1\n' >"$ROOT/etc/fstab"

used_mib=$(du -sm "$ROOT" | cut -f1)
size_mib=$(( used_mib + used_mib / 4 + 256 ))
echo "build-image: ext4 root of ${size_mib} MiB (${used_mib} MiB used)"
mkfs.ext4 -q -F -L tandem-root -d "$ROOT" "$WORK/root.raw" "${size_mib}M"
qemu-img convert -c -f raw -O qcow2 "$WORK/root.raw" "$WORK/root.qcow2"

# Replace the cache's files only once everything is built; the stamp goes last.
rm -f "$CACHE/stamp"
for f in root.qcow2 vmlinuz initrd.img versions.json; do mv -f "$WORK/$f" "$CACHE/$f"; done
echo "$STAMP" >"$CACHE/stamp"
echo "build-image: done in $(( $(date +%s) - started )) s: $(du -sh "$CACHE/root.qcow2" | cut -f1) image, kernel $KVER"
