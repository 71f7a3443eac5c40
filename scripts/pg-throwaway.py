#!/usr/bin/env python3
"""A throwaway PostgreSQL 15 on a free loopback port in a temporary directory, for tests.

    scripts/pg-throwaway.py start            prints the directory; DIR/url holds the admin URL
    scripts/pg-throwaway.py stop DIR         stops the server and removes DIR
    scripts/pg-throwaway.py run -- CMD ...   start, run CMD with LV_TEST_DATABASE=<url>, stop, remove;
                                             exits with CMD's status

PostgreSQL refuses to run as root: as root the cluster is owned by, and the server runs as, the
`postgres` system user (runuser). The server trades durability for speed (fsync=off,
synchronous_commit=off): the store tests check semantics, not power-loss safety; LV_PG_DURABLE=1
(scripts/bench-backends.sh) keeps the defaults, and the failover test (scripts/failover.py) runs
its own cluster with the real settings.
"""
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

PG_BIN = os.environ.get("LV_PG_BIN", "/usr/lib/postgresql/15/bin")


def as_owner(argv):
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"] + argv
    return argv


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(quiet=False):
    if not os.path.exists(os.path.join(PG_BIN, "initdb")):
        raise SystemExit(f"PostgreSQL 15 is not installed ({PG_BIN}/initdb missing): apt-get install -y postgresql-15")
    root = tempfile.mkdtemp(prefix="lv-pg-")
    os.chmod(root, 0o755)
    data = os.path.join(root, "data")
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    subprocess.run(as_owner([f"{PG_BIN}/initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                             "--locale=C.UTF-8", "--no-sync"]), check=True, stdout=subprocess.DEVNULL)
    port = free_port()
    options = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c max_connections=300 -c shared_buffers=64MB"
    if not os.environ.get("LV_PG_DURABLE"):  # benchmarks set it: fsync and synchronous commit as in production
        options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    subprocess.run(as_owner([f"{PG_BIN}/pg_ctl", "-D", data, "-o", options, "-l", os.path.join(root, "log"),
                             "-w", "-t", "60", "start"]), check=True, stdout=subprocess.DEVNULL)
    url = f"postgres://postgres@127.0.0.1:{port}/postgres"
    with open(os.path.join(root, "url"), "w") as f:
        f.write(url)
    if not quiet:
        print(root)
    return root, url


def stop(root):
    data = os.path.join(root, "data")
    if os.path.exists(data):
        subprocess.run(as_owner([f"{PG_BIN}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"]),
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    shutil.rmtree(root, ignore_errors=True)


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "start":
        start()
    elif len(sys.argv) == 3 and sys.argv[1] == "stop":
        stop(sys.argv[2])
    elif len(sys.argv) >= 3 and sys.argv[1] == "run" and sys.argv[2] == "--":
        began = time.monotonic()
        root, url = start(quiet=True)
        print(f"pg-throwaway: PostgreSQL 15 at {url} ({root}), up in {time.monotonic() - began:.1f} s", flush=True)
        try:
            env = dict(os.environ, LV_TEST_DATABASE=url)
            status = subprocess.run(sys.argv[3:], env=env).returncode
        finally:
            stop(root)
        sys.exit(status)
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
