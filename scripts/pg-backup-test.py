#!/usr/bin/env python3
"""Backup and restore for the PostgreSQL backend (make pg-backup-test): pg_basebackup + WAL archive.

A PostgreSQL 15 with archive_mode on (archive_command copies each WAL segment to an archive
directory), lv-engagement on it with events written continuously through the Python client;
pg_basebackup is taken in the middle of the writing, which goes on afterwards. Then the server
is stopped and thrown away (the lost host), the base backup is restored into a new directory
with restore_command reading the archive, and the restored server must hold every event
acknowledged before the last WAL switch — including those written after the base backup, which
only the archive carries. Prints acked / found / lost; exits 1 on any loss.
"""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "clients", "python"))
PG_BIN = "/usr/lib/postgresql/15/bin"


def owner(argv):
    return (["runuser", "-u", "postgres", "--"] + argv) if os.geteuid() == 0 else argv


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(data, port, root):
    subprocess.run(owner([f"{PG_BIN}/pg_ctl", "-D", data, "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1",
                          "-l", data + ".log", "-w", "-t", "120", "start"]), check=True, stdout=subprocess.DEVNULL)


def psql(port, sql, db="postgres"):
    return subprocess.run(["psql", "-X", "-A", "-t", "-q", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-d", db,
                           "-c", sql], capture_output=True, text=True, check=True).stdout.strip()


def main():
    if not os.path.exists(f"{PG_BIN}/initdb"):
        print("SKIP: PostgreSQL 15 is not installed")
        return 0
    bin_dir = os.environ.get("LV_BIN_DIR") or subprocess.run(["swift", "build", "--show-bin-path"], capture_output=True,
                                                              text=True).stdout.strip()
    import lvrpc
    from lv.engagement.v1 import engagement_pb2 as eng
    root = tempfile.mkdtemp(prefix="lv-pgbackup-")
    os.chmod(root, 0o755)
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    data, archive, base, restored = (os.path.join(root, n) for n in ("data", "archive", "base", "restored"))
    for d in (archive,):
        os.makedirs(d)
        if os.geteuid() == 0:
            shutil.chown(d, "postgres", "postgres")
    service = None
    try:
        subprocess.run(owner([f"{PG_BIN}/initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8",
                              "--locale=C.UTF-8"]), check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(data, "postgresql.conf"), "a") as f:
            f.write(f"archive_mode = on\narchive_command = 'test ! -f {archive}/%f && cp %p {archive}/%f'\nwal_level = replica\n")
        port = free_port()
        start(data, port, root)
        psql(port, "CREATE DATABASE lv")
        service = subprocess.Popen([os.path.join(bin_dir, "lv-engagement"), "--listen", "127.0.0.1:0", "--metrics-listen", "off",
                                    "--data-dir", os.path.join(root, "var"), "--log-level", "warning",
                                    "--database", f"postgres://postgres@127.0.0.1:{port}/lv"],
                                   stdout=subprocess.PIPE, text=True)
        address = service.stdout.readline().split("rpc=")[1].split()[0]
        acked, stop = [], threading.Event()

        def write():
            c = lvrpc.connect(address)
            n = 0
            while not stop.is_set():
                now = int(time.time() * 1000)
                ids = [f"b{n + k}" for k in range(20)]
                lvrpc.EngagementClient(c).record_events(events=[
                    eng.Event(event_id=i, activity_id="backup", npi="1234567893", session_id="s1", verb=eng.VERB_ATTENDED,
                              timestamp_ms=now, result=eng.Result(duration_ms=60000)) for i in ids], timeout=10)
                acked.extend(ids)
                n += 20

        writer = threading.Thread(target=write)
        writer.start()
        time.sleep(2)
        before_base = len(acked)
        subprocess.run(owner([f"{PG_BIN}/pg_basebackup", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-D", base,
                              "-X", "stream", "-c", "fast"]), check=True)
        at_base = len(acked)
        time.sleep(2)
        stop.set()
        writer.join()
        psql(port, "SELECT pg_switch_wal()")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and psql(port, "SELECT last_failed_wal IS NULL AND archived_count > 0 AND "
                                                         "last_archived_wal >= pg_walfile_name(pg_current_wal_lsn() - 1) "
                                                         "FROM pg_stat_archiver") != "t":
            time.sleep(0.2)
        service.send_signal(signal.SIGTERM)
        service.wait(timeout=20)
        service = None
        subprocess.run(owner([f"{PG_BIN}/pg_ctl", "-D", data, "-m", "immediate", "stop"]), stdout=subprocess.DEVNULL)
        shutil.rmtree(data)  # the host is gone

        shutil.copytree(base, restored)
        with open(os.path.join(restored, "postgresql.conf"), "a") as f:
            f.write(f"archive_mode = off\nrestore_command = 'cp {archive}/%f %p'\n")
        open(os.path.join(restored, "recovery.signal"), "w").close()
        if os.geteuid() == 0:
            subprocess.run(["chown", "-R", "postgres:postgres", restored], check=True)
        os.chmod(restored, 0o700)
        port2 = free_port()
        start(restored, port2, root)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and psql(port2, "SELECT pg_is_in_recovery()") != "f":
            time.sleep(0.2)
        found = set(psql(port2, "SELECT event_id FROM event", db="lv").split())
        lost = [e for e in acked if e not in found]
        print(f"pg backup/restore: acked {len(acked)} ({before_base} before pg_basebackup began, {at_base} when it ended, "
              f"{len(acked) - at_base} after it, in the WAL archive only); found {sum(1 for e in acked if e in found)}; "
              f"lost {len(lost)}")
        subprocess.run(owner([f"{PG_BIN}/pg_ctl", "-D", restored, "-m", "immediate", "stop"]), stdout=subprocess.DEVNULL)
        return 0 if not lost and len(acked) > at_base > 0 else 1
    finally:
        if service is not None:
            service.kill()
        for d in (data, restored):
            if os.path.exists(os.path.join(d, "postmaster.pid")):
                subprocess.run(owner([f"{PG_BIN}/pg_ctl", "-D", d, "-m", "immediate", "stop"]), capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
