"""Every file in deploy/ checked by a tool that can fail, plus one negative test per tool:
systemd-analyze verify (systemd units), hadolint (Containerfiles), kubernetes-validate against
the Kubernetes schemas shipped in its wheel (offline), and the project's own required keys."""
import os
import pathlib
import re
import shutil
import subprocess

import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "scripts"))
import lvports  # noqa: E402  the one table of default ports (Shared/LVRPC/DefaultPorts.swift)
DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))
CONTAINERFILES = sorted((DEPLOY / "container").glob("Containerfile.*"))
MANIFESTS = sorted((DEPLOY / "kubernetes").glob("*.yaml"))
BACKENDS = ["lv-registration", "lv-engagement", "lv-assessment"]
SERVICES = BACKENDS + ["lv-gateway", "lv-web"]
STATELESS = ("lv-gateway", "lv-web")


def tool(name):
    path = shutil.which(name)
    if path is None:
        pytest.fail(f"{name} is not installed; scripts/install-deps.sh installs it")
    return path


def test_every_service_has_its_files():
    assert [u.stem for u in UNITS] == sorted(SERVICES)
    assert [c.name.split(".", 1)[1] for c in CONTAINERFILES] == sorted(SERVICES)
    for s in SERVICES:
        assert (DEPLOY / "config" / f"{s}.conf").exists()


# systemd ------------------------------------------------------------------------------------

def verify_units(units, tmp_path):
    """systemd-analyze verify on copies whose ExecStart points at a stand-in binary in tmp_path
    (verify checks the executable exists; /opt/lv is not installed on the test machine)."""
    bindir = tmp_path / "bin"
    bindir.mkdir(exist_ok=True)
    copies = []
    for unit in units:
        text = unit.read_text() if isinstance(unit, pathlib.Path) else unit[1]
        name = unit.name if isinstance(unit, pathlib.Path) else unit[0]
        for binary in re.findall(r"/opt/lv/bin/([\w-]+)", text):
            stub = bindir / binary
            if not stub.exists():
                stub.write_text("#!/bin/sh\nexit 0\n")
                stub.chmod(0o755)
        copy = tmp_path / name
        copy.write_text(text.replace("/opt/lv/bin/", f"{bindir}/"))
        copies.append(str(copy))
    return subprocess.run([tool("systemd-analyze"), "verify", *copies], capture_output=True, text=True,
                          env={**os.environ, "SYSTEMD_LOG_COLOR": "0"})


def test_systemd_units_verify(tmp_path):
    result = verify_units(UNITS, tmp_path)
    assert result.returncode == 0, result.stderr
    # Warnings (unknown keys, bad values) do not change the exit status: any output is a failure.
    assert result.stderr.strip() == "", result.stderr


def test_systemd_verify_fails_without_execstart(tmp_path):
    unit = UNITS[0]
    broken = "\n".join(l for l in unit.read_text().splitlines() if not l.startswith("ExecStart="))
    result = verify_units([(unit.name, broken)], tmp_path)
    assert result.returncode != 0 and "ExecStart" in result.stderr, result.stderr


REQUIRED_UNIT_KEYS = ["Type=notify", "ProtectSystem=strict", "NoNewPrivileges=yes", "DynamicUser=yes",
                      "Restart=on-failure", "ExecStart=/opt/lv/bin/"]


def unit_problems(name, text):
    problems = [f"{name}: no {k}" for k in REQUIRED_UNIT_KEYS if not re.search("^" + re.escape(k), text, re.M)]
    if name.removesuffix(".service") not in STATELESS and not re.search(r"^StateDirectory=\S+", text, re.M):
        problems.append(f"{name}: no StateDirectory")
    return problems


def test_systemd_units_are_hardened():
    for unit in UNITS:
        assert unit_problems(unit.name, unit.read_text()) == []


def test_hardening_check_fails_without_protect_system():
    text = UNITS[0].read_text().replace("ProtectSystem=strict\n", "")
    assert unit_problems(UNITS[0].name, text) == [f"{UNITS[0].name}: no ProtectSystem=strict"]


# Containerfiles -----------------------------------------------------------------------------

def hadolint(*paths):
    return subprocess.run([tool("hadolint"), "--no-color", "--failure-threshold", "warning", *map(str, paths)],
                          capture_output=True, text=True)


def test_containerfiles_lint():
    result = hadolint(*CONTAINERFILES)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_fails_without_from(tmp_path):
    broken = tmp_path / "Containerfile"
    text = CONTAINERFILES[0].read_text()
    broken.write_text(re.sub(r"^FROM .*\n", "", text, flags=re.M))
    result = hadolint(broken)
    assert result.returncode != 0, result.stdout


