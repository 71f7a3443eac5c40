#!/usr/bin/env python3
"""Failover test (make failover): no acknowledged write is lost when the PostgreSQL primary dies or
is cut off from the network.

Runs in a private network namespace of its own (unshare(CLONE_NEWNET): its own loopback, so the
firewall rules below touch nothing else on the machine): three etcd members and three PostgreSQL
15 nodes under Patroni (synchronous_mode: true, strict) on loopback ports in a temporary directory.
The real executables (LV_BIN_DIR) run on a multi-host URL with target_session_attrs=read-write:

- lv-engagement, with writer threads sending RecordEvents batches continuously through the Python
  client (clients/python), each batch resent with the same events until acknowledged;
- lv-registration (its own database), with learner threads each taking learner after learner
  through the participation path: RegisterPhysician (request id), Enroll (request id), CheckIn
  (attendance: one check-in a learner, at a time of its own) and ClaimCredit (request id, 1 AMA
  PRA Category 1 credit), each call resent unchanged until answered.

Then FAILOVERS times: wait until the cluster has a leader, a streaming sync standby and a second
replica, and take the leader down —
- SIGKILL of its postmaster (Patroni with primary_start_timeout 0 fails over at once), or
- every CUT_EVERY-th time, a network cut: iptables rules (INPUT, so packets are sent and then
  silently dropped, as on a partitioned network; nothing is refused) drop every packet to or from
  the leader's PostgreSQL port, its Patroni REST port and the port of its etcd member, which is
  the only etcd member its Patroni talks to (use_proxies); Patroni reaches its own PostgreSQL over
  the Unix socket, as it would on a cut-off host. The leader can no longer renew its key, its sync
  standby stops confirming COMMITs, the key expires after ttl and the standby is promoted. The
  rules are removed after the promotion and the node rejoins (pg_rewind).
- optionally, every STOP_EVERY-th time, SIGSTOP of the whole node (a hung host), resumed after.
The write outage is measured (last acknowledgement before the fault to first after).

At the end every acknowledged write is looked up on the final primary and reported per kind —
events, registrations, enrollments, attendance (check-ins), credit claims: acked / found / lost /
duplicated — overall and for the writes acknowledged by the primary that each kind of fault took
down (SIGKILL vs network cut). A retry of a write that did commit must be answered from the
request log (or, for a check-in, find the same open interval), never ALREADY_EXISTS.

Prints one line per failover and a summary; exits 1 if any acknowledged write is lost or
duplicated, 0 otherwise. Skips (exit 0, "SKIP: reason") where it cannot run: not root, or
patroni/etcd/PostgreSQL 15 missing. Where the private namespace or the firewall rules cannot be
had, the network cuts are skipped with a "SKIP: network cut: reason" line and the failovers are
all SIGKILLs.

    LV_BIN_DIR=$(swift build --show-bin-path) scripts/failover.py [--failovers 10] [--cut-every 5] [--stop-every 0]
"""
import argparse
import ctypes
import datetime
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

PG_BIN = "/usr/lib/postgresql/15/bin"
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "clients", "python"))


def skip(reason):
    print(f"SKIP: failover test: {reason}")
    sys.exit(0)


def free_ports(n):
    socks, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
        ports.append(s.getsockname()[1])
    for s in socks:
        s.close()
    return ports


def http_json(url, timeout=1.0):
    with urllib.request.urlopen(url, timeout=timeout) as r:
        return json.loads(r.read().decode())


CLONE_NEWNET = 0x40000000


def private_network():
    """Moves this process (still single-threaded) into a new network namespace with its loopback
    up; every thread and child started afterwards is in it. Returns None, or why it could not."""
    if shutil.which("ip") is None:  # before unshare: without it the new namespace's loopback stays down
        return "ip is not installed (apt-get install -y iproute2)"
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0:
        return f"unshare(CLONE_NEWNET): {os.strerror(ctypes.get_errno())}"
    r = subprocess.run(["ip", "link", "set", "lo", "up"], capture_output=True, text=True)
    if r.returncode != 0:
        return f"ip link set lo up: {r.stderr.strip()}"
    return None


