#!/usr/bin/env bash
# podwire's live-capture benchmark; `npm run bench:live` builds first, then runs this (as root).
#
# A capture of service traffic (bench/replay-capture.ts: HTTP/1.1 and Redis on keep-alive
# connections, Ethernet/IPv4/TCP) is replayed with tcpreplay onto one end of a veth pair at
# increasing rates. On the other end, in the same run, `podwire agent` and `tcpdump -w /dev/null`
# capture the same packets, each with a 32 MiB kernel buffer. Per rate it prints what tcpreplay
# achieved and, for each capturer, the packets it saw, the kernel's drops, its CPU (seconds of CPU
# per second of replay, in %) and its RSS; for the agent also the packets it shed (skipped unread
# because its pipeline was behind: seen, but not decoded).
#
# Two agent modes, one after the other:
#   count  --count-only: packets counted per interface, nothing decoded (the binding's cost alone)
#   full   the whole pipeline: decode, TCP tracking and reassembly, HTTP/Redis dissection, records
#          serialised to /dev/null
#
# Environment:
#   LIVE_RATES    packets/s to replay at (default "50000 100000 200000 400000"); "top" for --topspeed
#   LIVE_SECONDS  seconds of traffic per rate (default 5)
#   LIVE_PACKETS  packets in the replayed capture, looped as needed (default 200000)
#   LIVE_MODES    agent modes (default "count full")
#   LIVE_OUT      capture, logs and results.txt (default bench/out/live)
#
# Needs root, iproute2, tcpreplay, tcpdump, curl and a built podwire. The veth pair is removed on
# exit, error or Ctrl-C.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LIVE_RATES="${LIVE_RATES:-50000 100000 200000 400000}"
LIVE_SECONDS="${LIVE_SECONDS:-5}"
LIVE_PACKETS="${LIVE_PACKETS:-200000}"
LIVE_MODES="${LIVE_MODES:-count full}"
LIVE_OUT="${LIVE_OUT:-$ROOT/bench/out/live}"
[[ $LIVE_OUT == /* ]] || LIVE_OUT="$PWD/$LIVE_OUT"
cd "$ROOT"

TX=pwlvtx # tcpreplay sends here
RX=pwlvrx # the captures listen here
CLK_TCK=$(getconf CLK_TCK)

log() { printf 'bench:live: %s\n' "$*" >&2; }
die() {
  printf 'bench:live: error: %s\n' "$*" >&2
  exit 1
}

((EUID == 0)) || die "needs root (a veth pair, packet capture)"
for cmd in ip tcpreplay tcpdump curl node; do
  command -v "$cmd" >/dev/null 2>&1 || die "'$cmd' is not installed (see scripts/setup.sh)"
done
[[ -f dist/src/cli/main.js && -f dist/bench/replay-capture.js ]] || die "podwire is not built; run 'npm run build'"
[[ $LIVE_SECONDS =~ ^[1-9][0-9]*$ && $LIVE_PACKETS =~ ^[1-9][0-9]*$ ]] || die "LIVE_SECONDS and LIVE_PACKETS are positive integers"
mkdir -p "$LIVE_OUT"
exec 9>/run/lock/podwire-bench-live.lock
flock -n 9 || die "another bench:live run holds /run/lock/podwire-bench-live.lock"

pids=()
cleanup() {
  local rc=$? pid
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  ip link del "$TX" 2>/dev/null || true
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- the capture and the wire ---------------------------------------------------------------------
PCAP="$LIVE_OUT/replay-$LIVE_PACKETS.pcap"
if [[ ! -s $PCAP ]]; then
  log "building $PCAP ($LIVE_PACKETS packets)"
  node dist/bench/replay-capture.js "$PCAP" "$LIVE_PACKETS" >"$LIVE_OUT/replay-capture.json"
fi
ip link del "$TX" 2>/dev/null || true
ip link add "$TX" type veth peer name "$RX"
# No IPv6 on the pair: its neighbour discovery would add packets of its own to the counts.
sysctl -qw "net.ipv6.conf.$TX.disable_ipv6=1" "net.ipv6.conf.$RX.disable_ipv6=1"
ip link set "$TX" up
ip link set "$RX" up

# --- measuring a process ----------------------------------------------------------------------------
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_mb() { awk '/^VmRSS/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }
hwm_mb() { awk '/^VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

# tcpdump prints "N packets captured, N packets received by filter, N packets dropped by kernel" on
# SIGUSR1; prints "CAPTURED DROPPED".
tcpdump_counts() {
  local before i line
  before=$(grep -c 'packets captured' "$TCPDUMP_LOG" || true)
  kill -USR1 "$TCPDUMP_PID"
  for ((i = 0; i < 200; i++)); do
    (($(grep -c 'packets captured' "$TCPDUMP_LOG" || true) > before)) && break
    sleep 0.01
  done
  line=$(grep 'packets captured' "$TCPDUMP_LOG" | tail -n 1)
  sed -E 's/^.*: ([0-9]+) packets? captured, ([0-9]+) packets? received by filter, ([0-9]+) packets? dropped by kernel.*/\1 \3/' <<<"$line"
}

# The agent's counters from its health endpoint: "PACKETS KERNEL_DROPS SHED" (packets libpcap handed
# over, packets the kernel dropped, packets the agent skipped unread because it was behind).
agent_counts() {
  curl -sf "http://127.0.0.1:$AGENT_PORT/status" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const c=JSON.parse(s).capture;console.log(c.packets,c.kernelDrops,c.shed)})'
}

