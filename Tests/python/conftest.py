import json
import pathlib
import signal
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "clients" / "python"))
sys.path.insert(0, str(ROOT / "Tests" / "pysupport"))

from lvprocess import BIN_DIR, binary, ready_fields  # noqa: E402


def load_vectors():
    return json.loads((ROOT / "docs" / "protocol-vectors.json").read_text())["vectors"]


class RunningServer:
    def __init__(self, name, tmp_path, listen="127.0.0.1:0", extra=()):
        path = binary(name)
        pathlib.Path(tmp_path).mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [str(path), "--listen", listen, "--metrics-listen", "127.0.0.1:0", "--data-dir", str(tmp_path),
             "--log-level", "warning", *extra],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        fields = ready_fields(self.process, name, 30, exited=lambda: self.process.stderr.read())
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
