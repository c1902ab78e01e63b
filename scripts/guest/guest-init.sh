#!/bin/sh
# The host-tier guest's boot, stage 2, run from the 9p share by /sbin/tandem-init (scripts/guest/init.sh): network,
# udev, the host guide's iSCSI settings, iscsid; then /host/scenario.sh, its exit code left on the share, power off.
PATH=/usr/sbin:/usr/bin:/sbin:/bin
export PATH
exec >>/host/init.log 2>&1
echo "guest-init: $(date -u +%FT%TZ) kernel $(uname -r), up $(cut -d' ' -f1 /proc/uptime) s"
mkdir -p /run/lock /mnt
hostname tandem-guest

# qemu -netdev user: the guest is 10.0.2.15, the host's loopback is reachable as 10.0.2.2.
modprobe virtio_net
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2

# udev names /dev/disk/by-* and lets multipathd and dm see their devices, as on a real host.
/lib/systemd/systemd-udevd --daemon
udevadm trigger --action=add
udevadm settle --timeout=30

# The host guide's settings (docs/hosts.md) handed in on the share: iscsid.conf keys replace the defaults' lines.
if [ -f /host/etc/iscsid.conf.overrides ]; then
  perl -e 'open(my $o, "<", $ARGV[0]) or die; my @set = grep { /^\s*[\w.\[\]]+\s*=/ } <$o>;
    my %key = map { /^\s*([\w.\[\]]+)/; ($1 => 1) } @set;
    open(my $c, "<", $ARGV[1]) or die; my @conf = grep { !(/^[#\s]*([\w.\[\]]+)\s*=/ && $key{$1}) } <$c>;
    open($c, ">", $ARGV[1]) or die; print $c @conf, @set;' /host/etc/iscsid.conf.overrides /etc/iscsi/iscsid.conf
fi
[ -f /host/etc/multipath.conf ] && cp /host/etc/multipath.conf /etc/multipath.conf
[ -f /host/etc/initiatorname.iscsi ] && cp /host/etc/initiatorname.iscsi /etc/iscsi/initiatorname.iscsi

for m in iscsi_tcp sd_mod sg dm_multipath dm_round_robin dm_service_time scsi_dh_alua; do modprobe "$m"; done
# multipathd is the scenario's to start: a single-path scenario uses the sd devices themselves.
iscsid

echo "guest-init: $(date -u +%FT%TZ) up $(cut -d' ' -f1 /proc/uptime) s, running the scenario"
cd /host
if [ -f /host/scenario.sh ]; then
  /bin/sh /host/scenario.sh >/host/scenario.log 2>&1
  echo $? >/host/scenario.exit
else
  echo "guest-init: no /host/scenario.sh"
  echo 127 >/host/scenario.exit
fi
# A clean logout, bounded: a target that is gone must not keep the guest up.
timeout 20 iscsiadm -m node --logoutall=all >/dev/null 2>&1
echo "guest-init: $(date -u +%FT%TZ) scenario exit $(cat /host/scenario.exit), powering off"
sync
cd /
# The kernel's own power-off: the image has no systemd and no poweroff binary (qemu runs with -no-reboot).
echo o >/proc/sysrq-trigger
sleep 10
