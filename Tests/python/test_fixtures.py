"""The scipy statistics fixtures the Swift tests read are what the checked-in script produces now."""
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]


def test_statistics_fixtures_are_fresh():
    pytest.importorskip("scipy")
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "make-statistics-fixtures.py"), "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
