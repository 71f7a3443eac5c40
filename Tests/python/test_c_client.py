"""clients/c: built with make, its own tests (scripted server), every protocol vector, and the
example running one activity end to end against a live lv-registration."""
import json
import subprocess

import pytest

from conftest import ROOT, RunningServer, load_vectors

TYPES = {"HELLO": 1, "HELLO_ACK": 2, "REQUEST": 3, "RESPONSE": 4, "CANCEL": 5, "PING": 6, "PONG": 7, "GOAWAY": 8}
VECTORS = load_vectors()


@pytest.fixture(scope="module")
def c_bin(tmp_path_factory):
    out = tmp_path_factory.mktemp("c-client")
    build = subprocess.run(["make", "-s", "-C", str(ROOT / "clients" / "c"), f"OUT={out}"], capture_output=True, text=True)
    assert build.returncode == 0, build.stdout + build.stderr
    assert "warning" not in build.stderr, build.stderr
    return out


def test_client_library(c_bin):
    run = subprocess.run([str(c_bin / "lv-c-test")], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    assert run.stdout.strip().endswith(" 0 failed") and int(run.stdout.split()[0]) >= 30, run.stdout


@pytest.mark.parametrize("vector", [v for v in VECTORS if "frame" in v], ids=lambda v: v["name"])
def test_frame_vector(c_bin, vector):
    run = subprocess.run([str(c_bin / "lv-c-vectors"), "frame", vector["hex"]], capture_output=True, text=True, timeout=30)
    assert run.returncode == 0, run.stdout
    first = dict(kv.split("=", 1) for kv in run.stdout.splitlines()[0].split())
    frame = vector["frame"]
    assert int(first["type"]) == TYPES[frame["type"]]
    assert int(first["stream"]) == frame["stream_id"] and int(first["flags"]) == frame["flags"]
    assert first["same"] == "1"
    meta = frame.get("meta", {})
    if meta.get("type") == "lv.rpc.v1.FrameMeta":
        second = dict(kv.split("=", 1) for kv in run.stdout.splitlines()[1].split())
        assert second["method"] == meta["json"].get("method", "")
        assert int(second["timeout_ms"]) == int(meta["json"].get("timeoutMs", 0))


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    s = RunningServer("lv-registration", tmp_path_factory.mktemp("c-live"))
    yield s
    assert s.stop() == 0


@pytest.mark.parametrize("vector", [v for v in VECTORS if "expect" in v], ids=lambda v: v["name"])
def test_behaviour_vector(c_bin, live, vector):
    expect = vector["expect"]
    run = subprocess.run([str(c_bin / "lv-c-vectors"), "behave", live.host, str(live.port), vector["hex"],
                          "1" if expect["send_after_hello"] else "0", str(vector.get("then_zero_bytes", 0)),
                          ",".join(str(s) for s in expect.get("may_answer_first", []))],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    got = dict(kv.split("=", 1) for kv in run.stdout.split())
    assert int(got["reply"]) == TYPES[expect["reply"]["type"]]
    if "code" in expect["reply"]:
        assert int(got["code"]) == expect["reply"]["code"]
    if "stream_id" in expect["reply"]:
        assert int(got["stream"]) == expect["reply"]["stream_id"]
    assert got["closed"] == ("1" if expect["closes"] else "0")
    # RESPONSEs skipped before the reply: only the vector's may_answer_first, at or below the GOAWAY's last_stream_id.
    first = [] if got["first"] == "-" else [int(s) for s in got["first"].split(",")]
    assert set(first) <= set(expect.get("may_answer_first", []))
    if "last_stream_id" in expect["reply"]:
        assert int(got["last"]) == expect["reply"]["last_stream_id"]
        assert all(s <= int(got["last"]) for s in first)


def test_example_runs_one_activity_end_to_end(c_bin, server):
    for attempt in range(2):  # the second run is a retry: every create has a request_id, so the same answers
        run = subprocess.run([str(c_bin / "lv-c-example"), server.host, str(server.port)], capture_output=True, text=True, timeout=60)
        assert run.returncode == 0, run.stdout + run.stderr
        assert "credit 1234567893 1.00 (60 minutes attended)" in run.stdout
        assert "attendance: 1 accepted, 0 duplicates" in run.stdout, f"run {attempt + 1}: {run.stdout}"
