#!/bin/sh
# The timeouts scenario group, run as root in the Linux guest (test/hosts/linux-timeouts.host.test.ts boots it): one
# session to a `tandem serve` in a network namespace on the host, with the host guide's NOP-Out settings (every 5 s,
# 10 s to answer). Under verified fio writes: the target's store frozen for 20 s (a busy target: the guest pings it and
# must get answers), the TCP connection stalled for 6 s (packets dropped; TCP carries it, the ping is answered after),
# then for 19 s (the ping times out, the initiator drops the connection and recovers the session once packets flow,
# within the single-path replacement_timeout the guide gives). No I/O error may reach fio; every block is verified.
. /host/guest-lib.sh
. /host/params.env

# libiscsi logs each NOP-Out it sends as a ping ("Sending nopout as ping") with this on.
echo 1 >/sys/module/libiscsi/parameters/debug_libiscsi_conn

check discovery 60 iscsiadm -m discovery -t sendtargets -p "$TARGET:$PORT" || exit 1
tpg=$(grep " $IQN\$" /host/logs/discovery.log | head -1 | sed 's/.*,\([0-9]*\) .*/\1/')
iscsiadm -m node -T "$IQN" -p "$TARGET:$PORT" -o delete >/dev/null 2>&1
check node-record 30 iscsiadm -m node -o new -T "$IQN" -p "$TARGET:$PORT,${tpg:-1}" || exit 1
# One path, no multipath: the host guide raises replacement_timeout to 120 for such a record.
check single-path-replacement-timeout 30 iscsiadm -m node -T "$IQN" -p "$TARGET:$PORT" -o update -n node.session.timeo.replacement_timeout -v 120
check login 90 iscsiadm -m node -T "$IQN" -p "$TARGET:$PORT" --login || exit 1
link="/dev/disk/by-path/ip-$TARGET:$PORT-iscsi-$IQN-lun-0"
wait_for_path "$link" 60
dev=$(readlink -f "$link")
report disk-found "$([ -b "$dev" ] && echo true || echo false)" "$dev"
report session-timeouts true "recovery_tmo=$(cat /sys/class/iscsi_session/session*/recovery_tmo) $(iscsiadm -m node -T "$IQN" -p "$TARGET:$PORT" | grep -E 'noop_out|replacement' | tr '\n' ' ')"
dmesg -c >>/host/logs/dmesg-all.log

# phase NAME HANDLER SECONDS — verified writes (24 MiB at 1 MiB/s, QD4) while the host runs HANDLER for SECONDS;
# reports what fio saw and keeps the kernel's messages of the phase in /host/logs/dmesg-NAME.log.
phase() {
  local name=$1 pid rc answer waited
  fio --name="$name" --filename="$dev" --rw=randwrite --bs=4k --size=24M --ioengine=libaio --iodepth=4 --direct=1 \
    --verify=crc32c --do_verify=1 --verify_fatal=1 --verify_state_save=0 --rate=1m >"/host/logs/fio-$name.log" 2>&1 &
  pid=$!
  sleep 3
  answer=$(ask_host "$2" "$3" $((${3%% *} + 200)))
  report "$name-host" "$(echo "$answer" | grep -q '^ERROR' && echo false || echo true)" "$answer"
  waited=0
  while kill -0 $pid 2>/dev/null && [ $waited -lt 300 ]; do sleep 1; waited=$((waited + 1)); done
  kill -0 $pid 2>/dev/null && kill -9 $pid
  wait $pid
  rc=$?
  dmesg -c >"/host/logs/dmesg-$name.log"
  cat "/host/logs/dmesg-$name.log" >>/host/logs/dmesg-all.log
  report "$name-fio" "$([ $rc -eq 0 ] && echo true || echo false)" "fio exit $rc; $(grep -E 'err=|WRITE:|READ:' "/host/logs/fio-$name.log" | tr '\n' ' ')"
  report "$name-longest-write" true "$(awk '/write: IOPS/{w=1} w && /^ *lat \(/{print; exit}' "/host/logs/fio-$name.log" | sed 's/^ *//')"
  report "$name-pings" true "$(grep -c 'Sending nopout as ping' "/host/logs/dmesg-$name.log")"
  report "$name-kernel" true "$(grep -vE 'Sending nopout as ping|Setting next tmo' "/host/logs/dmesg-$name.log" | tail -20)"
  report "$name-session-state" "$(iscsiadm -m session -P 1 | grep -q 'iSCSI Session State: LOGGED_IN' && echo true || echo false)" \
    "$(iscsiadm -m session -P 1 | grep -E 'State' | tr '\n' ' ')"
}

# A busy target: its store's file system frozen for 20 s, longer than a ping's 5 s interval plus 10 s timeout.
phase busy freeze 20
# A stalled connection shorter than the ping timeout: the ping goes out during the stall and is answered after.
phase short-stall stall 6
# A stalled connection longer than interval + timeout: the ping times out, the initiator drops the connection and
# logs in again once packets flow; the session recovers before replacement_timeout fails the I/O.
phase long-stall stall "19 relogin"

# Everything the last phase wrote, read back after the recovery.
check verify-after-recovery 300 fio --name=long-stall --filename="$dev" --rw=randwrite --bs=4k --size=24M --ioengine=libaio \
  --iodepth=4 --direct=1 --verify=crc32c --verify_only --verify_fatal=1 --verify_state_save=0
check kernel-no-io-error 10 sh -c "grep -iE 'I/O error|session recovery timed out|rejecting I/O' /host/logs/dmesg-all.log && exit 1 || exit 0"
check logout 60 iscsiadm -m node --logoutall=all
exit 0
