import os
import pathlib
import signal
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "Tests" / "pysupport"))

from lvprocess import BIN_DIR, binary, ready_fields  # noqa: E402
OUTPUT = pathlib.Path(os.environ.get("LV_TEST_OUTPUT", ROOT / ".build" / "test-output")) / "web"


class Proc:
    """One of our executables on loopback port 0; the real ports come from its ready line."""

    def __init__(self, name, args, tmp):
        path = binary(name)
        self.name = name
        self.log = open(tmp / f"{name}.log", "w")
        self.process = subprocess.Popen([str(path), "--listen", "127.0.0.1:0", "--metrics-listen", "127.0.0.1:0",
                                         "--log-level", "warning"] + args,
                                        stdout=subprocess.PIPE, stderr=self.log, text=True)
        self.fields = ready_fields(self.process, name, 60, exited=lambda: f"see {self.log.name}")
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
