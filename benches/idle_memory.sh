#!/usr/bin/env bash
# Memory an idle client connection costs the proxy (design §4: "a few KiB, not
# a 64 KiB buffer per direction"; the target is at most 16 KiB).
#
# Starts the loadgen sink as the upstream and one proxy shard on loopback, opens
# N connections that read the banner and then stay silent, and compares the
# proxy's resident set size before and after. Everything it starts is stopped on
# exit, error or not. Usage: benches/idle_memory.sh [N]   (default 10000)
set -euo pipefail

count="${1:-10000}"
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${CARGO_TARGET_DIR:-$root/target}/release"
work="$(mktemp -d)"
pids=()

cleanup() {
    # Newest first: the clients, then the proxy, then the sink.
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do
        kill "${pids[i]}" 2>/dev/null || true
    done
    for pid in "${pids[@]}"; do
        for _ in $(seq 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

# Waits up to $3 seconds for a line matching $2 in file $1, written by process
# $4; prints the line. Fails, showing the file, if the process ends first.
wait_for_line() {
    for _ in $(seq $(($3 * 10))); do
        if grep -m1 "$2" "$1" 2>/dev/null; then
            return 0
        fi
        kill -0 "$4" 2>/dev/null || break
        sleep 0.1
    done
    echo "no '$2' from process $4 in $1:" >&2
    cat "$1" >&2
    return 1
}

rss_kib() {
    awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The proxy holds one descriptor per client; so does the client process.
ulimit -n "$(ulimit -Hn)"
if (($(ulimit -n) < count + 64)); then
    echo "open-file limit $(ulimit -n) is too low for $count connections" >&2
    exit 1
fi

cargo build --release --quiet -p ringwall --bin ringwall -p ringwall-loadgen --bin ringwall-loadgen

"$bin/ringwall-loadgen" sink --listen 127.0.0.1:0 >"$work/sink.log" 2>&1 &
pids+=($!)
sink_addr="$(wait_for_line "$work/sink.log" '^listening on ' 30 "${pids[-1]}" | awk '{ print $3 }')"

port="$(free_port)"
# Connection bounds well above N: the shard must neither refuse clients nor
# enter stress mode (which shortens idle timeouts to 10 s) while we measure.
cat >"$work/ringwall.toml" <<EOF
[server]
listen = ["127.0.0.1:$port"]
shards = 1
max_connections_per_ip = $((count * 2))
max_connections_per_shard = $((count * 2))

[upstream]
address = "$sink_addr"

[log]
level = "warn"
EOF
"$bin/ringwall" run --config "$work/ringwall.toml" >"$work/ringwall.log" 2>&1 &
proxy=$!
pids+=("$proxy")
probe() { (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; }
for _ in $(seq 300); do
    probe && break
    kill -0 "$proxy" 2>/dev/null || break
    sleep 0.1
done
probe || { echo "the proxy is not listening on port $port:" >&2; cat "$work/ringwall.log" >&2; exit 1; }
sleep 1 # let the probe connection end

before="$(rss_kib "$proxy")"
python3 "$root/benches/idle_clients.py" 127.0.0.1 "$port" "$count" >"$work/clients.log" 2>&1 &
pids+=($!)
wait_for_line "$work/clients.log" '^ready ' 150 "${pids[-1]}" >/dev/null
sleep 1 # let the proxy settle after the last greeting
after="$(rss_kib "$proxy")"

awk -v n="$count" -v b="$before" -v a="$after" 'BEGIN {
    printf "idle connections: %d, RSS before: %d KiB, after: %d KiB, per connection: %.1f KiB\n",
        n, b, a, (a - b) / n
}'
