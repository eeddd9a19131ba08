#!/usr/bin/env bash
# podwire's live-capture benchmark on real pod traffic; `npm run bench:live-pods` builds first, then
# runs this (as root). bench/live.sh replays a generated capture; this one drives real load.
#
# A node in miniature (as test/support/netns.ts builds it): a bridge and three pods, network
# namespaces joined to it by veth pairs. The web pod runs nginx (keep-alive, a small static file),
# the redis pod a private redis-server, and the client pod drives both with wrk and redis-benchmark
# at once, step after step at increasing load. Neither tool takes a rate (Debian's wrk 4 has no
# -R): load is raised by connections, clients and pipelining, and lower rates come from wrk's
# delay() hook (a pause before each request on each connection); the rate achieved is measured from
# the interface counters. During each step `podwire agent` and tcpdump capture the host ends of the
# three veths side by side, and per step it prints:
#   - the load: seconds, packets on the wire and packets/s (the client pod's veth counters, rx + tx:
#     every request and response crosses it once), and the copies there were to capture (the three
#     veths' counters summed: a pod-to-pod packet leaves by the client's veth and enters by the
#     server's, so each is on two of them; the pods have permanent neighbour entries and no IPv6,
#     so nothing else, no ARP, is on the veths);
#   - the agent: packets libpcap handed over (over the three interfaces: compare with copies), of
#     those the duplicates it dropped (the second copy of a pod-to-pod packet; full mode only), the
#     kernel's drops and the packets it shed (its summary line at SIGTERM), its CPU (CPU seconds per
#     second of load, in %), its RSS at the end of the load and its peak RSS (VmHWM);
#   - tcpdump: one `tcpdump -w /dev/null` per veth, summed: packets captured, "dropped by kernel",
#     CPU, RSS. One per interface rather than `-i any`: `any` also captures the bridge (a third copy
#     of every packet), lo and the machine's other traffic, through one ring of cooked (SLL) frames;
#     one per veth opens exactly the agent's three rings (same snap length and 32 MiB kernel buffer)
#     and sees exactly the copies the agent is handed;
#   - full mode, on a second line: the agent's entries against what the clients did: HTTP entries
#     against the requests nginx counted (stub_status; wrk's own count, which leaves out the requests
#     in flight when it stops, alongside), Redis entries against the commands redis-server counted
#     (INFO commandstats), entries carrying an error, connections, and packets decoded against the
#     wire. Any difference is printed as a MISMATCH line, never hidden.
#
# The agent and the tcpdumps are started afresh for each step, so each step's counters, drops and
# peak RSS are its own and the agent's SIGTERM flush reports every entry of the step.
#
# Agent modes, one after the other:
#   count  --count-only: packets counted per interface, nothing decoded (the binding's cost alone)
#   conns  --connections-only: TCP tracking, no L7 dissection
#   full   the whole pipeline: dedupe, decode, TCP tracking and reassembly, HTTP/Redis dissection,
#          records serialised (to a file in LIVE_OUT, about 0.5 KB an entry, counted after the
#          step, then deleted)
#
# Environment:
#   LIVE_STEPS        load steps, each WRK_CONNECTIONS:REDIS_CLIENTS:REDIS_PIPELINE[:WRK_DELAY_MS]:
#                     wrk's connections; redis-benchmark's clients (0: no Redis load) and
#                     pipeline depth; and a pause before each request on each wrk connection
#                     (at most CONNECTIONS * 1000 / DELAY requests/s; none by default)
#                     (default "20:0:1:1 50:0:1:1 1:1:1 16:16:1 64:64:8")
#   LIVE_SECONDS      seconds of load per step (default 10)
#   LIVE_MODES        agent modes (default "count full")
#   LIVE_OUT          logs and results.txt (default bench/out/live-pods)
#   LIVE_WRK_THREADS  wrk threads, at most one per connection (default 2)
#   LIVE_REDIS_N      redis-benchmark -n: requests per test of its loop over SET and GET; it runs
#                     looped (-l) and is stopped with wrk (default 100000)
#   LIVE_KEEP         1: keep the agent's jsonl output of each step in LIVE_OUT (default 0)
#   LIVE_PODWIRE      the podwire to run (default bin/podwire of this checkout; another checkout's
#                     bin/podwire compares builds)
#
# Needs root, iproute2, tcpdump, wrk, nginx, redis-server, redis-benchmark, redis-cli, curl and a
# built podwire. The pods and the bridge are removed on exit, error or Ctrl-C, and leftovers of a run
# killed outright are removed before starting.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LIVE_STEPS="${LIVE_STEPS:-20:0:1:1 50:0:1:1 1:1:1 16:16:1 64:64:8}"
LIVE_SECONDS="${LIVE_SECONDS:-10}"
LIVE_MODES="${LIVE_MODES:-count full}"
LIVE_OUT="${LIVE_OUT:-$ROOT/bench/out/live-pods}"
LIVE_WRK_THREADS="${LIVE_WRK_THREADS:-2}"
LIVE_REDIS_N="${LIVE_REDIS_N:-100000}"
LIVE_KEEP="${LIVE_KEEP:-0}"
# Kernel ring per interface, MiB, for the agent (--buffer-size) and each tcpdump (-B) alike; empty: the agent's default.
LIVE_BUFFER_MB="${LIVE_BUFFER_MB:-}"
LIVE_PODWIRE="${LIVE_PODWIRE:-$ROOT/bin/podwire}"
[[ $LIVE_OUT == /* ]] || LIVE_OUT="$PWD/$LIVE_OUT"
[[ $LIVE_PODWIRE == /* ]] || LIVE_PODWIRE="$PWD/$LIVE_PODWIRE"
cd "$ROOT"

# The pod network: names as test/support/netns.ts makes them (prefix pwlp), addresses from
# 198.18.0.0/15 (RFC 2544: benchmarking), so nothing leaves the bridge.
PREFIX=pwlp
BRIDGE=${PREFIX}br
SUBNET=198.18.30
GW_IP=$SUBNET.1
NS_CLIENT=$PREFIX-client
NS_WEB=$PREFIX-web
NS_REDIS=$PREFIX-redis
VETH_CLIENT=${PREFIX}v10
VETH_WEB=${PREFIX}v20
VETH_REDIS=${PREFIX}v30
CLIENT_IP=$SUBNET.10
WEB_IP=$SUBNET.20
REDIS_IP=$SUBNET.30
VETHS=("$VETH_CLIENT" "$VETH_WEB" "$VETH_REDIS")
HTTP_PORT=8080
STATUS_PORT=8081 # nginx's stub_status, on the web pod's loopback: asking it adds no packet to the veths
REDIS_PORT=6379
CLK_TCK=$(getconf CLK_TCK)

log() { printf 'bench:live-pods: %s\n' "$*" >&2; }
die() {
  printf 'bench:live-pods: error: %s\n' "$*" >&2
  exit 1
}

((EUID == 0)) || die "needs root (network namespaces, packet capture)"
for cmd in ip tcpdump wrk nginx redis-server redis-benchmark redis-cli curl node; do
  command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' is not installed (see scripts/setup.sh)"
done
[[ -f $(dirname "$LIVE_PODWIRE")/../dist/src/cli/main.js ]] || die "podwire is not built; run 'npm run build'"
[[ -z $LIVE_BUFFER_MB || $LIVE_BUFFER_MB =~ ^[1-9][0-9]*$ ]] ||
  die "LIVE_BUFFER_MB must be a positive integer (MiB), not '$LIVE_BUFFER_MB'"
# The agent's own default ring, so that tcpdump gets the same when LIVE_BUFFER_MB is not set.
DEFAULT_BUFFER_MB=$(node --input-type=module -e \
  "const m = await import('$(dirname "$LIVE_PODWIRE")/../dist/src/capture/live-source.js'); console.log(m.DEFAULT_LIVE_OPTIONS.bufferBytes >> 20)")
for knob in LIVE_SECONDS LIVE_WRK_THREADS LIVE_REDIS_N; do
  [[ ${!knob} =~ ^[1-9][0-9]*$ ]] || die "$knob must be a positive integer, not '${!knob}'"
done
for step in $LIVE_STEPS; do
  [[ $step =~ ^[1-9][0-9]*:[0-9]+:[1-9][0-9]*(:[0-9]+)?$ ]] ||
    die "LIVE_STEPS: '$step' is not WRK_CONNECTIONS:REDIS_CLIENTS:REDIS_PIPELINE[:WRK_DELAY_MS] (e.g. 16:16:1, 50:0:1:1)"
done
for mode in $LIVE_MODES; do
  [[ $mode =~ ^(count|conns|full)$ ]] || die "LIVE_MODES: unknown mode '$mode' (count, conns, full)"
done
mkdir -p "$LIVE_OUT"
exec 9>/run/lock/podwire-bench-live-pods.lock
flock -n 9 || die "another bench:live-pods run holds /run/lock/podwire-bench-live-pods.lock"
# The previous run's per-step files, so that none is taken for this run's.
rm -f "$LIVE_OUT"/agent-*.jsonl "$LIVE_OUT"/agent-*.log "$LIVE_OUT"/agent-*-errors.txt "$LIVE_OUT"/tcpdump-*.log \
  "$LIVE_OUT"/wrk-*.log "$LIVE_OUT"/redis-benchmark-*.log

# --- processes and clean-up ---------------------------------------------------------------------

pids=() # the background processes this script started and has not yet waited for; stopped on exit
network_up=0

# Runs "$@" in the background and remembers its pid (`ip netns exec` execs its command, so the pid
# is the command's own). Children do not get the lock's descriptor: orphans of a run killed outright
# must not hold it, or the next run could not clear them away.
spawn() {
  "$@" 9>&- &
  pids+=("$!")
}

# Forgets a pid once waited for, so that clean-up never signals a pid the system has reused.
forget() {
  local pid keep=()
  for pid in "${pids[@]}"; do [[ $pid == "$1" ]] || keep+=("$pid"); done
  pids=("${keep[@]}")
}

# Stops the given processes: SIGTERM, up to 10 s of grace, then SIGKILL; waits and forgets them.
stop_pids() {
  local pid i alive
  for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
  for ((i = 0; i < 100; i++)); do
    alive=0
    for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
    ((alive)) || break
    sleep 0.1
  done
  for pid in "$@"; do kill -KILL "$pid" 2>/dev/null || true; done
  for pid in "$@"; do
    wait "$pid" 2>/dev/null || true
    forget "$pid"
  done
}

teardown_network() {
  local ns pid
  for ns in "$NS_CLIENT" "$NS_WEB" "$NS_REDIS"; do
    # Processes still inside our namespaces can only be this script's (or those of a run of it that
    # was killed before its trap ran); they would keep the namespace alive, so end them by id.
    for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
  done
  # Deleting a namespace destroys the veth ends inside it and so their host ends; these are for
  # pairs left half-built.
  local link
  for link in "${VETHS[@]}" "$BRIDGE"; do ip link del "$link" 2>/dev/null || true; done
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

# --- the node: a bridge and three pods ----------------------------------------------------------

# One pod: a namespace whose eth0 is one end of a veth pair; the host end joins the bridge. No
# IPv6 anywhere: its neighbour and router discovery would add packets of its own to the counts.
add_pod() {
  local ns=$1 veth=$2 addr=$3
  ip netns add "$ns"
  ip link add "$veth" type veth peer name eth0 netns "$ns"
  sysctl -qw "net.ipv6.conf.$veth.disable_ipv6=1"
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$ns" addr add "$addr/24" dev eth0
  ip -n "$ns" link set lo up
  ip -n "$ns" link set eth0 up
  ip link set "$veth" master "$BRIDGE" up
}

setup_network() {
  network_up=1
  teardown_network
  ip link add "$BRIDGE" type bridge
  sysctl -qw "net.ipv6.conf.$BRIDGE.disable_ipv6=1"
  ip addr add "$GW_IP/24" dev "$BRIDGE"
  ip link set "$BRIDGE" up
  add_pod "$NS_CLIENT" "$VETH_CLIENT" "$CLIENT_IP"
  add_pod "$NS_WEB" "$VETH_WEB" "$WEB_IP"
  add_pod "$NS_REDIS" "$VETH_REDIS" "$REDIS_IP"
  # Permanent neighbour entries between the client and the servers: no ARP on the veths, so the
  # wire carries only the load's IPv4 packets, each on exactly two veths (an ARP broadcast would be
  # on all three, and not deduplicated).
  neighbours "$NS_CLIENT" "$NS_WEB" "$WEB_IP" "$CLIENT_IP"
  neighbours "$NS_CLIENT" "$NS_REDIS" "$REDIS_IP" "$CLIENT_IP"
}

# neighbours NS_A NS_B IP_B IP_A: each of the two pods knows the other's MAC address for good.
neighbours() {
  local mac_a mac_b
  mac_a=$(ip netns exec "$1" cat /sys/class/net/eth0/address)
  mac_b=$(ip netns exec "$2" cat /sys/class/net/eth0/address)
  ip -n "$1" neigh replace "$3" lladdr "$mac_b" dev eth0 nud permanent
  ip -n "$2" neigh replace "$4" lladdr "$mac_a" dev eth0 nud permanent
}

# Waits until HOST:PORT accepts a connection from the client pod; $3 is the server's pid.
wait_port() {
  local host=$1 port=$2 pid=$3 i
  for ((i = 0; i < 100; i++)); do
    ip netns exec "$NS_CLIENT" bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null && return 0
    kill -0 "$pid" 2>/dev/null || die "the server for $host:$port exited; see $LIVE_OUT/*.log"
    sleep 0.1
  done
  die "nothing answers on $host:$port from the client pod after 10s (a firewall on bridged traffic?)"
}

start_servers() {
  local dir=$LIVE_OUT/nginx
  rm -rf "$dir"
  mkdir -p "$dir/www" "$dir/tmp"
  # A small static page, about the size of nginx's default one: every response fits one segment.
  head -c 600 /dev/zero | tr '\0' 'x' >"$dir/www/index.html"
  # One worker (the machine's cores are shared by the load, the servers and the capturers),
  # keep-alive for as many requests as wrk sends, no access log; temporary paths in LIVE_OUT.
  cat >"$dir/nginx.conf" <<EOF
daemon off;
user root;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  default_type text/html;
  keepalive_timeout 65s;
  keepalive_requests 1000000000;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  server {
    listen $WEB_IP:$HTTP_PORT backlog=4096;
    root $dir/www;
  }
  server {
    listen 127.0.0.1:$STATUS_PORT;
    location = /status { stub_status; }
  }
}
EOF
  spawn ip netns exec "$NS_WEB" nginx -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" \
    >"$LIVE_OUT/nginx.log" 2>&1
  local nginx_pid=$!
  # Also on the pod's loopback, so that INFO reaches it without a packet on the veth.
  spawn ip netns exec "$NS_REDIS" redis-server --bind "$REDIS_IP" 127.0.0.1 --port "$REDIS_PORT" \
    --save '' --appendonly no --protected-mode no --dir "$LIVE_OUT" \
    --logfile "$LIVE_OUT/redis-server.log" >/dev/null 2>&1
  local redis_pid=$!
  wait_port "$WEB_IP" "$HTTP_PORT" "$nginx_pid"
  wait_port "$REDIS_IP" "$REDIS_PORT" "$redis_pid"
  # The probes' connections close with a delayed ACK or two: let them pass before the first step.
  sleep 1
}

# --- measuring --------------------------------------------------------------------------------------

now() { date +%s.%N; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM/ {print $2}' "/proc/$1/status"; }

# Packets through an interface so far, both directions (for a pod's host-side veth: rx from the pod,
# tx to it).
if_packets() {
  echo $(($(<"/sys/class/net/$1/statistics/rx_packets") + $(<"/sys/class/net/$1/statistics/tx_packets")))
}

# Prints "WIRE COPIES": packets through the client pod's veth, and through the three veths.
wire_counts() {
  local v copies=0
  for v in "${VETHS[@]}"; do copies=$((copies + $(if_packets "$v"))); done
  echo "$(if_packets "$VETH_CLIENT") $copies"
}

# Requests nginx has read so far (stub_status's third number; the status request itself is one).
nginx_requests() {
  ip netns exec "$NS_WEB" curl -sf "http://127.0.0.1:$STATUS_PORT/status" | awk 'NR == 3 {print $3}'
}

# Commands redis-server has run so far, but INFO (ours; asked over the pod's loopback).
redis_commands() {
  ip netns exec "$NS_REDIS" redis-cli -h 127.0.0.1 -p "$REDIS_PORT" INFO commandstats |
    awk -F'[:=,]' '/^cmdstat_/ && $1 != "cmdstat_info" {n += $3} END {print n + 0}'
}

# The agent's jsonl, counted: prints "HTTP REDIS OTHER ERRORS CONNECTIONS DECODED SEEN DUPLICATES
# KERNEL_DROPS SHED PER_INTERFACE" (entries by protocol, entries with an error, distinct
# connections, then its summary: packets decoded, handed over, duplicates, kernel drops, shed, and
# per interface NAME:HANDED_OVER/DROPPED,...), and the entries' errors, most frequent first, on
# stderr.
count_records() {
  node -e '
const fs = require("node:fs");
const rl = require("node:readline").createInterface({ input: fs.createReadStream(process.argv[1]) });
const n = { http: 0, redis: 0, other: 0, errors: 0 };
const conns = new Set();
const why = new Map();
let summary = null;
rl.on("line", (line) => {
  if (!line) return;
  const r = JSON.parse(line);
  if (r.type === "entry") {
    if (r.protocol === "http" || r.protocol === "redis") n[r.protocol]++;
    else n.other++;
    if (r.error) {
      n.errors++;
      why.set(r.error, (why.get(r.error) ?? 0) + 1);
    }
  } else if (r.type === "connection") conns.add(r.id);
  else if (r.type === "summary") summary = r;
});
rl.on("close", () => {
  if (!summary) {
    console.error("no summary line: the agent did not stop cleanly");
    process.exit(1);
  }
  const c = summary.capture;
  const each = summary.interfaces.map((i) => `${i.name}:${i.packets}/${i.kernelDrops}`).join(",");
  console.log(n.http, n.redis, n.other, n.errors, conns.size, summary.packets, c.packets, c.duplicates, c.kernelDrops, c.shed, each);
  for (const [e, k] of [...why].sort((a, b) => b[1] - a[1]).slice(0, 10)) console.error(`${k} entries: ${e}`);
});
' "$1"
}

# tcpdump prints its totals on exit: "N packets captured", "N packets received by filter" (what the
# kernel queued for it, dropped ones included), "N packets dropped by kernel". Prints "CAPTURED
# RECEIVED DROPPED".
tcpdump_totals() {
  awk '/packets? captured/ {c = $1} /received by filter/ {r = $1} /dropped by kernel/ {d = $1}
    END {print c + 0, r + 0, d + 0}' "$1"
}

# --- one step -------------------------------------------------------------------------------------

results="$LIVE_OUT/results.txt"

# run_step MODE INDEX STEP: the capturers, the load, the counts; one line (two in full mode).
run_step() {
  local mode=$1 index=$2 step=$3 wrk_conns redis_clients redis_pipeline wrk_delay flags=() name v i
  IFS=: read -r wrk_conns redis_clients redis_pipeline wrk_delay <<<"$step"
  wrk_delay=${wrk_delay:-0}
  case $mode in
  count) flags=(--count-only) ;;
  conns) flags=(--connections-only) ;;
  full) flags=() ;;
  esac
  name=$mode-$index
  log "$mode step $index: wrk $wrk_conns connections$( ((wrk_delay)) && echo " pausing ${wrk_delay}ms"), redis-benchmark $redis_clients clients pipelining $redis_pipeline"

  # The veths' counters are read before the capturers start and after they stop, so every packet a
  # capturer could see is counted: a capturer may miss packets (outside its window), never gain any.
  local wire0 copies0 wire1 copies1
  read -r wire0 copies0 < <(wire_counts)

  # Same snap length and kernel buffer (-B is in KiB) as the agent's defaults; -Z root: Debian's
  # tcpdump otherwise changes user.
  local td_pids=() td_logs=() ring_mb=${LIVE_BUFFER_MB:-$DEFAULT_BUFFER_MB}
  [[ -n $LIVE_BUFFER_MB ]] && flags+=(--buffer-size "$LIVE_BUFFER_MB")
  for v in "${VETHS[@]}"; do
    td_logs+=("$LIVE_OUT/tcpdump-$name-$v.log")
    spawn tcpdump -i "$v" -n -s 262144 -B $((ring_mb * 1024)) -Z root -w /dev/null 2>"$LIVE_OUT/tcpdump-$name-$v.log"
    td_pids+=("$!")
  done
  local jsonl=$LIVE_OUT/agent-$name.jsonl agent_log=$LIVE_OUT/agent-$name.log
  # stdout to a file, not /dev/null: the summary line (kernel drops, duplicates) is the last record.
  spawn node "$LIVE_PODWIRE" agent -i "$VETH_CLIENT" -i "$VETH_WEB" -i "$VETH_REDIS" "${flags[@]}" \
    --no-health --status-interval 0 --format jsonl >"$jsonl" 2>"$agent_log"
  local agent_pid=$!
  for ((i = 0; i < 300; i++)); do
    (($(grep -c ': capturing$' "$agent_log" || true) == ${#VETHS[@]})) &&
      (($(cat "${td_logs[@]}" | grep -c 'listening on' || true) == ${#VETHS[@]})) && break
    kill -0 "$agent_pid" 2>/dev/null || die "the agent exited: $(cat "$agent_log")"
    sleep 0.1
  done
  ((i < 300)) || die "the capturers did not start in 30s: $(cat "$agent_log" "${td_logs[@]}")"
  sleep 0.5

  local http0 http1 redis0 redis1 a_cpu0 a_cpu1 t_cpu0=0 t_cpu1=0 t0 t1 pid
  http0=$(nginx_requests)
  redis0=$(redis_commands)
  a_cpu0=$(cpu_ticks "$agent_pid")
  for pid in "${td_pids[@]}"; do t_cpu0=$((t_cpu0 + $(cpu_ticks "$pid"))); done
  t0=$(now)

  # The load: wrk for LIVE_SECONDS (with a pause before each request, wrk's delay() hook, if the
  # step has one); redis-benchmark looping over SET and GET (random keys, 64-byte values) until wrk
  # is done.
  local threads=$((wrk_conns < LIVE_WRK_THREADS ? wrk_conns : LIVE_WRK_THREADS)) script=()
  local wrk_log=$LIVE_OUT/wrk-$name.log rb_log=$LIVE_OUT/redis-benchmark-$name.log rb_pid=""
  if ((wrk_delay)); then
    printf 'function delay() return %d end\n' "$wrk_delay" >"$LIVE_OUT/wrk-delay.lua"
    script=(-s "$LIVE_OUT/wrk-delay.lua")
  fi
  spawn ip netns exec "$NS_CLIENT" wrk -t "$threads" -c "$wrk_conns" -d "${LIVE_SECONDS}s" --timeout 10s \
    "${script[@]}" "http://$WEB_IP:$HTTP_PORT/index.html" >"$wrk_log" 2>&1
  local wrk_pid=$!
  if ((redis_clients)); then
    spawn ip netns exec "$NS_CLIENT" redis-benchmark -h "$REDIS_IP" -p "$REDIS_PORT" -c "$redis_clients" \
      -P "$redis_pipeline" -n "$LIVE_REDIS_N" -r 100000 -d 64 -t set,get -l -q >"$rb_log" 2>&1
    rb_pid=$!
  fi
  wait "$wrk_pid" || die "wrk failed: $(cat "$wrk_log")"
  forget "$wrk_pid"
  if [[ -n $rb_pid ]]; then
    kill -0 "$rb_pid" 2>/dev/null || die "redis-benchmark exited early: $(tr '\r' '\n' <"$rb_log" | tail -n 5)"
    stop_pids "$rb_pid"
  fi
  t1=$(now)

  # The kernel hands packets to tcpdump in blocks, a partial one after 1 s; the agent's after 100 ms.
  sleep 1.5
  a_cpu1=$(cpu_ticks "$agent_pid")
  for pid in "${td_pids[@]}"; do t_cpu1=$((t_cpu1 + $(cpu_ticks "$pid"))); done
  http1=$(nginx_requests)
  redis1=$(redis_commands)
  local a_rss a_hwm t_rss=0
  a_rss=$(rss_kb "$agent_pid")
  a_hwm=$(hwm_kb "$agent_pid")
  for pid in "${td_pids[@]}"; do t_rss=$((t_rss + $(rss_kb "$pid"))); done

  # tcpdump prints its totals at SIGINT; the agent flushes and prints its summary at SIGTERM.
  for pid in "${td_pids[@]}"; do kill -INT "$pid"; done
  for pid in "${td_pids[@]}"; do
    wait "$pid" || true
    forget "$pid"
  done
  kill -TERM "$agent_pid"
  wait "$agent_pid" || die "the agent failed at SIGTERM: $(tail -n 5 "$agent_log")"
  forget "$agent_pid"
  read -r wire1 copies1 < <(wire_counts)

  local t_seen=0 t_recv=0 t_drops=0 c r d f
  for f in "${td_logs[@]}"; do
    read -r c r d < <(tcpdump_totals "$f")
    t_seen=$((t_seen + c))
    t_recv=$((t_recv + r))
    t_drops=$((t_drops + d))
  done
  local e_http e_redis e_other e_errors e_conns decoded a_seen a_dups a_drops a_shed a_each
  read -r e_http e_redis e_other e_errors e_conns decoded a_seen a_dups a_drops a_shed a_each \
    < <(count_records "$jsonl" 2>"$LIVE_OUT/agent-$name-errors.txt") ||
    die "could not read the agent's output $jsonl: $(cat "$LIVE_OUT/agent-$name-errors.txt")"
  ((LIVE_KEEP)) || rm -f "$jsonl"
  local wrk_reqs
  wrk_reqs=$(sed -n 's/^ *\([0-9][0-9]*\) requests in .*/\1/p' "$wrk_log")

  local wire=$((wire1 - wire0)) copies=$((copies1 - copies0))
  awk -v mode="$mode" -v step="$step" -v t0="$t0" -v t1="$t1" -v tck="$CLK_TCK" -v wire="$wire" \
    -v copies="$copies" -v as="$a_seen" -v adup="$a_dups" -v ad="$a_drops" -v ash="$a_shed" \
    -v ac=$((a_cpu1 - a_cpu0)) -v ar="$a_rss" -v ah="$a_hwm" \
    -v ts="$t_seen" -v td="$t_drops" -v tc=$((t_cpu1 - t_cpu0)) -v tr="$t_rss" \
    'BEGIN { secs = t1 - t0
      printf "%-5s %-10s %5.1f %9d %8.0f %9d | %9d %8d %7d %7d %5.0f %6.0f %6.0f | %9d %7d %5.0f %6.0f\n",
        mode, step, secs, wire, wire / secs, copies, as, adup, ad, ash, 100 * ac / tck / secs, ar / 1024, ah / 1024,
        ts, td, 100 * tc / tck / secs, tr / 1024 }' | tee -a "$results"

  # What each capturer got against what there was to capture: started before the load and stopped
  # after it, each sees exactly the veths' packets, handed over (shed ones included) or dropped.
  if ((a_seen + a_drops != copies)); then
    printf '      MISMATCH: the agent was handed %d packets and the kernel dropped %d, the veths carried %d copies (%+d)\n' \
      "$a_seen" "$a_drops" "$copies" $((a_seen + a_drops - copies)) | tee -a "$results"
  fi
  # Which rings overflowed: the client's veth carries every packet, each server's only its own.
  if ((a_drops)); then
    printf '      agent per interface (handed over/dropped): %s\n' "${a_each//,/, }" | tee -a "$results"
  fi
  if ((t_recv != copies)); then
    printf '      MISMATCH: the kernel queued %d packets for tcpdump, the veths carried %d copies (%+d)\n' \
      "$t_recv" "$copies" $((t_recv - copies)) | tee -a "$results"
  fi
  # tcpdump does not read the kernel's last, unfinished block at SIGINT (libpcap hands blocks over
  # when full or after 1 s): packets that came in its last second are received, neither captured
  # nor dropped. The load ends 1.5 s before, so it takes a straggler; an exit artefact, not a loss.
  if ((t_recv - t_drops != t_seen)); then
    printf '      note: tcpdump left %d packets of its last kernel block unread at SIGINT\n' \
      $((t_recv - t_drops - t_seen)) | tee -a "$results"
  fi
  [[ $mode != count ]] || return 0

  # Dedupe (conns and full modes). Every wire packet is on two veths and dedupe passes on the first
  # copy it meets, so the agent decodes each packet once: decoded = wire without loss, fewer with
  # (both copies lost), never more.
  if [[ $mode == conns ]]; then
    printf '      decoded %d packets of %d on the wire (%d duplicates dropped)\n' "$decoded" "$wire" "$a_dups" |
      tee -a "$results"
  else
    # nginx's counter includes the one status request of ours; redis_commands leaves ours out.
    local http=$((http1 - http0 - 1)) redis=$((redis1 - redis0))
    printf '      entries: http %d of %d requests at nginx (wrk counted %s), redis %d of %d commands at redis-server; %d other, %d with an error; %d connections; decoded %d packets of %d on the wire (%d duplicates dropped)\n' \
      "$e_http" "$http" "${wrk_reqs:-?}" "$e_redis" "$redis" "$e_other" "$e_errors" "$e_conns" "$decoded" \
      "$wire" "$a_dups" | tee -a "$results"
    if ((e_http != http)); then
      printf '      MISMATCH: %d HTTP entries for %d requests (%+d)\n' "$e_http" "$http" $((e_http - http)) |
        tee -a "$results"
    fi
    if ((e_redis != redis)); then
      printf '      MISMATCH: %d Redis entries for %d commands (%+d)\n' "$e_redis" "$redis" $((e_redis - redis)) |
        tee -a "$results"
    fi
  fi
  if ((decoded > wire)); then
    printf '      MISMATCH: decoded %d packets, %d on the wire: %d copies decoded as well (dedupe missed them)\n' \
      "$decoded" "$wire" $((decoded - wire)) | tee -a "$results"
  elif ((a_drops == 0 && a_shed == 0 && decoded != wire)); then
    printf '      MISMATCH: decoded %d packets, %d on the wire, nothing lost: dedupe dropped %d originals\n' \
      "$decoded" "$wire" $((wire - decoded)) | tee -a "$results"
  fi
  if [[ -s $LIVE_OUT/agent-$name-errors.txt ]]; then
    sed 's/^/      errors: /' "$LIVE_OUT/agent-$name-errors.txt" | head -n 5 | tee -a "$results"
  fi
}

