# Helpers for host-tier scenarios, sourced in the guest from the 9p share (/host): bounded checks whose outcome
# lands in /host/results.jsonl (one JSON object a line), their output in /host/logs/, and requests to the host.
# The guest's /bin/sh is dash: `local` keeps a helper's variables from clobbering the scenario's.
RESULTS=/host/results.jsonl

json_str() {
  # JSON string body of stdin: the guest has perl-base, not python or jq.
  perl -0777 -pe 's/\\/\\\\/g; s/"/\\"/g; s/\n/\\n/g; s/\t/\\t/g; s/\r//g; s/[\x00-\x1f]//g'
}

# report NAME OK(true|false) VALUE — a result the scenario computed itself.
report() {
  printf '{"check":"%s","ok":%s,"value":"%s"}\n' "$1" "$2" "$(printf '%s' "$3" | json_str)" >>"$RESULTS"
  echo "== $1: ok=$2 value=$3"
}

# check NAME SECONDS CMD... — runs CMD with a time limit; ok when it exits 0. Output: /host/logs/NAME.log.
check() {
  local name limit t0 t1 rc secs ok
  name=$1
  limit=$2
  shift 2
  echo "== $name: $*"
  t0=$(date +%s.%N)
  timeout -k 5 "$limit" "$@" >"/host/logs/$name.log" 2>&1
  rc=$?
  t1=$(date +%s.%N)
  secs=$(echo "$t0 $t1" | perl -ane 'printf "%.1f", $F[1]-$F[0]')
  ok=false
  [ $rc -eq 0 ] && ok=true
  tail -c 600 "/host/logs/$name.log" | sed 's/^/   /'
  printf '{"check":"%s","ok":%s,"exit":%d,"seconds":%s,"output":"%s"}\n' "$name" "$ok" "$rc" "$secs" \
    "$(tail -c 600 "/host/logs/$name.log" | json_str)" >>"$RESULTS"
  return $rc
}

# ask_host NAME ARG [SECONDS] — the host runs its handler NAME with ARG; prints the answer (empty on time-out).
ask_host() {
  local seq req waited
  # The counter lives in a file: ask_host usually runs in a $(...) subshell, where a variable's increment is lost.
  seq=$(($(cat /tmp/ask_host.seq 2>/dev/null || echo 0) + 1))
  echo "$seq" >/tmp/ask_host.seq
  req="/host/requests/$seq.$1"
  printf '%s\n' "$2" >"$req.tmp" && mv "$req.tmp" "$req.req"
  waited=0
  while [ ! -f "$req.ans" ] && [ $waited -lt "${3:-120}" ]; do
    sleep 1
    waited=$((waited + 1))
  done
  cat "$req.ans" 2>/dev/null
}

# wait_for_path PATH SECONDS — a device node that udev or the SCSI scan makes shortly.
wait_for_path() {
  local n=0
  while [ ! -e "$1" ] && [ $n -lt "$2" ]; do
    sleep 1
    n=$((n + 1))
  done
  [ -e "$1" ]
}
