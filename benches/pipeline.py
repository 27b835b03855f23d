#!/usr/bin/env python3
"""Whole-pipeline throughput of the proxy, measured side by side in one run.

Postfix's smtp-source (the client) and smtp-sink (the upstream) run pinned to
CPU 1; the system under test runs pinned to CPU 0 with one shard. Targets:

  direct   smtp-source straight to smtp-sink: the ceiling of this setup
  ringwall the proxy (release build, default limits, XFORWARD on, transaction
           log at info level written to /dev/null)
  nopool   the same proxy with `pool_idle = 0`: what the upstream pool buys
  floor    examples/floor_relay: a glommio byte relay with no SMTP logic
  postfix  Postfix as a before-queue proxy (smtpd_proxy_filter to the same
           sink), a private instance under a temp dir, no DNS, its whole
           process tree pinned to CPU 0 and counted (live children plus the
           reaped ones through the master's cutime/cstime)

For every shape (message size x messages per session, 32 sessions) each target
is measured REPEAT times, interleaved, and the median is reported: messages per
second through it, its ratio to the ceiling, and messages per CPU-second of the
system under test (utime+stime from /proc/PID/stat over the run), the figure that
holds up on a noisy shared machine.

Usage: benches/pipeline.py [--messages N] [--repeat R] [--markdown FILE]
Loopback only; everything it starts is stopped when it ends.
"""

import argparse
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SESSIONS = 32
SHAPES = [(1024, 1), (1024, 10), (20 * 1024, 1), (20 * 1024, 10)]
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_seconds(pid):
    """utime+stime of a process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def tree_cpu_seconds(master):
    """CPU of a process tree: the master, its reaped children and its live ones."""
    with open(f"/proc/{master}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    total = sum(int(x) for x in fields[11:15]) / CLOCK_TICKS
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == master:
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                child = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(child[1]) == master:
            total += (int(child[11]) + int(child[12])) / CLOCK_TICKS
    return total


def start_postfix(work, port, sink_port):
    """A private Postfix before-queue proxy in `work`; returns (stop, master pid)."""
    base = os.path.join(work, "postfix")
    etc, queue, data = (os.path.join(base, d) for d in ("etc", "queue", "data"))
    for d in (etc, queue, data):
        os.makedirs(d)
    shutil.chown(data, "postfix")
    with open("/etc/postfix/master.cf") as f:
        master_cf = []
        for line in f:
            fields = line.split()
            if line[:1].isalpha() and len(fields) >= 8:
                if fields[0] == "smtp" and fields[1] == "inet":
                    fields[0] = f"127.0.0.1:{port}"
                fields[4] = "n"  # no chroot: the instance lives in a temp dir
                line = "  ".join(fields) + "\n"
            master_cf.append(line)
    with open(os.path.join(etc, "master.cf"), "w") as f:
        f.writelines(master_cf)
    with open(os.path.join(etc, "main.cf"), "w") as f:
        f.write(f"""compatibility_level = 3.6
queue_directory = {queue}
data_directory = {data}
maillog_file_prefixes = {base}
maillog_file = {base}/maillog
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = postfix.bench.test
mydestination =
mynetworks = 127.0.0.0/8
relay_domains = example.net
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
disable_dns_lookups = yes
smtp_dns_support_level = disabled
smtpd_peername_lookup = no
smtpd_proxy_filter = 127.0.0.1:{sink_port}
default_process_limit = 200
smtpd_client_connection_count_limit = 0
smtpd_client_connection_rate_limit = 0
""")
    postfix = lambda action: subprocess.run(["taskset", "-c", "0", "postfix", "-c", etc, action],
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if postfix("start").returncode != 0:
        raise RuntimeError(f"Postfix did not start; see {base}/maillog")
    with open(os.path.join(queue, "pid", "master.pid")) as f:
        master = int(f.read().split()[0])
    return (lambda: postfix("stop")), master


def wait_for_port(port, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port}")


def run_source(port, size, per_session, messages):
    """Sends `messages` messages; returns the wall time taken."""
    batch = SESSIONS * per_session
    start = time.perf_counter()
    sent = 0
    while sent < messages:
        cmd = ["taskset", "-c", "1", "smtp-source", "-s", str(SESSIONS), "-l", str(size),
               "-m", str(batch), "-f", "bench@sender.example", "-t", "user@example.net",
               "-M", "client.example"]
        if per_session > 1:
            cmd.append("-d")
        cmd.append(f"127.0.0.1:{port}")
        result = subprocess.run(cmd, capture_output=True, text=True)
        if result.returncode != 0 or result.stderr.strip():
            raise RuntimeError(f"smtp-source failed: {result.stderr.strip() or result.returncode}")
        sent += batch
    return sent, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=9600, help="messages per measurement (1 KiB shapes; 20 KiB ones send a third)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--markdown", help="write the result table to this file")
    args = parser.parse_args()
    for tool in ("smtp-source", "smtp-sink", "taskset", "postfix"):
        if not shutil.which(tool):
            sys.exit(f"{tool} is missing: run scripts/install-test-peers.sh")
    subprocess.run(["cargo", "build", "--release", "--quiet", "--bin", "ringwall", "--example", "floor_relay"],
                   cwd=ROOT, check=True)
    work = tempfile.mkdtemp(prefix="ringwall-pipeline-")
    os.chmod(work, 0o755)  # Postfix's own user must reach its data directory inside
    procs = []
    stop_postfix = None
    try:
        sink_port, proxy_port, floor_port = free_port(), free_port(), free_port()
        procs.append(subprocess.Popen(["taskset", "-c", "1", "smtp-sink", "-u", "nobody",
                                       f"127.0.0.1:{sink_port}", "1024"], stdout=subprocess.DEVNULL))
        wait_for_port(sink_port)
        nopool_port = free_port()

        def start_proxy(port, pool_idle):
            config = os.path.join(work, f"ringwall-{port}.toml")
            with open(config, "w") as f:
                f.write(f"""[server]
