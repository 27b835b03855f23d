#!/usr/bin/env python3
"""Opens N idle SMTP clients for benches/idle_memory.sh.

Each client connects, reads the 220 banner, then sends nothing: the connection
state an SMTP server holds between a greeting and the first command (or while a
slow or hostile client keeps it open). Prints "ready N" once all N are idle, then
holds them until killed. Exits non-zero if they are not all greeted in time.

Usage: idle_clients.py HOST PORT N [TIMEOUT_SECONDS]
"""

import resource
import selectors
import signal
import socket
import sys
import time

# Connections handshaking at once: well under the proxy's accept backlog, so no
# SYN is dropped and retried a second later.
IN_FLIGHT = 256


def main():
    host, port, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    timeout = float(sys.argv[4]) if len(sys.argv) > 4 else 120.0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < count + 16:
        sys.exit(f"RLIMIT_NOFILE hard limit {hard} is below {count} connections")
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    selector = selectors.DefaultSelector()
    idle = []  # greeted sockets, kept open
    opened = 0
    deadline = time.monotonic() + timeout
    while len(idle) < count:
        while opened < count and opened - len(idle) < IN_FLIGHT:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setblocking(False)
            sock.connect_ex((host, port))
            selector.register(sock, selectors.EVENT_READ, bytearray())
            opened += 1
        if time.monotonic() > deadline:
            sys.exit(f"only {len(idle)} of {count} clients greeted in {timeout}s")
        for key, _ in selector.select(timeout=1.0):
            sock, banner = key.fileobj, key.data
            chunk = sock.recv(512)
            if not chunk:
                sys.exit(f"connection closed before its banner after {len(idle)} clients")
            banner += chunk
            if banner.endswith(b"\r\n"):
                if not banner.startswith(b"220"):
                    sys.exit(f"unexpected banner {bytes(banner)!r}")
                selector.unregister(sock)
                idle.append(sock)
    print(f"ready {len(idle)}", flush=True)
    signal.pause()


if __name__ == "__main__":
    main()
