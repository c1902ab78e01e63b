#!/bin/sh
# PID 1 of the host-tier guest (booted with init=/sbin/tandem-init), baked into the image: mounts the basics and the
# 9p share "host", then hands over to the share's guest-init.sh (scripts/guest/guest-init.sh), so that changing what
# the guest does at boot never needs a new image. No systemd: the guest boots in seconds under TCG, not minutes.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /dev/pts /dev/shm /host
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
modprobe 9pnet_virtio
if mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 host /host && [ -f /host/guest-init.sh ]; then
  exec /bin/sh /host/guest-init.sh
fi
echo "tandem-init: no 9p share 'host' with guest-init.sh; powering off" >&2
# No systemd, no poweroff binary: the kernel's own power-off (qemu runs with -no-reboot, so a panic ends it too).
echo o >/proc/sysrq-trigger
sleep 10