# --- the run ----------------------------------------------------------------------------------------

log "building the node: $BRIDGE $GW_IP; pods $NS_CLIENT $CLIENT_IP, $NS_WEB $WEB_IP (nginx :$HTTP_PORT), $NS_REDIS $REDIS_IP (redis :$REDIS_PORT)"
setup_network
start_servers

{
  printf '# bench:live-pods %s, %s, %s, %s, %s s per step, %s cores, load %s\n' "$(date -u +%FT%TZ)" \
    "$(node --version)" "$(tcpdump --version 2>&1 | sed -n 's/^\(libpcap version [^ ]*\).*/\1/p')" \
    "$(wrk --version 2>&1 | head -n 1 | awk '{print "wrk", $2}')" "$LIVE_SECONDS" "$(nproc)" \
    "$(cut -d' ' -f1-3 /proc/loadavg)"
  printf '# step = wrk connections:redis-benchmark clients:pipeline[:wrk pause ms]; wire = packets through the client veth; copies = through the 3 veths\n'
  printf '%-5s %-10s %5s %9s %8s %9s | %9s %8s %7s %7s %5s %6s %6s | %9s %7s %5s %6s\n' mode step secs wire 'wire/s' \
    copies podwire dups drops shed 'CPU%' 'RSS MB' 'peak' tcpdump drops 'CPU%' 'RSS MB'
} | tee "$results"

for mode in $LIVE_MODES; do
  index=0
  for step in $LIVE_STEPS; do
    index=$((index + 1))
    run_step "$mode" "$index" "$step"
  done
done
log "results in $results"
