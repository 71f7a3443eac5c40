"""clients/python as an integrator gets it: `pip install ./clients/python` into a fresh virtual
environment, then the README's first example against a live lv-registration."""
import os
import pathlib
import re
import shutil
import subprocess
import sys

from conftest import ROOT

PKG = ROOT / "clients" / "python"
README = (PKG / "README.md").read_text()


def python_blocks():
    return re.findall(r"```python\n(.*?)```", README, re.S)


def fresh_venv(tmp_path):
    """A venv with the local package installed from a copy (the checkout stays clean): the system
    site-packages give it protobuf, setuptools and wheel, so nothing is downloaded."""
    src = tmp_path / "src"
    shutil.copytree(PKG, src, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info"))
    venv = tmp_path / "venv"
    # Without its own pip (ensurepip is most of a venv's creation time): this pip installs into it.
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", "--system-site-packages", str(venv)], check=True)
    py = venv / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-index", "--no-build-isolation",
                    "--disable-pip-version-check", str(src)], check=True)
    return py


def test_readme_example_runs_from_a_fresh_venv(server, tmp_path):
    py = fresh_venv(tmp_path)
    # Imported from the venv, not from the checkout.
    where = subprocess.run([str(py), "-c", "import lvrpc, lv; print(lvrpc.__file__); print(lv.__file__)"],
                           capture_output=True, text=True, cwd=tmp_path, check=True).stdout
    assert str(tmp_path / "venv") in where and str(PKG) not in where, where
    first = python_blocks()[0]
    env = dict(os.environ, LV_ADDR=f"{server.host}:{server.port}", PYTHONPATH="")
    run = subprocess.run([str(py), "-c", first], capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == "1"                      # SERVING
    assert lines[1].startswith("NOT_FOUND ")    # the typed error
    assert lines[2] == "0 physicians"


def test_every_readme_example_compiles_and_names_real_methods():
    sys.path.insert(0, str(PKG))
    import lvrpc
    blocks = python_blocks()
    assert len(blocks) >= 6
    for block in blocks:
        compile(block, "README.md", "exec")
        clients = dict(re.findall(r"(\w+) = lvrpc\.(\w+Client)\(", block))
        for var, cls in clients.items():
            for method in re.findall(rf"\b{var}\.(\w+)\(", block):
                assert hasattr(getattr(lvrpc, cls), method), f"{cls}.{method}"
        for cls, method in re.findall(r"lvrpc\.(\w+Client)\(c(?:lient)?\)\.(\w+)\(", block):
            assert hasattr(getattr(lvrpc, cls), method), f"{cls}.{method}"


def test_retryable_refusal_is_retried_within_the_deadline():
    """The retry loop against a fake connection: two retryable refusals then an answer."""
    sys.path.insert(0, str(PKG))
    import lvrpc
    from lvrpc.client import Client

    client = Client.__new__(Client)
    client.default_timeout, client.default_retries = 5.0, 2
    attempts = []

    def once(method, request, response_type, timeout, metadata):
        attempts.append(timeout)
        if len(attempts) < 3:
            raise lvrpc.RPCError(lvrpc.StatusCode.UNAVAILABLE, "draining", retryable=True, retry_after_ms=1)
        return "answer"

    client._call_once = once
    assert client.call("x/y", None, None) == "answer"
    assert len(attempts) == 3 and all(t <= 5.0 for t in attempts)

    attempts.clear()

    def refuse(method, request, response_type, timeout, metadata):
        attempts.append(timeout)
        raise lvrpc.RPCError(lvrpc.StatusCode.INVALID_ARGUMENT, "bad", retryable=False)

    client._call_once = refuse
    try:
        client.call("x/y", None, None)
        raise AssertionError("a non-retryable error must surface")
    except lvrpc.RPCError as e:
        assert e.name == "INVALID_ARGUMENT"
    assert len(attempts) == 1
