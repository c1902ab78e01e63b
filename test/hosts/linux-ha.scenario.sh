#!/bin/sh
# The HA-pair scenario group, run as root in the Linux guest (test/hosts/linux-ha.host.test.ts boots it): a path to
# each node through open-iscsi, one dm-multipath map with the host guide's settings, I/O only on the optimized path
# group, fio with crc32c verify through the map while the host kills the optimized node with kill -9, its return
# (resync, path reinstated), then everything read back through it with the other node killed.
. /host/guest-lib.sh
. /host/params.env

login_path() { # NAME PORT — SendTargets on the node, a record for the address the guest reaches, login
  local tpg
  check "$1-discovery" 60 iscsiadm -m discovery -t sendtargets -p "$HOST:$2" || return 1
  tpg=$(grep " $IQN\$" "/host/logs/$1-discovery.log" | head -1 | sed 's/.*,\([0-9]*\) .*/\1/')
  iscsiadm -m node -p "127.0.0.1:$2" -o delete >/dev/null 2>&1
  check "$1-node-record" 30 iscsiadm -m node -o new -T "$IQN" -p "$HOST:$2,${tpg:-0}" || return 1
  check "$1-login" 90 iscsiadm -m node -T "$IQN" -p "$HOST:$2" --login
}

sd_of() { # PORT → the path's sd name
  local link="/dev/disk/by-path/ip-$HOST:$1-iscsi-$IQN-lun-0"
  wait_for_path "$link" 60 && basename "$(readlink -f "$link")"
}

written_sectors() { awk '{print $7}' "/sys/block/$1/stat"; }

login_path node-a "$PORT_A" || exit 1
login_path node-b "$PORT_B" || exit 1
sda=$(sd_of "$PORT_A")
sdb=$(sd_of "$PORT_B")
report paths-found "$([ -n "$sda" ] && [ -n "$sdb" ] && echo true || echo false)" "node-a=$sda node-b=$sdb"

check multipathd-start 30 multipathd
check multipath-map 60 sh -c "sleep 3; multipath -r >/dev/null 2>&1; udevadm settle --timeout=20; multipath -ll"
maps=$(grep -c '^mpath' /host/logs/multipath-map.log)
report one-map "$([ "$maps" = 1 ] && echo true || echo false)" "$maps map(s)"
# group_by_prio + ALUA: node-a (active/optimized, prio 50) is the active group, node-b (non-optimized, 10) waits.
report optimized-group-is-node-a "$(grep -A1 'prio=50 status=active' /host/logs/multipath-map.log | grep -q " $sda " && echo true || echo false)" \
  "$(tr '\n' '|' </host/logs/multipath-map.log)"
report non-optimized-group-is-node-b "$(grep -A1 'prio=10 status=enabled' /host/logs/multipath-map.log | grep -q " $sdb " && echo true || echo false)" ""
# multipathd writes multipath.conf's fast_io_fail_tmo into each managed session's recovery_tmo (docs/hosts.md).
report session-recovery-tmo true "$(cat /sys/class/iscsi_session/session*/recovery_tmo | sort -u | tr '\n' ' ')"
map=/dev/mapper/$(grep '^mpath' /host/logs/multipath-map.log | head -1 | cut -d' ' -f1)
wait_for_path "$map" 30

# Asymmetric ALUA: dm-multipath sends the I/O to the optimized group only.
a0=$(written_sectors "$sda")
b0=$(written_sectors "$sdb")
check fio-through-map 300 fio --name=mp --filename="$map" --rw=randwrite --bs=4k --size=16M --ioengine=libaio \
  --iodepth=8 --direct=1 --verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0
a1=$(written_sectors "$sda")
b1=$(written_sectors "$sdb")
report io-only-on-optimized "$([ $((a1 - a0)) -ge 32768 ] && [ $((b1 - b0)) -eq 0 ] && echo true || echo false)" \
  "sectors written: node-a path $((a1 - a0)), node-b path $((b1 - b0))"

# kill -9 of the optimized node in the middle of verified writes: no I/O error may reach fio.
fio --name=failover --filename="$map" --rw=randwrite --bs=4k --size=24M --ioengine=libaio --iodepth=4 --direct=1 \
  --verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0 --rate=2m >/host/logs/fio-failover.log 2>&1 &
fio_pid=$!
sleep 4
killed=$(ask_host kill node-a 60)
t_kill=$(date +%s)
report kill-seen-at-uptime true "$(cut -d' ' -f1 /proc/uptime)"
waited=0
while kill -0 $fio_pid 2>/dev/null && [ $waited -lt 240 ]; do sleep 1; waited=$((waited + 1)); done
kill -0 $fio_pid 2>/dev/null && kill -9 $fio_pid
wait $fio_pid
rc=$?
report fio-survives-kill-9 "$([ $rc -eq 0 ] && echo true || echo false)" "fio exit $rc, node-a: $killed, fio ran $(( $(date +%s) - t_kill )) s after the kill; $(grep -E 'err=|WRITE:|READ:' /host/logs/fio-failover.log | tr '\n' ' ')"
# The failover as fio saw it: the longest write (submission to completion) spans the stall.
report failover-longest-write true "$(awk '/write: IOPS/{w=1} w && /^ *lat \(/{print; exit}' /host/logs/fio-failover.log | sed 's/^ *//')"
check multipath-after-kill 30 multipath -ll
check map-reads-after-kill 60 dd if="$map" of=/dev/null bs=1M count=16 iflag=direct

# node-a comes back: it resyncs from node-b, iscsid logs in again, multipathd reinstates its path and fails back.
started=$(ask_host start node-a 120)
report node-a-restarted "$(echo "$started" | grep -q '^started' && echo true || echo false)" "$started"
check path-reinstated 240 sh -c "while ! multipath -ll | grep -A1 'prio=50 status=active' | grep -q ' $sda .*active ready'; do sleep 2; done; multipath -ll"
# Everything written, read back through node-a alone: fio's verify_only replays the failover job's blocks.
killed_b=$(ask_host kill node-b 60)
check verify-through-node-a 300 fio --name=failover --filename="$map" --rw=randwrite --bs=4k --size=24M --ioengine=libaio \
  --iodepth=4 --direct=1 --verify=crc32c --verify_only --verify_fatal=1 --verify_state_save=0
report node-b-killed-for-verify true "$killed_b"

multipathd shutdown >/dev/null 2>&1
dmesg >/host/logs/dmesg.log
report kernel-notices true "$(dmesg | grep -iE 'alua|sense|multipath: |reinstat|fail|conn error|session recovery' | grep -v 'IMA\|MMCONFIG\|calibrat' | tail -30)"
exit 0
