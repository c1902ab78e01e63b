#!/bin/sh
# The HA-pair scenario group, run as root in the Linux guest (test/hosts/linux-ha.host.test.ts boots it): a path to
# each node through open-iscsi, one dm-multipath map with the host guide's settings, I/O only on the optimized path
# group, fio with crc32c verify through the map while the host kills the optimized node with kill -9, its return
# (resync, path reinstated), then everything read back through it with the other node killed. Then the other node
# back as an equal (both optimized) and the sync link cut under verified writes, restored, and read back.
. /host/guest-lib.sh
. /host/params.env

# The nodes live in network namespaces on the host; qemu's user networking connects the guest to their front
# addresses, which is also what SendTargets advertises, so discovery's own records are usable here.
login_path() { # NAME ADDRESS PORT — SendTargets on the node, its record checked, login
  local tpg
  check "$1-discovery" 60 iscsiadm -m discovery -t sendtargets -p "$2:$3" || return 1
  tpg=$(grep " $IQN\$" "/host/logs/$1-discovery.log" | head -1 | sed 's/.*,\([0-9]*\) .*/\1/')
  iscsiadm -m node -T "$IQN" -p "$2:$3" -o delete >/dev/null 2>&1
  check "$1-node-record" 30 iscsiadm -m node -o new -T "$IQN" -p "$2:$3,${tpg:-0}" || return 1
  check "$1-login" 90 iscsiadm -m node -T "$IQN" -p "$2:$3" --login
}

sd_of() { # ADDRESS PORT → the path's sd name
  local link="/dev/disk/by-path/ip-$1:$2-iscsi-$IQN-lun-0"
  wait_for_path "$link" 60 && basename "$(readlink -f "$link")"
}

written_sectors() { awk '{print $7}' "/sys/block/$1/stat"; }

login_path node-a "$HOST_A" "$PORT_A" || exit 1
login_path node-b "$HOST_B" "$PORT_B" || exit 1
sda=$(sd_of "$HOST_A" "$PORT_A")
sdb=$(sd_of "$HOST_B" "$PORT_B")
report paths-found "$([ -n "$sda" ] && [ -n "$sdb" ] && echo true || echo false)" "node-a=$sda node-b=$sdb"

check multipathd-start 30 multipathd
# One read through the map first: the kernel picks the best path group at its first I/O (until then every group
# shows status=enabled).
check multipath-map 60 sh -c "sleep 3; multipath -r >/dev/null 2>&1; udevadm settle --timeout=20
  for m in /dev/mapper/mpath*; do dd if=\$m of=/dev/null bs=4096 count=1 iflag=direct status=none; done; multipath -ll"
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

# node-b back as an equal: restarted with its paths active/optimized, it resyncs from node-a, iscsid logs in again,
# and multipathd (group_by_prio, failback immediate) regroups both paths into one active group.
started_b=$(ask_host start-optimized node-b 120)
report node-b-restarted-optimized "$(echo "$started_b" | grep -q '^started' && echo true || echo false)" "$started_b"
check both-paths-active 240 sh -c "while ! multipath -ll | tee /tmp/mp.now | grep -q ' $sdb .*active ready'; do sleep 2; done
  n=0; while [ \$n -lt 60 ]; do [ \$(grep -c 'prio=' /tmp/mp.now) = 1 ] && grep -q ' $sda .*active ready' /tmp/mp.now && break
    sleep 2; n=\$((n + 1)); multipath -ll >/tmp/mp.now; done; cat /tmp/mp.now; [ \$n -lt 60 ]"

# The sync link cut (heartbeat up) under verified writes through both paths: node-b, the lower priority, blocks
# and answers NOT READY; its in-flight writes fail over to node-a and no error may reach fio.
fio --name=synccut --filename="$map" --rw=randwrite --bs=4k --size=32M --ioengine=libaio --iodepth=4 --direct=1 \
  --verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0 --rate=2m >/host/logs/fio-synccut.log 2>&1 &
