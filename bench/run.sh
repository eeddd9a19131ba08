#!/usr/bin/env bash
# podwire's throughput benchmark; `npm run bench` builds first, then runs this.
#
# 1. Builds a large capture of real node traffic. Two network namespaces stand in for pods, each joined
#    by a veth pair to a bridge, the way the CNI bridge plugin wires pods to a node. The server pod runs
#    an HTTP API (bench/http-server.mjs: JSON over keep-alive) and redis-server; the client pod drives
#    them with wrk and redis-benchmark while tcpdump records the host side of the server pod's veth,
#    where a node agent captures. Load runs until the capture holds BENCH_PACKETS packets.
# 2. Times `podwire analyze` (best of BENCH_RUNS) and `tshark -q -z io,phs` (once) on that same file
#    under /usr/bin/time, and prints packets/s, MB/s, peak RSS and the ratio (bench/report.mjs, which
#    also writes results.json), for podwire three ways: connections only (goal: at least 1,000,000
#    packets/s and 30x tshark), full dissection printing totals (entries/s; goal: 20x tshark, peak
#    RSS under 300 MB), and full dissection writing every entry as JSON.
#
# Environment:
#   BENCH_PACKETS       packets the built capture holds at least (default 1200000)
#   BENCH_CAPTURE       time this existing pcap/pcapng instead of building one (no root needed then)
#   BENCH_RUNS          podwire runs, the fastest counts (default 3)
#   BENCH_OUT           capture, logs and results.json go here (default bench/out)
#   BENCH_LOAD_TIMEOUT  seconds the load may take to fill the capture before giving up (default 600)
#
# Building the capture needs root, iproute2, tcpdump, wrk, redis-server and redis-benchmark; timing
# needs tshark, capinfos and /usr/bin/time (GNU time). Everything the script sets up is torn down on
# exit, error or Ctrl-C, and leftovers of a run that was killed outright are removed before starting.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