class Firewall:
    """The network cut: a chain LVCUT hooked into INPUT, holding DROP rules for a node's ports."""

    def __init__(self):
        self.ready = False

    def install(self):
        """None, or why the rules cannot be installed (then the test skips the cuts)."""
        if shutil.which("iptables") is None:
            return "iptables is not installed (apt-get install -y iptables)"
        for argv in (["iptables", "-N", "LVCUT"], ["iptables", "-I", "INPUT", "-j", "LVCUT"],
                     ["iptables", "-A", "LVCUT", "-p", "tcp", "--dport", "1", "-j", "DROP"], ["iptables", "-F", "LVCUT"]):
            r = subprocess.run(argv, capture_output=True, text=True)
            if r.returncode != 0:
                return f"{' '.join(argv)}: {r.stderr.strip()}"
        self.ready = True
        return None

    def cut(self, ports):
        for port in ports:
            for direction in ("--dport", "--sport"):
                subprocess.run(["iptables", "-A", "LVCUT", "-p", "tcp", direction, str(port), "-j", "DROP"], check=True)

    def restore(self):
        if self.ready:
            subprocess.run(["iptables", "-F", "LVCUT"], check=True)


class Cluster:
    def __init__(self, root):
        self.root = root
        p = free_ports(12)
        self.etcd_client, self.etcd_peer = p[0:3], p[3:6]
        self.pg_ports, self.rest_ports = p[6:9], p[9:12]
        self.etcd = []
        self.patroni = {}

    def start_etcd(self):
        cluster = ",".join(f"e{i}=http://127.0.0.1:{self.etcd_peer[i]}" for i in range(3))
        for i in range(3):
            d = os.path.join(self.root, f"etcd{i}")
            log = open(os.path.join(self.root, f"etcd{i}.log"), "w")
            self.etcd.append(subprocess.Popen([
                "etcd", "--name", f"e{i}", "--data-dir", d,
                "--listen-client-urls", f"http://127.0.0.1:{self.etcd_client[i]}",
                "--advertise-client-urls", f"http://127.0.0.1:{self.etcd_client[i]}",
                "--listen-peer-urls", f"http://127.0.0.1:{self.etcd_peer[i]}",
                "--initial-advertise-peer-urls", f"http://127.0.0.1:{self.etcd_peer[i]}",
                "--initial-cluster", cluster, "--initial-cluster-state", "new",
                "--heartbeat-interval", "100", "--election-timeout", "1000", "--enable-v2=true"],
                stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, ETCD_UNSUPPORTED_ARCH="")))
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if all(http_json(f"http://127.0.0.1:{c}/health").get("health") == "true" for c in self.etcd_client):
                    return
            except Exception:
                pass
            time.sleep(0.3)
        raise RuntimeError("etcd did not become healthy (see etcd*.log)")

    def config(self, i):
        data = os.path.join(self.root, f"pg{i}")
        return f"""scope: lvfailover
name: pg{i}
log:
  level: INFO
  dir: {self.root}/patroni{i}
restapi:
  listen: 127.0.0.1:{self.rest_ports[i]}
  connect_address: 127.0.0.1:{self.rest_ports[i]}
# The etcd v2 API: this Patroni (3.0.2, Debian 12) renews its leader key through etcd3 with an
# unconditional put, so a primary resumed after SIGSTOP overwrote the promoted node's key and took
# the cluster back (seen here: the promoted node's acknowledged writes were rewound away).
# Through the v2 API the renewal is a compare-and-swap on the holder's name.
# Each node's Patroni talks to its own etcd member only (use_proxies: no discovery of the others),
# as on a host running both: the network cut then cuts the node off from the DCS by that port.
etcd:
  hosts: 127.0.0.1:{self.etcd_client[i]}
  use_proxies: true
bootstrap:
  dcs:
    ttl: 8
    loop_wait: 1
    retry_timeout: 2
    primary_start_timeout: 0
    maximum_lag_on_failover: 1048576
    synchronous_mode: true
    # No COMMIT is acknowledged without a synchronous standby, even when none is left: a primary
    # that ran alone and then lost its lock would take acknowledged writes with it (seen in a run
    # without it, together with the etcd3 takeover described below; docs/OPERATIONS.md).
    synchronous_mode_strict: true
    postgresql:
      use_pg_rewind: true
      use_slots: true
      parameters:
        wal_log_hints: "on"
        max_connections: 60
        shared_buffers: 32MB
        max_wal_senders: 10
        max_replication_slots: 10
        wal_keep_size: 256MB
  initdb:
    - encoding: UTF8
    - locale: C.UTF-8
  pg_hba:
    - local all all trust
    - host replication replicator 127.0.0.1/32 trust
    - host all all 127.0.0.1/32 trust
postgresql:
  listen: 127.0.0.1:{self.pg_ports[i]}
  connect_address: 127.0.0.1:{self.pg_ports[i]}
  data_dir: {data}
  bin_dir: {PG_BIN}
  # Patroni reaches its own PostgreSQL over the Unix socket: a network cut leaves it that path.
  use_unix_socket: true
  pgpass: {self.root}/pgpass{i}
  authentication:
    replication:
      username: replicator
      password: replicator
    superuser:
      username: postgres
      password: postgres
    rewind:
      username: postgres
      password: postgres
  parameters:
    unix_socket_directories: {self.root}
"""

    def start_patroni(self, i):
        os.makedirs(os.path.join(self.root, f"patroni{i}"), exist_ok=True)
        shutil.chown(os.path.join(self.root, f"patroni{i}"), "postgres", "postgres")
        path = os.path.join(self.root, f"patroni{i}.yml")
        with open(path, "w") as f:
            f.write(self.config(i))
        log = open(os.path.join(self.root, f"patroni{i}.out"), "w")
        self.patroni[i] = subprocess.Popen(["runuser", "-u", "postgres", "--", "patroni", path],
                                           stdout=log, stderr=subprocess.STDOUT)

    def members(self):
        for port in self.rest_ports:
            try:
                return http_json(f"http://127.0.0.1:{port}/cluster", timeout=0.5).get("members", [])
            except Exception:
                continue
        return []

    def healthy(self, all_members=True):
        """(leader name, sync standby name) when there is a running leader and a streaming sync
        standby, and (all_members) the third node is a running replica too: each failover starts
        from a whole cluster, so the promoted node has a standby of its own."""
        m = self.members()
        leader = [x["name"] for x in m if x.get("role") == "leader" and x.get("state") == "running"]
        sync = [x["name"] for x in m if x.get("role") == "sync_standby" and x.get("state") in ("running", "streaming")]
        replicas = [x["name"] for x in m if x.get("role") in ("replica", "sync_standby") and x.get("state") in ("running", "streaming")]
        if not leader or (all_members and (not sync or len(replicas) < 2)):
            return None
        return (leader[0], sync[0] if sync else None)

    def wait_healthy(self, timeout, all_members=True):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            h = self.healthy(all_members)
            if h:
                return h
            time.sleep(0.25)
        raise RuntimeError(f"no whole cluster (leader, sync standby, replica) within {timeout} s: {self.members()}")

    def node_pids(self, i):
        """The Patroni process of node i and every PostgreSQL process of its data directory."""
        pids = []
        with open(os.path.join(self.root, f"pg{i}", "postmaster.pid")) as f:
            postmaster = int(f.readline())
        pids.append(postmaster)
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(postmaster)], capture_output=True, text=True).stdout
        pids += [int(x) for x in out.split()]
        # runuser → patroni (python)
        out = subprocess.run(["ps", "-o", "pid=", "--ppid", str(self.patroni[i].pid)], capture_output=True, text=True).stdout
        pids += [int(x) for x in out.split()]
        return postmaster, pids

    def psql(self, i, sql, db="postgres"):
        return subprocess.run(["psql", "-X", "-A", "-t", "-q", "-h", "127.0.0.1", "-p", str(self.pg_ports[i]), "-U", "postgres",
                               "-d", db, "-c", sql], capture_output=True, text=True, check=True).stdout.strip()

    def stop(self):
        for p in self.patroni.values():
            # runuser does not pass SIGTERM on to Patroni: signal Patroni itself (it stops postgres).
            children = subprocess.run(["ps", "-o", "pid=", "--ppid", str(p.pid)], capture_output=True, text=True).stdout.split()
            for pid in [int(x) for x in children] + [p.pid]:
                try:
                    os.kill(pid, signal.SIGCONT)
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        for p in self.patroni.values():
            try:
                p.wait(timeout=20)
            except Exception:
                p.kill()
        for i in range(3):
            data = os.path.join(self.root, f"pg{i}")
            if os.path.exists(os.path.join(data, "postmaster.pid")):
                subprocess.run(["runuser", "-u", "postgres", "--", f"{PG_BIN}/pg_ctl", "-D", data, "-m", "immediate", "stop"],
                               capture_output=True)
        for p in self.etcd:
            p.terminate()
        for p in self.etcd:
            try:
                p.wait(timeout=10)
            except Exception:
                p.kill()