def containerfile_problems(name, text):
    last_stage = text.split("\nFROM ")[-1]
    problems = []
    if not re.search(r"^USER (?!root|0\b)\S+", last_stage, re.M):
        problems.append(f"{name}: runs as root")
    # lv-web serves HTTP, not the protocol: it probes its own /healthz (lv-web --probe).
    probe = '/lv-web", "--probe"' if name.endswith("lv-web") else "lvctl"
    if "HEALTHCHECK" not in last_stage or probe not in last_stage:
        problems.append(f"{name}: no {probe} HEALTHCHECK")
    if not name.endswith(STATELESS) and not re.search(r'^VOLUME \["/var/lib/lv"\]', last_stage, re.M):
        problems.append(f"{name}: no data volume")
    if re.search(r"swift", "\n".join(l for l in text.splitlines() if l.startswith("FROM")), re.I):
        problems.append(f"{name}: a Swift toolchain image")
    return problems


def test_containerfiles_policy():
    for c in CONTAINERFILES:
        assert containerfile_problems(c.name, c.read_text()) == []


def test_container_policy_fails_without_user():
    c = CONTAINERFILES[0]
    text = re.sub(r"^USER .*\n", "", c.read_text(), flags=re.M)
    assert containerfile_problems(c.name, text) == [f"{c.name}: runs as root"]


# Kubernetes ---------------------------------------------------------------------------------

def kubernetes_validate(*paths):
    # --strict rejects unknown properties; the schemas ship in the wheel, so no network is used.
    return subprocess.run([tool("kubernetes-validate"), "--strict", "--quiet", *map(str, paths)],
                          capture_output=True, text=True)


def test_kubernetes_manifests_validate():
    result = kubernetes_validate(*MANIFESTS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_kubernetes_validate_fails_without_selector(tmp_path):
    docs = list(yaml.safe_load_all((DEPLOY / "kubernetes" / "lv-registration.yaml").read_text()))
    for d in docs:
        if d["kind"] == "StatefulSet":
            del d["spec"]["selector"]
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump_all(docs))
    result = kubernetes_validate(broken)
    assert result.returncode != 0 and "selector" in result.stdout + result.stderr


def all_resources():
    out = []
    for m in MANIFESTS:
        out += [d for d in yaml.safe_load_all(m.read_text()) if d]
    return out


def test_kubernetes_shape():
    resources = all_resources()
    by = {(r["kind"], r["metadata"]["name"]) for r in resources}
    for b in BACKENDS:
        assert ("StatefulSet", b) in by and ("Service", b) in by
    assert ("Deployment", "lv-gateway") in by and ("Service", "lv-gateway") in by
    assert ("Deployment", "lv-web") in by and ("Service", "lv-web") in by
    assert any(r["kind"] == "NetworkPolicy" for r in resources)
    assert any(r["kind"] == "Secret" for r in resources)
    for r in resources:
        if r["kind"] not in ("StatefulSet", "Deployment"):
            continue
        if r["kind"] == "StatefulSet":
            assert r["spec"]["volumeClaimTemplates"], r["metadata"]["name"]
        c = r["spec"]["template"]["spec"]["containers"][0]
        if r["metadata"]["name"] == "lv-web":  # HTTP: its own /healthz for liveness, /readyz (follows the gateway) for readiness
            assert c["livenessProbe"]["exec"]["command"] == ["/opt/lv/bin/lv-web", "--probe"]
            assert c["readinessProbe"]["httpGet"]["path"] == "/readyz"
            assert c["securityContext"]["allowPrivilegeEscalation"] is False
            continue
        live = c["livenessProbe"]["exec"]["command"]
        ready = c["readinessProbe"]["exec"]["command"]
        assert "lvctl" in live[0] and "lvctl" in ready[0]
        assert live != ready, "liveness must not depend on what readiness does"
        assert c["resources"]["requests"]["memory"]
        assert c["securityContext"]["allowPrivilegeEscalation"] is False


def test_network_policy_admits_only_gateway_and_declared_clients_to_backends():
    policy = next(r for r in all_resources() if r["kind"] == "NetworkPolicy" and r["metadata"]["name"] == "lv-backends")
    rpc_rule = policy["spec"]["ingress"][0]
    peers = [p["podSelector"]["matchLabels"] for p in rpc_rule["from"]]
    assert peers == [{"app.kubernetes.io/name": "lv-gateway"}, {"lv.client": "true"}]
    assert {p["port"] for p in rpc_rule["ports"]} == {lvports.EXECUTABLES[b] for b in BACKENDS}


