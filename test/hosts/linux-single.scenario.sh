#!/bin/sh
# The single-target scenario group, run as root in the Linux guest (test/hosts/linux-single.host.test.ts boots it):
# discovery and login with open-iscsi, then per LUN (FLAT 512e, LSFS, FLAT 4096): fio verify, a file system filled,
# checked and compared, fstrim and blkdiscard reaching the store; sg_persist; an online resize. Each step is bounded.
. /host/guest-lib.sh
. /host/params.env

report kernel true "$(uname -r)"
report open-iscsi true "$(iscsiadm --version 2>&1)"
report multipath-tools true "$(multipath -h 2>&1 | head -1)"
report iscsid-conf true "$(grep -E '^node\.(session\.timeo|conn\[0\]\.timeo|startup|session\.err_timeo)' /etc/iscsi/iscsid.conf | tr '\n' ';')"

# discover_and_login NAME PORT IQN — SendTargets, then records for the address this guest reaches (docs/hosts.md).
discover_and_login() {
  local tpg
  check "$1-discovery" 60 iscsiadm -m discovery -t sendtargets -p "$HOST:$2" || return 1
  grep -q " $3\$" "/host/logs/$1-discovery.log" && report "$1-discovery-lists-target" true "$(cat "/host/logs/$1-discovery.log")" ||
    report "$1-discovery-lists-target" false "$(cat "/host/logs/$1-discovery.log")"
  tpg=$(grep " $3\$" "/host/logs/$1-discovery.log" | head -1 | sed 's/.*,\([0-9]*\) .*/\1/')
  iscsiadm -m node -T "$3" -o delete >/dev/null 2>&1
  check "$1-node-record" 30 iscsiadm -m node -o new -T "$3" -p "$HOST:$2,${tpg:-1}" || return 1
  check "$1-login" 90 iscsiadm -m node -T "$3" -p "$HOST:$2" --login
}

disk_of() { # PORT IQN LUN → the sd device, through udev's by-path link
  local link
  link="/dev/disk/by-path/ip-$HOST:$1-iscsi-$2-lun-$3"
  wait_for_path "$link" 60 && readlink -f "$link"
}

allocated() { ask_host allocated "$1" 60; }

# exercise NAME DEV FS SECTOR — everything one LUN goes through.
exercise() {
  local name=$1 dev=$2 fs=$3 sector=$4 mkfs fsck before after_fstrim after_blkdiscard
  check "$name-sector-size" 10 sh -c "test \$(blockdev --getss $dev) -eq $sector && blockdev --getss --getpbsz --getsize64 $dev"
  check "$name-discard-supported" 10 sh -c "lsblk -D -b -n -o DISC-GRAN,DISC-MAX $dev; test \$(cat /sys/block/\$(basename $dev)/queue/discard_max_bytes) -gt 0"
  check "$name-fio-verify" 600 fio --name=verify --filename="$dev" --rw=randwrite --bs=4k --size=24M --offset=8M \
    --ioengine=libaio --iodepth=8 --direct=1 --verify=crc32c --do_verify=1 --verify_fatal=1 --randrepeat=0 --verify_state_save=0
  if [ "$fs" = xfs ]; then mkfs="mkfs.xfs -f"; fsck="xfs_repair -n"; else mkfs="mkfs.ext4 -F -q"; fsck="e2fsck -f -n"; fi
  check "$name-mkfs-$fs" 180 $mkfs "$dev" || return 1
  mkdir -p "/mnt/$name"
  check "$name-mount" 60 mount "$dev" "/mnt/$name" || return 1
  check "$name-fill" 300 sh -c "for i in 1 2 3; do dd if=/dev/urandom of=/mnt/$name/big\$i bs=1M count=8 status=none || exit 1; done;
    mkdir /mnt/$name/small && for i in \$(seq 1 200); do head -c \$((i * 97)) /dev/urandom >/mnt/$name/small/f\$i || exit 1; done;
    cd /mnt/$name && find . -type f | sort | xargs sha256sum >/tmp/$name.sums && wc -l </tmp/$name.sums"
  check "$name-umount" 60 umount "/mnt/$name"
  check "$name-fsck-$fs" 180 $fsck "$dev"
  check "$name-remount" 60 mount "$dev" "/mnt/$name"
  check "$name-checksums-match" 120 sh -c "cd /mnt/$name && sha256sum --quiet -c /tmp/$name.sums"
  before=$(allocated "$name")
  check "$name-fstrim" 180 sh -c "rm -rf /mnt/$name/big* /mnt/$name/small && sync && fstrim -v /mnt/$name"
  # The host waits (bounded) for the store to give back what was trimmed: LSFS frees space by garbage collection.
  after_fstrim=$(ask_host allocated-below "$name $((before - 16 * 1048576))" 120)
  check "$name-umount-2" 60 umount "/mnt/$name"
  check "$name-blkdiscard" 180 blkdiscard -f "$dev"
  # Everything unmapped: what may stay is an LSFS store's open segment and its metadata.
  after_blkdiscard=$(ask_host allocated-below "$name 16777216" 120)
  report "$name-allocated" true "before=$before after_fstrim=$after_fstrim after_blkdiscard=$after_blkdiscard"
  check "$name-reads-zero-after-discard" 60 cmp -n 33554432 "$dev" /dev/zero
}