class Writers:
    """Threads recording events; a batch is resent, unchanged, until it is acknowledged."""

    def __init__(self, address, threads, batch):
        import lvrpc
        from lv.engagement.v1 import engagement_pb2 as eng
        self.lvrpc, self.eng = lvrpc, eng
        self.address, self.batch = address, batch
        self.acked = {}  # event id -> when it was acknowledged (monotonic)
        self.ack_times = []
        self.attempts_failed = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = [threading.Thread(target=self.run, args=(t,), daemon=True) for t in range(threads)]

    def start(self):
        for t in self.threads:
            t.start()

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=60)

    def run(self, number):
        lvrpc, eng = self.lvrpc, self.eng
        seq = 0
        client = None
        while not self.stopping.is_set():
            now = int(time.time() * 1000)
            ids = [f"w{number}-{seq + k}" for k in range(self.batch)]
            seq += self.batch
            events = [eng.Event(event_id=i, activity_id="failover", npi="1234567893", session_id="s1",
                                verb=eng.VERB_ATTENDED, timestamp_ms=now,
                                result=eng.Result(duration_ms=60000)) for i in ids]
            while True:  # until acknowledged (even while stopping: an unacknowledged batch is not counted)
                try:
                    if client is None:
                        client = lvrpc.connect(self.address)
                    lvrpc.EngagementClient(client).record_events(events=events, timeout=5, retries=0)
                    now_acked = time.monotonic()
                    with self.lock:
                        for i in ids:
                            self.acked[i] = now_acked
                        self.ack_times.append(now_acked)
                    break
                except Exception:
                    with self.lock:
                        self.attempts_failed += 1
                    time.sleep(0.05)
                    if self.stopping.is_set() and time.monotonic() > self.stop_deadline():
                        return
        if client is not None:
            try:
                client.close()
            except Exception:
                pass

    def stop_deadline(self):
        return getattr(self, "_stop_deadline", float("inf"))

    def longest_gap(self, t, promoted):
        """The longest time without an acknowledgement from the last one before `t` (the fault) to
        the first one after `promoted` (the new leader seen): the write outage."""
        with self.lock:
            times = sorted(self.ack_times)
        before = [x for x in times if x <= t]
        after = [x for x in times if x > promoted]
        if not before or not after:
            return float("nan")
        window = [x for x in times if before[-1] <= x <= after[0]]
        return max(b - a for a, b in zip(window, window[1:]))

    def acks_after(self, t):
        with self.lock:
            return sum(1 for x in self.ack_times if x > t)