BENCH_PACKETS="${BENCH_PACKETS:-1200000}"
BENCH_RUNS="${BENCH_RUNS:-3}"
BENCH_OUT="${BENCH_OUT:-$ROOT/bench/out}"
BENCH_CAPTURE="${BENCH_CAPTURE:-}"
BENCH_LOAD_TIMEOUT="${BENCH_LOAD_TIMEOUT:-600}"
# Paths given relative to where the user ran us, before moving to the repository root.
[[ $BENCH_OUT == /* ]] || BENCH_OUT="$PWD/$BENCH_OUT"
[[ -z $BENCH_CAPTURE || $BENCH_CAPTURE == /* ]] || BENCH_CAPTURE="$PWD/$BENCH_CAPTURE"
cd "$ROOT"

# The pod network. 198.18.0.0/15 is reserved for benchmarking (RFC 2544), so these addresses cannot
# collide with a real network; the pods get no default route, so their traffic stays on the bridge.
BRIDGE=pwbr0
NS_CLI=pw-bench-client
NS_SRV=pw-bench-server
VETH_CLI=pwv-cli
VETH_SRV=pwv-srv
GW_IP=198.18.0.1
CLI_IP=198.18.0.10
SRV_IP=198.18.0.20
HTTP_PORT=8080
REDIS_PORT=6379

log() { printf 'bench: %s\n' "$*" >&2; }
die() {
  printf 'bench: error: %s\n' "$*" >&2
  exit 1
}

for knob in BENCH_PACKETS BENCH_RUNS BENCH_LOAD_TIMEOUT; do
  [[ ${!knob} =~ ^[1-9][0-9]*$ ]] || die "$knob must be a positive integer, not '${!knob}'"
done

# --- clean-up -----------------------------------------------------------------------------------------

pids=()       # every background process this script started; stopped by id on exit
network_up=0  # set once this run has touched the pod network, so only then is it torn down

# Stops the given processes: SIGTERM, a few seconds' grace, then SIGKILL for any that ignore it.
stop_pids() {
  local pid i alive
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for ((i = 0; i < 50; i++)); do
    alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "$@"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "$@"; do wait "$pid" 2>/dev/null || true; done
}

teardown_network() {
  local ns pid
  for ns in "$NS_CLI" "$NS_SRV"; do
    # Processes still inside our namespaces can only be from a run of this script that was killed
    # before its trap ran; they would keep the namespace (and its ports) alive, so end them by id.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  # Deleting a namespace destroys the veth ends inside it and so their host ends; these are for
  # pairs left half-built.
  ip link del "$VETH_CLI" 2>/dev/null || true
  ip link del "$VETH_SRV" 2>/dev/null || true
  ip link del "$BRIDGE" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if ((${#pids[@]})); then stop_pids "${pids[@]}"; fi
  if ((network_up)); then teardown_network; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- building the capture ------------------------------------------------------------------------------

need() {
  local cmd
  for cmd in "$@"; do
    command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' is not installed (see scripts/setup.sh)"
  done
}

# Runs "$@" in the background and remembers its pid. `ip netns exec` execs its command, so the pid is
# the command's own. The child does not get the lock's descriptor: if this script is killed outright,
# its orphans must not keep the lock, or the next run could not clear them away.
spawn() {
  "$@" 9>&- &
  pids+=("$!")
}

# One pod: a namespace whose eth0 is one end of a veth pair; the host end joins the bridge.
add_pod() {
  local ns=$1 veth=$2 addr=$3
  ip netns add "$ns"
  ip link add "$veth" type veth peer name "$veth-p"
  ip link set "$veth-p" netns "$ns"
  ip -n "$ns" link set "$veth-p" name eth0
  ip -n "$ns" addr add "$addr/24" dev eth0
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
  ip link set "$veth" master "$BRIDGE"
  ip link set "$veth" up
}

setup_network() {
  network_up=1
  teardown_network
  ip link add "$BRIDGE" type bridge
  ip addr add "$GW_IP/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  add_pod "$NS_CLI" "$VETH_CLI" "$CLI_IP"
  add_pod "$NS_SRV" "$VETH_SRV" "$SRV_IP"
}

# Waits until HOST:PORT accepts a connection from the client pod (before tcpdump starts, so the probes
# are not in the capture). $3 is the server's pid, to stop waiting at once if it died.
wait_port() {
  local host=$1 port=$2 pid=$3 i
  for ((i = 0; i < 100; i++)); do
    ip netns exec "$NS_CLI" bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || die "the server for port $port exited; see $BENCH_OUT/*.log"
    sleep 0.1
  done
  die "nothing answers on $host:$port from the client pod after 10s (a firewall on bridged traffic?)"
}

# tcpdump prints its counters on SIGUSR1 as one line, "tcpdump: N packets captured, N packets received
# by filter, N packets dropped by kernel". Prints "CAPTURED RECEIVED": packets tcpdump has taken (what
# the file will hold) and packets the kernel has queued for it.
tcpdump_counts() {
  local before i line
  before=$(grep -c '^tcpdump: .* packets captured' "$TCPDUMP_LOG" || true)
  kill -USR1 "$TCPDUMP_PID"
  for ((i = 0; i < 100; i++)); do
    (($(grep -c '^tcpdump: .* packets captured' "$TCPDUMP_LOG" || true) > before)) && break
    sleep 0.01
  done
  line=$(grep '^tcpdump: .* packets captured' "$TCPDUMP_LOG" | tail -n 1)
  sed -E 's/^tcpdump: ([0-9]+) packets? captured, ([0-9]+) packets? received by filter.*/\1 \2/' <<<"$line"
}

build_capture() {
  ((EUID == 0)) || die "building the capture needs root (network namespaces); or set BENCH_CAPTURE=FILE"
  need ip tcpdump wrk redis-server redis-benchmark node

  # Two runs at once would tear down each other's pods.
  exec 9>/run/lock/podwire-bench.lock
  flock -n 9 || die "another benchmark run holds /run/lock/podwire-bench.lock"

  log "building the pod network ($NS_CLI $CLI_IP -> $BRIDGE -> $NS_SRV $SRV_IP)"
  setup_network

  spawn ip netns exec "$NS_SRV" node bench/http-server.mjs "$SRV_IP" "$HTTP_PORT" \
    >"$BENCH_OUT/http-server.log" 2>&1
  local http_pid=$!
  spawn ip netns exec "$NS_SRV" redis-server --bind "$SRV_IP" --port "$REDIS_PORT" \
    --save '' --appendonly no --protected-mode no --dir "$BENCH_OUT" \
    --logfile "$BENCH_OUT/redis-server.log" >/dev/null 2>&1
  local redis_pid=$!
  wait_port "$SRV_IP" "$HTTP_PORT" "$http_pid"
  wait_port "$SRV_IP" "$REDIS_PORT" "$redis_pid"

  # -Z root: Debian's tcpdump otherwise drops to the tcpdump user, which may not write to BENCH_OUT.
  # -B 65536: a 64 MiB kernel buffer, so bursts are not dropped while tcpdump writes.
  TCPDUMP_LOG="$BENCH_OUT/tcpdump.log"
  rm -f "$PCAP"
  spawn tcpdump -i "$VETH_SRV" -n -s 0 -B 65536 -Z root -w "$PCAP" 2>"$TCPDUMP_LOG"
  TCPDUMP_PID=$!
  local i
  for ((i = 0; i < 100; i++)); do
    grep -q 'listening on' "$TCPDUMP_LOG" && break
    kill -0 "$TCPDUMP_PID" 2>/dev/null || die "tcpdump failed: $(cat "$TCPDUMP_LOG")"
    sleep 0.1
  done
  grep -q 'listening on' "$TCPDUMP_LOG" || die "tcpdump did not start: $(cat "$TCPDUMP_LOG")"

  # The load runs "forever" and is stopped once the capture is big enough. wrk holds 32 keep-alive
  # connections; redis-benchmark opens fresh connections for each test, one client sending a command
  # per round trip and one pipelining 16, so the capture has short connections and batched segments too.
  log "capturing at least $BENCH_PACKETS packets on $VETH_SRV into $PCAP"
  local load=()
  spawn ip netns exec "$NS_CLI" wrk -t2 -c32 -d3600s \
    "http://$SRV_IP:$HTTP_PORT/api/v1/namespaces/shop/pods/checkout" >"$BENCH_OUT/wrk.log" 2>&1
  load+=("$!")
  spawn ip netns exec "$NS_CLI" redis-benchmark -h "$SRV_IP" -p "$REDIS_PORT" -t set,get,lpush,lpop \
    -c 16 -n 20000 -d 100 -r 100000 -l -q >"$BENCH_OUT/redis-benchmark.log" 2>&1
  load+=("$!")
  spawn ip netns exec "$NS_CLI" redis-benchmark -h "$SRV_IP" -p "$REDIS_PORT" -t set,get,lpush,lpop \
    -c 4 -P 16 -n 200000 -d 100 -r 100000 -l -q >"$BENCH_OUT/redis-benchmark-pipelined.log" 2>&1
  load+=("$!")

  local captured=0 deadline=$((SECONDS + BENCH_LOAD_TIMEOUT)) next_log=$((SECONDS + 5)) pid
  while :; do
    sleep 0.2
    for pid in "${load[@]}"; do
      kill -0 "$pid" 2>/dev/null || die "a load generator exited early; see $BENCH_OUT/*.log"
    done
    kill -0 "$TCPDUMP_PID" 2>/dev/null || die "tcpdump exited early: $(cat "$TCPDUMP_LOG")"
    read -r captured _ < <(tcpdump_counts)
    ((captured >= BENCH_PACKETS)) && break
    ((SECONDS < deadline)) || die "only $captured packets after ${BENCH_LOAD_TIMEOUT}s of load"
    if ((SECONDS >= next_log)); then
      log "  $captured / $BENCH_PACKETS packets"
      next_log=$((SECONDS + 5))
    fi
  done

  # Clients first, then a moment for the FIN exchanges of their connections to reach the capture.
  stop_pids "${load[@]}"
  sleep 0.5
  # The kernel hands packets to tcpdump in blocks, a partial block only after libpcap's 1s timeout, and
  # tcpdump stopped before then loses the block (counted "received by filter", yet not in the file).
  # So wait until tcpdump has taken everything the kernel queued and nothing new arrives.
  local received previous=-1
  for ((i = 0; i < 50; i++)); do
    read -r captured received < <(tcpdump_counts)
    ((captured == received && captured == previous)) && break
    previous=$captured
    sleep 0.2
  done
  # SIGINT, as at a terminal: tcpdump flushes the file and prints its final counters.
  kill -INT "$TCPDUMP_PID"
  wait "$TCPDUMP_PID" || die "tcpdump exited with an error: $(cat "$TCPDUMP_LOG")"
  local dropped
  dropped=$(sed -n 's/^\([0-9]*\) packets* dropped by kernel$/\1/p' "$TCPDUMP_LOG")
  log "tcpdump: $(sed -n 's/^\([0-9]*\) packets* captured$/\1/p' "$TCPDUMP_LOG") packets captured," \
    "${dropped:-?} dropped by kernel"

  # Nothing may compete with the timed runs for the CPU.
  stop_pids "${pids[@]}"
  pids=()
  teardown_network
  network_up=0
  exec 9>&-
}

# --- timing ----------------------------------------------------------------------------------------------

mkdir -p "$BENCH_OUT"
if [[ -n $BENCH_CAPTURE ]]; then
  PCAP="$BENCH_CAPTURE"
  [[ -r $PCAP ]] || die "BENCH_CAPTURE: cannot read '$PCAP'"
  TCPDUMP_LOG=""
else
  PCAP="$BENCH_OUT/node-traffic.pcap"
  build_capture
fi
need tshark capinfos node
[[ -x /usr/bin/time ]] || die "/usr/bin/time (GNU time) is not installed (Debian package 'time')"
[[ -x bin/podwire && -f dist/src/cli/main.js ]] || die "podwire is not built; run 'npm run build' first"

capinfos -c -M "$PCAP" >"$BENCH_OUT/capinfos.txt" || die "capinfos cannot read $PCAP"
if [[ -z $BENCH_CAPTURE ]]; then
  packets=$(sed -n 's/^Number of packets: *\([0-9]*\).*/\1/p' "$BENCH_OUT/capinfos.txt")
  ((${packets:-0} >= BENCH_PACKETS)) || die "the capture holds ${packets:-?} packets, fewer than $BENCH_PACKETS"
fi

# podwire is timed three ways on the file: connections only (decoding, TCP tracking, no L7), and
# dissecting every stream (HTTP, Redis, ... entries), both printing only the totals as tshark -q
# does (`--format summary`); and dissecting with every entry and connection written as JSON lines
# to /dev/null, what a user's `--format jsonl > file` costs, minus the disk.
# An untimed jsonl run of each first: its summary line is checked against capinfos, and it brings
# the file into the page cache, so no timing includes reading it from disk.
# k8s-jsonl is dissect-jsonl with every endpoint named from a 10,000-pod snapshot
# (bench/k8s-snapshot.mjs) and reverse DNS off: the difference is what naming costs, and it must be
# no I/O on the hot path.
SNAPSHOT="$BENCH_OUT/k8s-snapshot.json"
node bench/k8s-snapshot.mjs "$SNAPSHOT" || die "cannot write $SNAPSHOT"
modes=(connections dissect dissect-jsonl k8s-jsonl)
declare -A mode_flags=([connections]="--connections-only" [dissect]="" [dissect-jsonl]=""
  [k8s-jsonl]="--k8s $SNAPSHOT --no-reverse-dns")
declare -A mode_format=([connections]=summary [dissect]=summary [dissect-jsonl]=jsonl [k8s-jsonl]=jsonl)
podwire_times=()
for mode in "${modes[@]}"; do
  log "podwire check run ($mode)"
  # shellcheck disable=SC2086 # the flags are words
  bin/podwire analyze "$PCAP" ${mode_flags[$mode]} --format jsonl --no-progress 2>"$BENCH_OUT/podwire.log" |
    tail -n 1 >"$BENCH_OUT/podwire-$mode.summary.json" ||
    die "podwire failed: $(cat "$BENCH_OUT/podwire.log")"
  # --no-progress and stderr to a file: the progress bar is not part of what is measured.
  for ((run = 1; run <= BENCH_RUNS; run++)); do
    log "podwire run $run/$BENCH_RUNS ($mode)"
    # shellcheck disable=SC2086
    /usr/bin/time -v -o "$BENCH_OUT/time-podwire-$mode-$run.txt" \
      bin/podwire analyze "$PCAP" ${mode_flags[$mode]} --format "${mode_format[$mode]}" --no-progress \
      >/dev/null 2>"$BENCH_OUT/podwire.log" || die "podwire failed (exit $?): $(cat "$BENCH_OUT/podwire.log")"
    podwire_times+=(--podwire-time "$mode=$BENCH_OUT/time-podwire-$mode-$run.txt")
  done
done

# tshark's protocol hierarchy goes to a file rather than /dev/null: it is a few lines, costs nothing to
# write, and shows what the capture holds. Its stderr has only the "running as root" warning.
log "tshark run"
/usr/bin/time -v -o "$BENCH_OUT/time-tshark.txt" \
  tshark -n -r "$PCAP" -q -z io,phs >"$BENCH_OUT/tshark-phs.txt" 2>"$BENCH_OUT/tshark.log" ||
  die "tshark failed (exit $?): $(cat "$BENCH_OUT/tshark.log")"

node bench/report.mjs \
  --capture "$PCAP" \
  --capinfos "$BENCH_OUT/capinfos.txt" \
  --podwire-summary "connections=$BENCH_OUT/podwire-connections.summary.json" \
  --podwire-summary "dissect=$BENCH_OUT/podwire-dissect.summary.json" \
  --podwire-summary "dissect-jsonl=$BENCH_OUT/podwire-dissect-jsonl.summary.json" \
  --podwire-summary "k8s-jsonl=$BENCH_OUT/podwire-k8s-jsonl.summary.json" \
  "${podwire_times[@]}" \
  --tshark-time "$BENCH_OUT/time-tshark.txt" \
  --tshark-phs "$BENCH_OUT/tshark-phs.txt" \
  ${TCPDUMP_LOG:+--tcpdump-log "$TCPDUMP_LOG"} \
  --out "$BENCH_OUT/results.json"