listen = ["127.0.0.1:{port}"]
hostname = "bench.ringwall.test"
shards = 1
max_connections_per_ip = 1000
[upstream]
address = "127.0.0.1:{sink_port}"
pool_idle = {pool_idle}
[domains]
accept = ["example.net"]
""")
            proc = subprocess.Popen(["taskset", "-c", "0", os.path.join(ROOT, "target/release/ringwall"), "run",
                                     "--config", config], stderr=subprocess.DEVNULL)
            procs.append(proc)
            return proc

        ringwall = start_proxy(proxy_port, 32)
        nopool = start_proxy(nopool_port, 0)
        floor = subprocess.Popen(["taskset", "-c", "0", os.path.join(ROOT, "target/release/examples/floor_relay"),
                                  f"127.0.0.1:{floor_port}", f"127.0.0.1:{sink_port}"], stdout=subprocess.DEVNULL)
        procs.append(floor)
        postfix_port = free_port()
        stop_postfix, postfix_master = start_postfix(work, postfix_port, sink_port)
        for port in (proxy_port, nopool_port, floor_port, postfix_port):
            wait_for_port(port)
        targets = [("direct", sink_port, None, cpu_seconds), ("ringwall", proxy_port, ringwall.pid, cpu_seconds),
                   ("nopool", nopool_port, nopool.pid, cpu_seconds), ("floor", floor_port, floor.pid, cpu_seconds),
                   ("postfix", postfix_port, postfix_master, tree_cpu_seconds)]
        rows = []
        for size, per_session in SHAPES:
            messages = args.messages if size <= 1024 else args.messages // 3
            results = {name: [] for name, _, _, _ in targets}
            for _, port, _, _ in targets:  # warm-up: pools, caches, page faults
                run_source(port, size, per_session, SESSIONS * per_session)
            for _ in range(args.repeat):
                for name, port, pid, cpu_of in targets:
                    cpu0 = cpu_of(pid) if pid else None
                    sent, wall = run_source(port, size, per_session, messages)
                    cpu = cpu_of(pid) - cpu0 if pid else None
                    results[name].append((sent / wall, sent / cpu if cpu else None))
            median = lambda xs: statistics.median(xs) if xs else None
            row = {"size": size, "per_session": per_session}
            for name in results:
                row[name] = median([r[0] for r in results[name]])
                row[name + "_per_cpu"] = median([r[1] for r in results[name] if r[1]])
            rows.append(row)
            print(f"{size // 1024:>3} KiB x{per_session:<2}: direct {row['direct']:8.0f}/s  ringwall {row['ringwall']:8.0f}/s "
                  f"(ratio {row['ringwall'] / row['direct']:.3f}, {row['ringwall_per_cpu']:7.0f} msgs/CPU-s)  "
                  f"nopool {row['nopool']:8.0f}/s ({row['nopool_per_cpu']:7.0f} msgs/CPU-s)  "
                  f"floor {row['floor']:8.0f}/s ({row['floor_per_cpu']:7.0f} msgs/CPU-s)  "
                  f"postfix {row['postfix']:8.0f}/s ({row['postfix_per_cpu']:7.0f} msgs/CPU-s)", flush=True)
        table = ["| shape | direct msgs/s | ringwall msgs/s | ratio to direct | ringwall msgs/CPU-s | no-pool msgs/CPU-s "
                 "| floor msgs/CPU-s | ringwall/floor | Postfix BQP msgs/s | Postfix msgs/CPU-s | ringwall/Postfix per CPU-s |",
                 "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for r in rows:
            table.append(f"| {r['size'] // 1024} KiB, {r['per_session']}/session | {r['direct']:.0f} | {r['ringwall']:.0f} | "
                         f"{r['ringwall'] / r['direct']:.3f} | {r['ringwall_per_cpu']:.0f} | {r['nopool_per_cpu']:.0f} | "
                         f"{r['floor_per_cpu']:.0f} | {r['ringwall_per_cpu'] / r['floor_per_cpu']:.2f} | {r['postfix']:.0f} | "
                         f"{r['postfix_per_cpu']:.0f} | {r['ringwall_per_cpu'] / r['postfix_per_cpu']:.2f} |")
        print("\n".join(table))
        if args.markdown:
            with open(args.markdown, "w") as f:
                f.write("\n".join(table) + "\n")
    finally:
        if stop_postfix:
            stop_postfix()
        for p in procs:
            p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