def npi(n):
    """A valid NPI: Luhn check digit over 80840 + nine digits."""
    nine = f"{300000000 + n:09d}"
    total = 0
    for i, d in enumerate(reversed([int(c) for c in "80840" + nine])):
        if i % 2 == 0:
            d = d * 2 - 9 if d * 2 > 9 else d * 2
        total += d
    return nine + str((10 - total % 10) % 10)


class Learners:
    """Learner threads, each taking learner after learner through registration, enrollment,
    attendance and credit on lv-registration; every call is resent unchanged (same request id,
    same check-in time) until it is answered. What was acknowledged, and when, is kept per kind:
    registrations, enrollments and credit claims by NPI, check-ins by (NPI, check-in time)."""

    KINDS = ("registrations", "enrollments", "attendance", "credits")

    def __init__(self, address, threads):
        import lvrpc
        from lv.registration.v1 import registration_pb2 as reg
        self.lvrpc, self.reg, self.address = lvrpc, reg, address
        self.acked = {k: {} for k in self.KINDS}  # kind -> key -> ack time
        self.anomalies = []  # answers that show a retry was not exactly once (ALREADY_EXISTS, another interval)
        self.failed = 0
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.deadline = float("inf")
        self.count = threads
        self.threads = [threading.Thread(target=self.run, args=(t,), daemon=True) for t in range(threads)]
        # The activity: yesterday (UTC), one 8-hour session; a check-in's open interval counts to
        # the session's end, so 1 credit is always allowed by the time attended.
        day = datetime.datetime.now(datetime.timezone.utc).date() - datetime.timedelta(days=1)
        self.day = day.isoformat()
        self.session_start = int(datetime.datetime(day.year, day.month, day.day, 8, tzinfo=datetime.timezone.utc).timestamp() * 1000)
        self.activity_id, self.session_id = "failover-act", "failover-ses"

    def until_answered(self, call):
        """call(client) on the setup connection until it returns (its answer) or raises an
        RPCError that no retry can change (returned). None when stopping and past the deadline."""
        return self.call(self, call)

    def setup(self):
        reg = self.reg
        self.client = None
        activity = reg.Activity(activity_id=self.activity_id, title="Failover", type=1, start_date=self.day, end_date=self.day,
                                max_credits=8.0, target_moore_level=3,
                                objectives=[reg.LearningObjective(id="obj-1", text="Stay available")])
        for answer in (self.until_answered(lambda c: c.create_activity(request_id="act-1", activity=activity, timeout=5, retries=0)),
                       self.until_answered(lambda c: c.add_session(request_id="ses-1", session=reg.Session(
                           session_id=self.session_id, activity_id=self.activity_id, title="Morning",
                           start_ms=self.session_start, end_ms=self.session_start + 8 * 3_600_000, objective_ids=["obj-1"]),
                           timeout=5, retries=0))):
            if isinstance(answer, Exception) or answer is None:
                raise RuntimeError(f"lv-registration: setting up the activity failed: {answer}")
        self.client.close()

    def start(self):
        for t in self.threads:
            t.start()

    def stop(self, grace):
        self.deadline = time.monotonic() + grace
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=grace + 30)

    def ack(self, kind, key):
        with self.lock:
            self.acked[kind][key] = time.monotonic()

    def run(self, number):
        reg = self.reg
        local = threading.local()
        n = number
        while not self.stopping.is_set():
            p = npi(n)
            at = self.session_start + (n % 3600) * 1000
            steps = [
                ("registrations", p, lambda c: c.register_physician(request_id=f"reg-{n}", physician=reg.Physician(
                    npi=p, given_name="Failover", family_name="Test", specialty="Internal Medicine"), timeout=5, retries=0)),
                ("enrollments", p, lambda c: c.enroll(request_id=f"enr-{n}", activity_id=self.activity_id, npi=p, cohort=1,
                                                      timeout=5, retries=0)),
                ("attendance", f"{p}|{at}", lambda c: c.check_in(npi=p, session_id=self.session_id, at_ms=at, timeout=5, retries=0)),
                ("credits", p, lambda c: c.claim_credit(request_id=f"cred-{n}", activity_id=self.activity_id, npi=p, credits=1.0,
                                                        timeout=5, retries=0)),
            ]
            for kind, key, call in steps:
                answer = self.call(local, call)
                if answer is None:
                    return
                if isinstance(answer, Exception):
                    with self.lock:
                        self.anomalies.append(f"{kind} {key}: {answer}")
                    break
                if kind == "attendance" and answer.interval.check_in_ms != at:
                    with self.lock:
                        self.anomalies.append(f"attendance {key}: answered with the interval from {answer.interval.check_in_ms}")
                    break
                self.ack(kind, key)
            n += self.count

    def call(self, local, call):
        """until_answered with `local.client` as the connection (a thread's own, or the setup one)."""
        while True:
            try:
                if getattr(local, "client", None) is None:
                    local.client = self.lvrpc.connect(self.address)
                return call(self.lvrpc.RegistrationClient(local.client))
            except Exception as e:
                if getattr(e, "name", "") in ("ALREADY_EXISTS", "FAILED_PRECONDITION", "INVALID_ARGUMENT", "NOT_FOUND"):
                    return e
                with self.lock:
                    self.failed += 1
                time.sleep(0.05)
                if self.stopping.is_set() and time.monotonic() > self.deadline:
                    return None


