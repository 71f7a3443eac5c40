import os
import pathlib
import platform
import shutil
import subprocess
import tarfile

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def dist_tarball():
    """The release tarball: $LV_DIST_TARBALL or dist/lv-linux-<arch>.tar.gz (make dist)."""
    path = pathlib.Path(os.environ.get("LV_DIST_TARBALL", ROOT / "dist" / f"lv-linux-{platform.machine()}.tar.gz"))
    return path if path.exists() else None


def require_dist():
    tarball = dist_tarball()
    if tarball is None:
        if os.environ.get("LV_REQUIRE_DIST") == "1":
            pytest.fail("no release tarball; run `make dist` first")
        pytest.skip("no release tarball (make dist); `make deploy-check` builds it and runs this test")
    return tarball


def unpack(tarball, into):
    with tarfile.open(tarball) as t:
        t.extractall(into, filter="data")
    (top,) = [p for p in pathlib.Path(into).iterdir() if p.is_dir()]
    return top


@pytest.fixture(scope="session")
def release(tmp_path_factory):
    """The release unpacked into an empty directory; its top directory."""
    tarball = require_dist()
    return unpack(tarball, tmp_path_factory.mktemp("release"))


# What a process from the tarball gets: no Swift toolchain on PATH, no LD_LIBRARY_PATH.
CLEAN_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
