import json
import os
import pathlib
import select
import signal
import subprocess
import sys
import time

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "clients" / "python"))

BIN_DIR = pathlib.Path(os.environ.get("LV_BIN_DIR", ROOT / ".build" / "debug"))


def load_vectors():
    return json.loads((ROOT / "docs" / "protocol-vectors.json").read_text())["vectors"]


class RunningServer:
    def __init__(self, name, tmp_path, listen="127.0.0.1:0"):
        binary = BIN_DIR / name
        pathlib.Path(tmp_path).mkdir(parents=True, exist_ok=True)
        if not binary.exists():
            pytest.fail(f"{binary} not built; run `make build` (or set LV_BIN_DIR)")
        self.process = subprocess.Popen(
            [str(binary), "--listen", listen, "--metrics-listen", "127.0.0.1:0", "--data-dir", str(tmp_path),
             "--log-level", "warning"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 30
        line = ""
        while time.monotonic() < deadline:
            ready, _, _ = select.select([self.process.stdout], [], [], 0.2)
            if ready:
                line = self.process.stdout.readline()
                if " ready " in line:
                    break
            if self.process.poll() is not None:
                pytest.fail(f"{name} exited early: {self.process.stderr.read()}")
        else:
            self.process.kill()
            pytest.fail(f"{name} did not print its ready line within 30 s")
        fields = dict(part.split("=", 1) for part in line.split()[2:])
        host, port = fields["rpc"].rsplit(":", 1)
        self.host, self.port = host, int(port)

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            raise


@pytest.fixture
def server(tmp_path):
    s = RunningServer("lv-registration", tmp_path)
    yield s
    assert s.stop() == 0, "the server must exit 0 after SIGTERM"
