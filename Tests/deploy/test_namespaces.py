"""Separate hosts, really: one network namespace per service, each with its own address on a
private bridge that lives in a namespace of its own (no host interface is touched and no packet
can leave the machine), the services bound to those addresses, the simulator and a report
through the gateway across namespaces, then one backend killed and restarted and the gateway
recovering. Runs as root (as CI does); skips with the reason where namespaces are not permitted.
Uses the release tarball when there is one, else the debug binaries ($LV_BIN_DIR).
Off loopback the services need API keys and TLS (docs/SECURITY.md): deploy/local/make-secrets.sh
makes a private CA, certificates for the four addresses and keys; every hop uses mutual TLS, the
gateway its own key and client certificate toward the backends."""
import json
import os
import pathlib
import re
import select
import shutil
import subprocess
import time

import pytest

from conftest import CLEAN_ENV, ROOT, dist_tarball, unpack

import sys
sys.path.insert(0, str(ROOT / "scripts"))
import lvports  # noqa: E402  the one table of default ports (Shared/LVRPC/DefaultPorts.swift)

SUBNET = "10.77.0"
# name, address, rpc port, metrics port
SERVICES = [(name, f"{SUBNET}.{i}", lvports.EXECUTABLES[name], lvports.metrics(lvports.EXECUTABLES[name]))
            for i, name in enumerate(["lv-registration", "lv-engagement", "lv-assessment", "lv-gateway"], start=1)]
CLIENT = f"{SUBNET}.9"


def comparable(text):
    """A view without the time it was computed."""
    view = json.loads(text)
    view.pop("computedMs", None)  # the canonical proto3 JSON mapping (lowerCamelCase)
    return view


def sh(*args, check=True):
    return subprocess.run(list(args), capture_output=True, text=True, check=check)


class Namespaces:
    """Namespaces named lvt<pid>-*, removed by cleanup() whatever happened."""

    def __init__(self):
        self.prefix = f"lvt{os.getpid()}"
        self.created = []

    def name(self, short):
        return f"{self.prefix}-{short}"

    def add(self, short):
        ns = self.name(short)
        sh("ip", "netns", "add", ns)
        self.created.append(ns)
        sh("ip", "-n", ns, "link", "set", "lo", "up")
        return ns

    def cleanup(self):
        for ns in reversed(self.created):
            sh("ip", "netns", "pids", ns, check=False)
            for pid in sh("ip", "netns", "pids", ns, check=False).stdout.split():
                try:
                    os.kill(int(pid), 9)
                except ProcessLookupError:
                    pass
            sh("ip", "netns", "del", ns, check=False)


def binaries(tmp_path):
    tarball = dist_tarball()
    if tarball is not None:
        return unpack(tarball, tmp_path / "release") / "bin", f"release tarball {tarball.name}"
    bindir = pathlib.Path(os.environ.get("LV_BIN_DIR", ROOT / ".build" / "debug"))
    if not (bindir / "lv-gateway").exists():
        pytest.fail(f"no binaries in {bindir}; run `make build` or `make dist`")
    return bindir, f"debug binaries in {bindir}"


@pytest.fixture
def network():
    if os.geteuid() != 0:
        pytest.skip("needs root to create network namespaces (CI runs as root)")
    if shutil.which("ip") is None:
        pytest.fail("iproute2 is not installed; scripts/install-deps.sh installs it")
    ns = Namespaces()
    try:
        probe = subprocess.run(["ip", "netns", "add", ns.name("probe")], capture_output=True, text=True)
        if probe.returncode != 0:
            pytest.skip(f"network namespaces are not permitted here: {probe.stderr.strip()}")
        ns.created.append(ns.name("probe"))
        bridge = ns.add("br")
        sh("ip", "-n", bridge, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", bridge, "link", "set", "br0", "up")
        hosts = {}
        for short, address in [(s[0].removeprefix("lv-"), s[1]) for s in SERVICES] + [("client", CLIENT)]:
            host = ns.add(short)
            # A veth pair made inside the bridge namespace; one end moves into the host's namespace.
            sh("ip", "-n", bridge, "link", "add", f"v-{short}", "type", "veth", "peer", "name", "eth0", "netns", host)
            sh("ip", "-n", bridge, "link", "set", f"v-{short}", "master", "br0", "up")
            sh("ip", "-n", host, "addr", "add", f"{address}/24", "dev", "eth0")
            sh("ip", "-n", host, "link", "set", "eth0", "up")
            hosts[short] = host
        yield hosts
    finally:
        ns.cleanup()
        leftover = [n for n in sh("ip", "netns", "list").stdout.split() if n.startswith(ns.prefix)]
        assert leftover == [], f"namespaces left behind: {leftover}"


class Service:
    def __init__(self, bindir, namespace, name, address, port, metrics, data, extra=()):
        self.args = ["ip", "netns", "exec", namespace, str(bindir / name), "--listen", f"{address}:{port}",
                     "--metrics-listen", f"{address}:{metrics}", "--data-dir", str(data), "--log-level", "warning", *extra]
        self.name = name
        self.start()

    def start(self):
        self.process = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=CLEAN_ENV)
        deadline = time.monotonic() + 60
        line = ""
        while time.monotonic() < deadline and " ready " not in line:
            ready, _, _ = select.select([self.process.stdout], [], [], 0.5)
            if ready:
                line = self.process.stdout.readline()
            if self.process.poll() is not None:
                raise AssertionError(f"{self.name} exited: {self.process.stderr.read()}")
        assert " ready " in line, f"{self.name}: no ready line"
        self.ready_line = line

    def stop(self, sig=15):
        self.process.send_signal(sig)
        return self.process.wait(timeout=45)


