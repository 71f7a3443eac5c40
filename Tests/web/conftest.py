import os
import pathlib
import select
import signal
import subprocess
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN_DIR = pathlib.Path(os.environ.get("LV_BIN_DIR", ROOT / ".build" / "debug"))
OUTPUT = pathlib.Path(os.environ.get("LV_TEST_OUTPUT", ROOT / ".build" / "test-output")) / "web"


class Proc:
    """One of our executables on loopback port 0; the real ports come from its ready line."""

    def __init__(self, name, args, tmp):
        binary = BIN_DIR / name
        if not binary.exists():
            pytest.fail(f"{binary} not built; run `make build` (or set LV_BIN_DIR)")
        self.name = name
        self.log = open(tmp / f"{name}.log", "w")
        self.process = subprocess.Popen([str(binary), "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
                                         "--log-level", "warning"] + args,
                                        stdout=subprocess.PIPE, stderr=self.log, text=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], 0.2)
            if ready:
                line = self.process.stdout.readline()
                if " ready " in line:
                    break
            if self.process.poll() is not None:
                pytest.fail(f"{name} exited early; see {self.log.name}")
        else:
            self.process.kill()
            pytest.fail(f"{name} did not print its ready line within 60 s")
        self.fields = dict(part.split("=", 1) for part in line.split()[2:])
        self.address = self.fields.get("rpc") or self.fields.get("http")

    def stop(self, sig=signal.SIGTERM):
        if self.process.poll() is None:
            self.process.send_signal(sig)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        return self.process.returncode