def test_compose_has_every_service_and_an_internal_backend_network():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    assert sorted(compose["services"]) == sorted(SERVICES)
    assert compose["networks"]["backend"]["internal"] is True
    for b in BACKENDS:
        assert "ports" not in compose["services"][b], f"{b} must not be published"
        assert compose["services"][b]["volumes"]
    for p in compose["services"]["lv-gateway"]["ports"] + compose["services"]["lv-web"]["ports"]:
        assert p.startswith("127.0.0.1:"), "the gateway and lv-web are published on loopback only"
    assert "backend" not in compose["services"]["lv-web"]["networks"], "lv-web reaches the gateway only"


def test_container_image_builds_and_runs_with_podman(tmp_path):
    """Where podman works and the base image is at hand, build lv-registration's image from the
    release tarball and run --version in it. Skips, saying why, anywhere else."""
    from conftest import dist_tarball
    podman = shutil.which("podman")
    if podman is None:
        pytest.skip("podman is not installed (no container engine on this machine); Containerfiles are checked by hadolint only")
    base = "docker.io/library/debian:bookworm-slim"
    if subprocess.run([podman, "image", "exists", base]).returncode != 0:
        pytest.skip(f"{base} is not available locally and this machine cannot pull it")
    tarball = dist_tarball()
    if tarball is None:
        pytest.skip("no release tarball (make dist)")
    tag = f"localhost/lv-registration-test:{os.getpid()}"
    build = subprocess.run([podman, "build", "--pull=never", "-f", str(DEPLOY / "container" / "Containerfile.lv-registration"),
                            "--build-arg", f"LV_TARBALL={tarball.name}", "-t", tag, str(tarball.parent)],
                           capture_output=True, text=True)
    try:
        assert build.returncode == 0, build.stderr
        run = subprocess.run([podman, "run", "--rm", "--network=none", tag, "--version"], capture_output=True, text=True)
        assert run.returncode == 0 and run.stdout.startswith("lv-registration "), run.stderr
        user = subprocess.run([podman, "image", "inspect", "--format", "{{.Config.User}}", tag], capture_output=True, text=True)
        assert user.stdout.strip() == "10001:10001"
    finally:
        subprocess.run([podman, "rmi", "-f", tag], capture_output=True)


PORT_IN_TEXT = re.compile(r"(?<![\d.])(7[0-9]{3}|9[0-9]{3})(?!\d)")


def test_every_port_in_deploy_files_is_from_the_one_table():
    """deploy/ files are static text: each port they name must be one of the table's (an RPC or HTTP
    port, or its metrics port), and each file that names a service's port names that service's."""
    known = set(lvports.EXECUTABLES.values()) | {lvports.metrics(p) for p in lvports.EXECUTABLES.values()}
    files = [f for f in DEPLOY.rglob("*") if f.is_file() and f.suffix in ("", ".conf", ".service", ".yaml", ".sh")
             or f.name.startswith("Containerfile.")]
    assert files
    for f in files:
        text = f.read_text(errors="replace")
        for m in PORT_IN_TEXT.finditer(text):
            assert int(m.group(1)) in known, f"{f.relative_to(ROOT)}: port {m.group(1)} is not in Shared/LVRPC/DefaultPorts.swift"
    for name, port in lvports.EXECUTABLES.items():
        conf = (DEPLOY / "config" / f"{name}.conf").read_text()
        assert re.search(rf"^listen = \S+:{port}$", conf, re.M), f"{name}.conf listens elsewhere than {port}"
        assert re.search(rf"^metrics-listen = \S+:{lvports.metrics(port)}$", conf, re.M), name
        containerfile = (DEPLOY / "container" / f"Containerfile.{name}").read_text()
        assert f"LV_LISTEN=0.0.0.0:{port}" in containerfile, name


def test_the_port_table_is_the_one_lvctl_prints():
    lvctl = pathlib.Path(os.environ.get("LV_BIN_DIR", ROOT / ".build" / "debug")) / "lvctl"
    if not lvctl.exists():
        pytest.skip(f"{lvctl} not built")
    printed = subprocess.run([str(lvctl), "ports"], check=True, capture_output=True, text=True).stdout.split("\n")
    expected = [f"{name} {port} {lvports.metrics(port)}" for name, port in
                sorted(lvports.EXECUTABLES.items(), key=lambda e: ["lv-registration", "lv-engagement", "lv-assessment", "lv-gateway", "lv-web"].index(e[0]))]
    assert [line for line in printed if line] == expected