def make_secrets(bindir, out):
    sans = [f"IP:{s[1]}" for s in SERVICES]
    subprocess.run([str(ROOT / "deploy" / "local" / "make-secrets.sh"), str(out), *sans], check=True, capture_output=True,
                   text=True, env={**CLEAN_ENV, "LVCTL": str(bindir / "lvctl")})
    tls, keys = out / "tls", out / "keys"
    server = ("--key-file", str(keys / "keys"), "--tls-cert", str(tls / "tls.crt"), "--tls-key", str(tls / "tls.key"),
              "--tls-client-ca", str(tls / "ca.crt"))
    gateway = ("--backend-credential-file", str(keys / "lv-gateway.credential"), "--backend-ca", str(tls / "ca.crt"),
               "--backend-cert", str(tls / "client.crt"), "--backend-cert-key", str(tls / "client.key"))
    client_env = {**CLEAN_ENV, "LV_CREDENTIAL_FILE": str(keys / "operator.credential"), "LV_CA": str(tls / "ca.crt"),
                  "LV_CERT": str(tls / "client.crt"), "LV_CERT_KEY": str(tls / "client.key")}
    return server, gateway, client_env


def test_services_on_separate_hosts(network, tmp_path):
    bindir, source = binaries(tmp_path)
    print(f"using {source}")
    lvctl = bindir / "lvctl"
    secure, gateway_secure, client_env = make_secrets(bindir, tmp_path / "secrets")

    def client(*args, timeout=120, env=client_env):
        return subprocess.run(["ip", "netns", "exec", network["client"], str(lvctl), *args], capture_output=True,
                              text=True, env=env, timeout=timeout)

    addr = {s[0]: f"{s[1]}:{s[2]}" for s in SERVICES}
    started = []
    try:
        for name, address, port, metrics in SERVICES:
            extra = secure
            if name == "lv-gateway":
                extra = secure + gateway_secure + (
                    "--registration-addr", addr["lv-registration"], "--engagement-addr", addr["lv-engagement"],
                    "--assessment-addr", addr["lv-assessment"])
            s = Service(bindir, network[name.removeprefix("lv-")], name, address, port, metrics, tmp_path / name, extra)
            started.append(s)
            assert f"rpc={address}:{port}" in s.ready_line and f"metrics={address}:{metrics}" in s.ready_line
        services = {s.name: s for s in started}

        # Each service answers only on its own address, from the client's namespace.
        for name, a in addr.items():
            assert client("health", "--addr", a).returncode == 0, name
        # Nothing listens on the client's own loopback: the calls above really crossed namespaces.
        assert client("health", "--addr", f"127.0.0.1:{lvports.PORTS['gateway']}", "--timeout", "2").returncode == 4  # unreachable (docs/INTEGRATING.md)
        # Plaintext, or TLS without the client certificate, gets nowhere (unreachable); a call without a key is refused.
        assert client("health", "--addr", addr["lv-registration"], "--timeout", "3", env=CLEAN_ENV).returncode == 4
        no_cert = {k: v for k, v in client_env.items() if k not in ("LV_CERT", "LV_CERT_KEY")}
        assert client("health", "--addr", addr["lv-registration"], "--timeout", "3", env=no_cert).returncode == 4
        anonymous = {k: v for k, v in client_env.items() if k != "LV_CREDENTIAL_FILE"}
        refused = client("report", "activities", "--addr", addr["lv-gateway"], env=anonymous)
        assert refused.returncode != 0 and "UNAUTHENTICATED" in refused.stderr, refused.stderr

        sim = client("simulate", "--registration-addr", addr["lv-registration"], "--engagement-addr", addr["lv-engagement"],
                     "--assessment-addr", addr["lv-assessment"], "--activity", "ns-hf", "--participants", "30",
                     "--comparison", "10", "--seed", "2027")
        assert sim.returncode == 0, sim.stderr
        before = client("report", "activity", "ns-hf", "--addr", addr["lv-gateway"], "--json")
        assert before.returncode == 0, before.stderr
        view = comparable(before.stdout)

        # Kill a backend without warning: the gateway cannot give the full view.
        assert services["lv-engagement"].stop(sig=9) == -9
        during = client("report", "activity", "ns-hf", "--addr", addr["lv-gateway"], "--json", "--timeout", "5")
        assert during.returncode != 0 or comparable(during.stdout) != view, "the view did not notice engagement was gone"

        # Restart it on the same address with the same data: the gateway recovers by itself.
        services["lv-engagement"].start()
        for _ in range(100):
            after = client("report", "activity", "ns-hf", "--addr", addr["lv-gateway"], "--json", "--timeout", "5")
            if after.returncode == 0 and comparable(after.stdout) == view:
                break
            time.sleep(0.2)
        assert after.returncode == 0, after.stderr
        assert comparable(after.stdout) == view, "after the restart the view differs from before the kill"
    finally:
        for s in reversed(started):
            if s.process.poll() is None:
                assert s.stop() == 0, f"{s.name} did not exit 0 on SIGTERM"