discover_and_login main "$PORT" "$IQN" || exit 1
flat512=$(disk_of "$PORT" "$IQN" 0)
lsfs=$(disk_of "$PORT" "$IQN" 1)
flat4k=$(disk_of "$PORT" "$IQN" 2)
report disks-found "$([ -b "$flat512" ] && [ -b "$lsfs" ] && [ -b "$flat4k" ] && echo true || echo false)" "lun0=$flat512 lun1=$lsfs lun2=$flat4k"
# No multipathd here: the session keeps iscsid.conf's replacement_timeout as its recovery_tmo.
report session-recovery-tmo true "$(cat /sys/class/iscsi_session/session*/recovery_tmo | sort -u | tr '\n' ' ')"
check inquiry 20 sg_inq "$flat512"
check alua-report-target-port-groups 20 sg_rtpg -d "$flat512"

[ -b "$flat512" ] && exercise flat512 "$flat512" ext4 512
[ -b "$lsfs" ] && exercise lsfs "$lsfs" xfs 512
[ -b "$flat4k" ] && exercise flat4k "$flat4k" xfs 4096

# Persistent reservations from the kernel's SG_IO path: register, reserve (Write Exclusive), read, release.
if [ -b "$flat512" ]; then
  check pr-register 30 sg_persist --out --register --param-sark=0x7a6e "$flat512"
  check pr-read-keys 30 sh -c "sg_persist --in --read-keys $flat512 && sg_persist --in --read-keys $flat512 | grep -q 0x7a6e"
  check pr-reserve 30 sg_persist --out --reserve --param-rk=0x7a6e --prout-type=1 "$flat512"
  check pr-read-reservation 30 sh -c "sg_persist --in --read-reservation $flat512 | tee /dev/stderr | grep -q 'Key=0x7a6e' &&
    sg_persist --in --read-reservation $flat512 | grep -qE 'type: Write Exclusive *\$'"
  check pr-write-by-holder 30 dd if=/dev/zero of="$flat512" bs=4096 count=1 oflag=direct status=none
  check pr-release 30 sg_persist --out --release --param-rk=0x7a6e --prout-type=1 "$flat512"
  check pr-no-reservation 30 sh -c "sg_persist --in --read-reservation $flat512 | tee /dev/stderr | grep -qi 'no reservation'"
  check pr-unregister 30 sg_persist --out --register --param-rk=0x7a6e --param-sark=0 "$flat512"
fi

# Online resize: the node agent grows its LUN; the guest sees it after a session rescan.
if [ -n "${AGENT_PORT:-}" ] && discover_and_login agent "$AGENT_PORT" "$AGENT_IQN"; then
  grown=$(disk_of "$AGENT_PORT" "$AGENT_IQN" 0)
  size0=$(blockdev --getsize64 "$grown")
  answer=$(ask_host resize "$AGENT_NEW_SIZE" 120)
  check resize-rescan 60 iscsiadm -m session -R
  sleep 2
  size1=$(blockdev --getsize64 "$grown")
  report resize-seen "$([ "$size1" = "$AGENT_NEW_SIZE" ] && echo true || echo false)" "before=$size0 host=$answer after_rescan=$size1"
  check resize-read-new-end 60 dd if="$grown" of=/dev/null bs=4096 skip=$((AGENT_NEW_SIZE / 4096 - 1)) count=1 iflag=direct
fi

check logout 60 iscsiadm -m node --logoutall=all
check kernel-log-clean 10 sh -c "dmesg | grep -iE 'I/O error|critical target error|Buffer I/O|EXT4-fs error|XFS.*(corrupt|error)' && exit 1 || exit 0"
dmesg >/host/logs/dmesg.log
# What the kernel said about the target (sense data, ALUA, capacity changes): reported, for the record.
report kernel-notices true "$(dmesg | grep -iE 'sense|unit attention|alua|capacity|reservation|warn|iscsi' | tail -25)"
exit 0