results="$LIVE_OUT/results.txt"
{
  printf '# bench:live %s, %s, capture %s packets, %s s per rate, %s cores\n' "$(date -u +%FT%TZ)" \
    "$(tcpreplay --version 2>&1 | head -n 1)" "$LIVE_PACKETS" "$LIVE_SECONDS" "$(nproc)"
  printf '%-5s %9s %10s %10s | %10s %7s %7s %5s %6s | %10s %7s %5s %6s\n' mode rate sent 'sent/s' \
    'podwire' drops shed 'CPU%' 'RSS MB' tcpdump drops 'CPU%' 'RSS MB'
} | tee "$results"

for mode in $LIVE_MODES; do
  case $mode in
  count) flags=(--count-only) ;;
  full) flags=() ;;
  *) die "LIVE_MODES: unknown mode '$mode' (count, full)" ;;
  esac
  TCPDUMP_LOG="$LIVE_OUT/tcpdump-$mode.log"
  AGENT_LOG="$LIVE_OUT/agent-$mode.log"
  # Same snap length and kernel buffer (-B is in KiB; the agent's --buffer-size 32) as the agent; -Z root: Debian's tcpdump
  # otherwise changes user.
  tcpdump -i "$RX" -n -s 262144 -B 32768 -Z root -w /dev/null 2>"$TCPDUMP_LOG" &
  TCPDUMP_PID=$!
  pids+=("$TCPDUMP_PID")
  node bin/podwire agent -i "$RX" "${flags[@]}" --buffer-size 32 --health-port 0 --status-interval 0 >/dev/null 2>"$AGENT_LOG" &
  AGENT_PID=$!
  pids+=("$AGENT_PID")
  AGENT_PORT=""
  for ((i = 0; i < 100; i++)); do
    AGENT_PORT=$(sed -n 's|.*health endpoint on http://127.0.0.1:\([0-9]*\).*|\1|p' "$AGENT_LOG")
    [[ -n $AGENT_PORT ]] && curl -sf "http://127.0.0.1:$AGENT_PORT/readyz" >/dev/null 2>&1 && grep -q 'listening on' "$TCPDUMP_LOG" && break
    kill -0 "$AGENT_PID" 2>/dev/null || die "the agent exited: $(cat "$AGENT_LOG")"
    sleep 0.1
  done
  [[ -n $AGENT_PORT ]] || die "the agent did not start: $(cat "$AGENT_LOG")"
  sleep 0.5

  for rate in $LIVE_RATES; do
    if [[ $rate == top ]]; then
      speed=(--topspeed)
      loops=$(((LIVE_SECONDS * 400000 + LIVE_PACKETS - 1) / LIVE_PACKETS))
    else
      [[ $rate =~ ^[1-9][0-9]*$ ]] || die "LIVE_RATES: '$rate' is not a rate"
      speed=(--pps="$rate")
      loops=$(((LIVE_SECONDS * rate + LIVE_PACKETS - 1) / LIVE_PACKETS))
    fi
    read -r a_pk0 a_dr0 a_sh0 < <(agent_counts)
    read -r t_pk0 t_dr0 < <(tcpdump_counts)
    a_cpu0=$(cpu_ticks "$AGENT_PID")
    t_cpu0=$(cpu_ticks "$TCPDUMP_PID")
    # --unique-ip: each loop's addresses differ, so looped connections are new connections.
    tcpreplay -q --preload-pcap --unique-ip --loop="$loops" "${speed[@]}" -i "$TX" "$PCAP" \
      >"$LIVE_OUT/tcpreplay-$mode-$rate.log" 2>&1 || die "tcpreplay failed: $(cat "$LIVE_OUT/tcpreplay-$mode-$rate.log")"
    # tcpdump's kernel blocks are handed over after up to 1 s; the agent's after 100 ms.
    sleep 1.5
    a_cpu1=$(cpu_ticks "$AGENT_PID")
    t_cpu1=$(cpu_ticks "$TCPDUMP_PID")
    read -r a_pk1 a_dr1 a_sh1 < <(agent_counts)
    read -r t_pk1 t_dr1 < <(tcpdump_counts)
    sent=$(sed -n 's/^Actual: \([0-9]*\) packets.* sent in \([0-9.]*\) seconds.*/\1/p' "$LIVE_OUT/tcpreplay-$mode-$rate.log")
    secs=$(sed -n 's/^Actual: \([0-9]*\) packets.* sent in \([0-9.]*\) seconds.*/\2/p' "$LIVE_OUT/tcpreplay-$mode-$rate.log")
    awk -v mode="$mode" -v rate="$rate" -v sent="$sent" -v secs="$secs" -v tck="$CLK_TCK" \
      -v ap=$((a_pk1 - a_pk0)) -v ad=$((a_dr1 - a_dr0)) -v as=$((a_sh1 - a_sh0)) -v ac=$((a_cpu1 - a_cpu0)) \
      -v ar="$(rss_mb "$AGENT_PID")" \
      -v tp=$((t_pk1 - t_pk0)) -v td=$((t_dr1 - t_dr0)) -v tc=$((t_cpu1 - t_cpu0)) -v tr="$(rss_mb "$TCPDUMP_PID")" \
      'BEGIN { printf "%-5s %9s %10d %10.0f | %10d %7d %7d %5.0f %6d | %10d %7d %5.0f %6d\n",
        mode, rate, sent, sent / secs, ap, ad, as, 100 * ac / tck / secs, ar, tp, td, 100 * tc / tck / secs, tr }' |
      tee -a "$results"
  done
  printf '%-5s peak RSS: podwire %s MB, tcpdump %s MB\n' "$mode" "$(hwm_mb "$AGENT_PID")" "$(hwm_mb "$TCPDUMP_PID")" |
    tee -a "$results"
  kill -INT "$TCPDUMP_PID"
  kill -TERM "$AGENT_PID"
  wait "$TCPDUMP_PID" 2>/dev/null || true
  wait "$AGENT_PID" 2>/dev/null || true
  pids=()
done
log "results in $results"
