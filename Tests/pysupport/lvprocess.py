"""Shared by the Python test suites (Tests/python, Tests/web): where the executables are, and
waiting for one started on port 0 to print its ready line ("NAME ready rpc=HOST:PORT metrics=…")."""
import os
import pathlib
import select
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN_DIR = pathlib.Path(os.environ.get("LV_BIN_DIR", ROOT / ".build" / "debug"))


def binary(name):
    """The executable `name` in BIN_DIR; fails the test when it is not built."""
    path = BIN_DIR / name
    if not path.exists():
        pytest.fail(f"{path} not built; run `make build` (or set LV_BIN_DIR)")
    return path


def ready_fields(process, name, seconds, exited):
    """The key=value fields of `process`'s ready line (its real ports). Fails the test, with
    `exited()` as the reason, if it exits first; kills it and fails after `seconds`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 0.2)
        if ready:
            line = process.stdout.readline()
            if " ready " in line:
                return dict(part.split("=", 1) for part in line.split()[2:])
        if process.poll() is not None:
            pytest.fail(f"{name} exited early: {exited()}")
    process.kill()
    pytest.fail(f"{name} did not print its ready line within {seconds} s")