fio_pid=$!
a0=$(written_sectors "$sda")
b0=$(written_sectors "$sdb")
n=0
while [ $n -lt 30 ] && { [ "$(written_sectors "$sda")" = "$a0" ] || [ "$(written_sectors "$sdb")" = "$b0" ]; }; do sleep 1; n=$((n + 1)); done
a1=$(written_sectors "$sda")
b1=$(written_sectors "$sdb")
report io-on-both-before-cut "$([ "$a1" != "$a0" ] && [ "$b1" != "$b0" ] && echo true || echo false)" \
  "sectors written: node-a path $((a1 - a0)), node-b path $((b1 - b0))"
lines_before_cut=$(dmesg | wc -l)
cut=$(ask_host cut-sync x 120)
report sync-cut "$(echo "$cut" | grep -q '^node-b blocked' && echo true || echo false)" "$cut"
# The checker (TEST UNIT READY) finds node-b NOT READY and keeps its path failed; node-a's path carries the I/O.
check node-b-path-failed 120 sh -c "while ! { multipath -ll >/tmp/mp.cut; grep -qE ' $sdb .*(failed|faulty)' /tmp/mp.cut &&
  grep -q ' $sda .*active ready' /tmp/mp.cut; }; do sleep 1; done; cat /tmp/mp.cut"
b2=$(written_sectors "$sdb")
waited=0
while kill -0 $fio_pid 2>/dev/null && [ $waited -lt 240 ]; do sleep 1; waited=$((waited + 1)); done
kill -0 $fio_pid 2>/dev/null && kill -9 $fio_pid
wait $fio_pid
rc=$?
b3=$(written_sectors "$sdb")
report no-io-on-node-b-while-blocked "$([ "$b3" = "$b2" ] && echo true || echo false)" "node-b path sectors written after its path failed: $((b3 - b2))"
report fio-survives-sync-cut "$([ $rc -eq 0 ] && echo true || echo false)" "fio exit $rc; $(grep -E 'err=|WRITE:|READ:' /host/logs/fio-synccut.log | tr '\n' ' ')"
# Whether node-a's path was failed too for a moment (scsi_dh_alua applies the port group states node-b's REPORT
# TARGET PORT GROUPS gives for every group, and blocked node-b calls node-a's group unavailable): for the record.
dmesg | tail -n +$((lines_before_cut + 1)) >/host/logs/dmesg-cut.log
report node-a-path-during-cut true "$(grep -E 'Failing path|Reinstating path|port group 0[12] state' /host/logs/dmesg-cut.log | tr '\n' '|')"
report synccut-longest-write true "$(awk '/write: IOPS/{w=1} w && /^ *lat \(/{print; exit}' /host/logs/fio-synccut.log | sed 's/^ *//')"

# The link restored: node-a resyncs node-b, node-b serves again, multipathd reinstates its path.
restored=$(ask_host restore-sync x 240)
report sync-restored "$(echo "$restored" | grep -q '^resynced' && echo true || echo false)" "$restored"
check both-paths-back 240 sh -c "n=0; while [ \$n -lt 110 ]; do multipath -ll >/tmp/mp.now
    [ \$(grep -c 'prio=' /tmp/mp.now) = 1 ] && grep -q ' $sda .*active ready' /tmp/mp.now && grep -q ' $sdb .*active ready' /tmp/mp.now && break
    sleep 2; n=\$((n + 1)); done; cat /tmp/mp.now; [ \$n -lt 110 ]"
# What node-a took alone during the cut reached node-b by the resync: read back through node-b's path by itself.
check verify-through-node-b-path 300 fio --name=synccut --filename="/dev/$sdb" --rw=randwrite --bs=4k --size=32M \
  --ioengine=libaio --iodepth=4 --direct=1 --verify=crc32c --verify_only --verify_fatal=1 --verify_state_save=0

multipathd shutdown >/dev/null 2>&1
dmesg >/host/logs/dmesg.log
report kernel-notices true "$(dmesg | grep -iE 'alua|sense|multipath: |reinstat|fail|conn error|session recovery' | grep -v 'IMA\|MMCONFIG\|calibrat' | tail -30)"
exit 0
