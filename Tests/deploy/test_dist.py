"""make dist's tarball, unpacked into an empty directory, runs with no Swift toolchain on PATH or
LD_LIBRARY_PATH, and its binaries load only libraries a Debian host gets from libsqlite3-0 and
libprotobuf-c1 (and what those depend on), plus libstdc++6, which every Debian host with apt has."""
import re
import select
import shutil
import subprocess
import time

from conftest import CLEAN_ENV

BINARIES = ["lv-registration", "lv-engagement", "lv-assessment", "lv-gateway", "lv-load", "lvctl", "lv-web"]
# libstdc++6: the Swift runtime is C++; Debian's apt depends on it, so it is on every Debian host.
EXTRA_ALLOWED = {"libstdc++6"}


def allowed_packages():
    out = subprocess.run(["apt-cache", "depends", "--recurse", "--no-recommends", "--no-suggests", "--no-conflicts",
                          "--no-breaks", "--no-replaces", "--no-enhances", "libsqlite3-0", "libprotobuf-c1", "libpq5"],
                         capture_output=True, text=True, check=True).stdout
    return {l.strip() for l in out.splitlines() if l and not l.startswith(" ")} | EXTRA_ALLOWED


def package_of(path):
    result = subprocess.run(["dpkg", "-S", path], capture_output=True, text=True)
    if result.returncode != 0:
        # /lib is a symlink to /usr/lib on merged-/usr Debian; dpkg knows one of the two names.
        alt = path.replace("/usr/lib/", "/lib/", 1) if path.startswith("/usr/lib/") else path.replace("/lib/", "/usr/lib/", 1)
        result = subprocess.run(["dpkg", "-S", alt], capture_output=True, text=True)
    return result.stdout.split(":", 1)[0] if result.returncode == 0 else None


def test_tarball_layout(release):
    for b in BINARIES:
        assert (release / "bin" / b).exists()
    for f in ["README.md", "VERSION", "docs/OPERATIONS.md", "deploy/systemd/lv-registration.service",
              "deploy/kubernetes/lv-gateway.yaml", "deploy/compose.yaml", "deploy/config/lv-gateway.conf",
              "examples/activity.json"]:
        assert (release / f).exists(), f


def test_every_binary_runs_without_a_toolchain(release):
    assert shutil.which("swift", path=CLEAN_ENV["PATH"]) is None, "the clean PATH still finds a Swift toolchain"
    version = (release / "VERSION").read_text().split()[0]
    for b in BINARIES:
        result = subprocess.run([str(release / "bin" / b), "--version"], capture_output=True, text=True, env=CLEAN_ENV)
        assert result.returncode == 0, f"{b}: {result.stderr}"
        assert re.match(rf"{b} {re.escape(version)} \(commit [0-9a-f]{{12}}(-dirty)?, built \d{{4}}-\d\d-\d\dT", result.stdout), result.stdout


def test_binaries_need_only_debian_system_libraries(release):
    allowed = allowed_packages()
    for b in BINARIES:
        out = subprocess.run(["ldd", str(release / "bin" / b)], capture_output=True, text=True, env=CLEAN_ENV).stdout
        assert "not found" not in out, f"{b}: {out}"
        assert not re.search(r"libswift|libFoundation|libdispatch|libBlocksRuntime|/opt/swift", out), f"{b} links the Swift runtime dynamically:\n{out}"
        for path in re.findall(r"=> (/\S+)", out):
            package = package_of(path)
            assert package in allowed, f"{b} needs {path} from {package}, not from {sorted(allowed)}"


def test_a_service_from_the_tarball_serves(release, tmp_path):
    service = subprocess.Popen([str(release / "bin" / "lv-registration"), "--listen", "127.0.0.1:0", "--metrics-listen", "off",
                                "--data-dir", str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                               env=CLEAN_ENV)
    try:
        ready, _, _ = select.select([service.stdout], [], [], 30)
        line = service.stdout.readline() if ready else ""
        assert " ready rpc=127.0.0.1:" in line, line
        port = re.search(r"rpc=127\.0\.0\.1:(\d+)", line).group(1)
        health = subprocess.run([str(release / "bin" / "lvctl"), "health", "--addr", f"127.0.0.1:{port}"],
                                capture_output=True, text=True, env=CLEAN_ENV)
        assert health.returncode == 0, health.stderr
    finally:
        service.terminate()
        assert service.wait(timeout=30) == 0
