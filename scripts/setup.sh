#!/usr/bin/env bash
# Sets up podwire on a fresh Debian machine: the system tools its tests and benchmark use, the npm
# dependencies, and the build. Safe to run again; installs only what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

# command -> Debian package that provides it
declare -A want=(
  [tshark]=tshark      # the reference dissector the tests compare with (capinfos/editcap come along)
  [tcpdump]=tcpdump    # captures for the benchmark and end-to-end tests
  [wrk]=wrk            # HTTP load for the benchmark
  [ip]=iproute2        # network namespaces and veth pairs (test pods)
  [/usr/bin/time]=time # peak RSS in the benchmark
  [redis-server]=redis-server        # the benchmark's Redis pod
  [redis-benchmark]=redis-tools      # and its load
  [redis-cli]=redis-tools            # Redis dissector tests drive the real server
  [nginx]=nginx-light                # TLS 1.2/1.3 and HTTP/2 server for the dissector tests
  [nghttp]=nghttp2-client            # HTTP/2 client (prior knowledge and TLS)
  [nghttpd]=nghttp2-server           # HTTP/2 server without TLS
  [nghttpx]=nghttp2-proxy            # h2c upgrade in front of nghttpd
  [dnsmasq]=dnsmasq-base             # DNS server for the DNS tests
  [dig]=bind9-dnsutils               # and its client
  [openssl]=openssl                  # certificates and s_server/s_client for the TLS tests
  [curl]=curl                        # HTTP/1.1 and HTTP/2 client
  [script]=bsdutils                  # runs the CLI under a pseudo-terminal (progress bar test)
  [mosquitto_pub]=mosquitto-clients  # MQTT clients against the machine's Mosquitto
  [psql]=postgresql-client           # PostgreSQL clients against the machine's server
  [pgbench]=postgresql-client
  [mariadb]=mariadb-client-core           # MariaDB client against the machine's server
  [mmdblookup]=mmdb-bin             # the C reference reader of .mmdb, checks the test writer
  [tcpreplay]=tcpreplay              # replays captures onto a veth for the live-capture tests
  [prometheus]=prometheus            # scrapes the hub's /metrics in the metrics tests
  [g++]=g++ [make]=make [python3]=python3  # node-gyp builds the libpcap binding (npm `pcap`)
)
# file -> Debian package, for what is not a command
declare -A want_files=(
  [/usr/include/pcap/pcap.h]=libpcap-dev   # headers the libpcap binding compiles against
)
missing=()
for cmd in "${!want[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${want[$cmd]}")
done
for file in "${!want_files[@]}"; do
  [ -e "$file" ] || missing+=("${want_files[$file]}")
done
if [ "${#missing[@]}" -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then
    echo "setup: installing ${missing[*]} from Debian" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: missing ${missing[*]} (install them with apt-get as root); tests that need them will be skipped" >&2
  fi
fi

if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
npm run --silent build