def count_rows(cluster, li, db, sql):
    """key -> rows, from `sql` returning (key, count) on node li."""
    counts = {}
    for r in cluster.psql(li, sql, db=db).splitlines():
        key, c = r.rsplit("|", 1)
        counts[key] = int(c)
    return counts


def tally(acked, counts, keys=None):
    """(acked, found, lost, duplicated) for acknowledged keys `keys` (default all) against the rows."""
    keys = acked.keys() if keys is None else keys
    found = sum(1 for k in keys if counts.get(k, 0) >= 1)
    duplicated = sum(1 for k in keys if counts.get(k, 0) > 1)
    return len(keys), found, len(keys) - found, duplicated


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--failovers", type=int, default=int(os.environ.get("LV_FAILOVERS", "10")))
    ap.add_argument("--cut-every", type=int, default=int(os.environ.get("LV_CUT_EVERY", "5")),
                    help="every Nth failover cuts the leader's network instead of SIGKILLing postgres (0: never)")
    ap.add_argument("--stop-every", type=int, default=0, help="every Nth failover SIGSTOPs the node (0: never)")
    ap.add_argument("--writers", type=int, default=4)
    ap.add_argument("--batch", type=int, default=20)
    ap.add_argument("--learners", type=int, default=2, help="threads taking learners through registration to credit")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    args = ap.parse_args()

    if os.geteuid() != 0:
        skip("needs root (PostgreSQL runs as the postgres user through runuser)")
    for tool in ("patroni", "etcd", "psql", "runuser"):
        if shutil.which(tool) is None:
            skip(f"{tool} is not installed (apt-get install -y patroni etcd-server postgresql-15; scripts/install-deps.sh --failover)")
    if not os.path.exists(f"{PG_BIN}/postgres"):
        skip(f"PostgreSQL 15 is not installed ({PG_BIN})")
    bin_dir = os.environ.get("LV_BIN_DIR") or subprocess.run(["swift", "build", "--show-bin-path"], capture_output=True, text=True).stdout.strip()
    engagement = os.path.join(bin_dir, "lv-engagement")
    if not os.path.exists(engagement):
        skip(f"{engagement} is not built")

    firewall = Firewall()
    if args.cut_every:
        why = private_network() or firewall.install()
        if why:
            print(f"SKIP: network cut: {why}; every failover is a SIGKILL", flush=True)
            args.cut_every = 0

    root = tempfile.mkdtemp(prefix="lv-failover-")
    os.chmod(root, 0o755)
    shutil.chown(root, "postgres", "postgres")
    cluster = Cluster(root)
    service = None
    services = []
    writers = None
    learners = None
    began = time.monotonic()
    try:
        cluster.start_etcd()
        for i in range(3):
            cluster.start_patroni(i)
        leader, sync = cluster.wait_healthy(120)
        li = int(leader[2:])
        cluster.psql(li, "CREATE DATABASE lv")
        cluster.psql(li, "CREATE DATABASE lv_reg")
        # libpq stops at a host that refuses the connection itself ("database does not exist"), so
        # the databases must have reached the standbys before the services connect.
        deadline = time.monotonic() + 60
        while any(cluster.psql(i, "SELECT count(*) FROM pg_database WHERE datname IN ('lv', 'lv_reg')") != "2" for i in range(3)):
            if time.monotonic() > deadline:
                raise RuntimeError("the databases did not reach every standby within 60 s")
            time.sleep(0.2)
        hosts = ",".join(f"127.0.0.1:{p}" for p in cluster.pg_ports)
        url = f"postgres://postgres@{hosts}/lv?target_session_attrs=read-write&connect_timeout=2&lv_query_timeout_ms=3000"
        service = subprocess.Popen([engagement, "--listen", "127.0.0.1:0", "--metrics-listen", "off",
                                    "--data-dir", os.path.join(root, "var"), "--database", url, "--log-level", "warning"],
                                   stdout=subprocess.PIPE, stderr=open(os.path.join(root, "lv-engagement.log"), "w"), text=True)
        line = service.stdout.readline()
        if "ready" not in line:
            raise RuntimeError(f"lv-engagement did not start: {line!r} (see {root}/lv-engagement.log)")
        address = line.split("rpc=")[1].split()[0]
        registration_bin = os.path.join(bin_dir, "lv-registration")
        registration_service = subprocess.Popen(
            [registration_bin, "--listen", "127.0.0.1:0", "--metrics-listen", "off", "--data-dir", os.path.join(root, "var-reg"),
             "--database", url.replace("/lv?", "/lv_reg?"), "--log-level", "warning"],
            stdout=subprocess.PIPE, stderr=open(os.path.join(root, "lv-registration.log"), "w"), text=True)
        services.append(registration_service)
        line = registration_service.stdout.readline()
        if "ready" not in line:
            raise RuntimeError(f"lv-registration did not start: {line!r} (see {root}/lv-registration.log)")
        registration_address = line.split("rpc=")[1].split()[0]
        print(f"cluster up in {time.monotonic() - began:.1f} s: leader {leader}, sync standby {sync}; lv-engagement at {address}; "
              f"network cuts {'every ' + str(args.cut_every) + ' failovers' if args.cut_every else 'off'} "
              f"(private network namespace, iptables)", flush=True)

        writers = Writers(address, args.writers, args.batch)
        writers.start()
        learners = Learners(registration_address, args.learners)
        learners.setup()
        learners.start()
        outages = {}  # kind -> [seconds]
        faults = []  # (time of the fault, kind)
        for n in range(1, args.failovers + 1):
            leader, sync = cluster.wait_healthy(180)
            settle = time.monotonic()
            while writers.acks_after(settle) < 5:  # writing through this primary before it goes
                time.sleep(0.05)
            li = int(leader[2:])
            postmaster, pids = cluster.node_pids(li)
            if args.cut_every and n % args.cut_every == 0:
                kind = "network cut"
            elif args.stop_every and n % args.stop_every == 0:
                kind = "SIGSTOP node"
            else:
                kind = "SIGKILL postgres"
            t = time.monotonic()
            faults.append((t, kind))
            if kind == "SIGKILL postgres":
                os.kill(postmaster, signal.SIGKILL)
            elif kind == "network cut":
                firewall.cut([cluster.pg_ports[li], cluster.rest_ports[li], cluster.etcd_client[li]])
            else:
                for p in pids:
                    try:
                        os.kill(p, signal.SIGSTOP)
                    except ProcessLookupError:
                        pass
            # until another node leads and writes are acknowledged again
            deadline = t + 120
            new = []
            while time.monotonic() < deadline and not new:
                m = cluster.members()
                new = [x["name"] for x in m if x.get("role") == "leader" and x.get("state") == "running" and x["name"] != leader]
                time.sleep(0.05)
            promoted = time.monotonic()
            while time.monotonic() < deadline and writers.acks_after(promoted) == 0:
                time.sleep(0.05)
            if not new or writers.acks_after(promoted) == 0:
                raise RuntimeError(f"failover {n}: no new leader with writes acknowledged within 120 s: {cluster.members()}")
            if kind == "SIGSTOP node":
                for p in pids:
                    try:
                        os.kill(p, signal.SIGCONT)
                    except ProcessLookupError:
                        pass
            elif kind == "network cut":
                firewall.restore()
            gap = writers.longest_gap(t, promoted)
            outages.setdefault(kind, []).append(gap)
            print(f"failover {n:2d}: {kind:16s} {leader} → {new[0]} (sync standby was {sync}); write outage {gap:.2f} s; "
                  f"acked so far: {len(writers.acked)} events, {len(learners.acked['credits'])} credit claims", flush=True)

        writers._stop_deadline = time.monotonic() + 30
        writers.stop()
        learners.stop(30)
        leader, _ = cluster.wait_healthy(180, all_members=False)
        li = int(leader[2:])
        rows = {
            "events": count_rows(cluster, li, "lv", "SELECT event_id, count(*) FROM event GROUP BY event_id"),
            "registrations": count_rows(cluster, li, "lv_reg", "SELECT npi, count(*) FROM physician GROUP BY npi"),
            "enrollments": count_rows(cluster, li, "lv_reg", "SELECT npi, count(*) FROM enrollment GROUP BY npi"),
            # One check-in a learner: another interval for the learner is a duplicate, whatever its time.
            "attendance": {f"{n}|{t}": c for n, t, c in (
                (r.split("|")[0], r.split("|")[1], int(r.split("|")[2])) for r in cluster.psql(
                    li, "SELECT npi, min(check_in_ms), count(*) FROM attendance GROUP BY npi", db="lv_reg").splitlines())},
            "credits": count_rows(cluster, li, "lv_reg", "SELECT npi, count(*) FROM credit GROUP BY npi"),
        }
        acked = {"events": writers.acked, **learners.acked}
        ok = True
        total = time.monotonic() - began
        for kind in ("events",) + Learners.KINDS:
            a, f, lost, dup = tally(acked[kind], rows[kind])
            ok = ok and a > 0 and lost == 0 and dup == 0
            extra = ""
            if kind == "events":
                extra = (f"; rows {sum(rows[kind].values())} (committed but unacknowledged when the writers stopped: "
                         f"{len(rows[kind]) - f}); failed attempts retried {writers.attempts_failed}")
            print(f"{kind}: acked {a}, found {f}, lost {lost}, duplicated {dup}{extra}", flush=True)
        # Per kind of fault: the writes acknowledged by the primary that fault took down (acknowledged
        # after the previous fault, up to this one).
        for fault_kind in sorted(set(k for _, k in faults)):
            parts = []
            for kind in ("events",) + Learners.KINDS:
                keys = []
                for key, at in acked[kind].items():
                    following = next((fk for ft, fk in faults if ft >= at), None)
                    if following == fault_kind:
                        keys.append(key)
                a, f, lost, dup = tally(acked[kind], rows[kind], keys)
                parts.append(f"{kind} {a}/{f}/{lost}/{dup}")
            o = sorted(outages[fault_kind])
            print(f"{fault_kind} ({len(o)}): acked/found/lost/duplicated on the primary it took down: {', '.join(parts)}; "
                  f"write outage s: min {o[0]:.2f} median {o[len(o) // 2]:.2f} max {o[-1]:.2f}", flush=True)
        every = sorted(x for v in outages.values() for x in v)
        print(f"failovers {args.failovers}: write outage s: min {every[0]:.2f} median {every[len(every) // 2]:.2f} max {every[-1]:.2f}; "
              f"learner calls retried {learners.failed}; answers showing a retry that was not exactly once: {len(learners.anomalies)}"
              f"{' (' + '; '.join(learners.anomalies[:5]) + ')' if learners.anomalies else ''}; total {total:.0f} s", flush=True)
        ok = ok and not learners.anomalies
        return 0 if ok else 1
    finally:
        if writers is not None and not writers.stopping.is_set():
            writers._stop_deadline = time.monotonic()
            writers.stopping.set()
        if learners is not None:
            learners.deadline = time.monotonic()
            learners.stopping.set()
        firewall.restore()
        for svc in ([service] if service is not None else []) + services:
            svc.send_signal(signal.SIGTERM)
            try:
                svc.wait(timeout=20)
            except Exception:
                svc.kill()
        cluster.stop()
        if args.keep:
            print(f"kept {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
