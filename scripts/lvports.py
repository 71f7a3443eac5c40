#!/usr/bin/env python3
"""The default ports, read from their one table, Shared/LVRPC/DefaultPorts.swift.

    import lvports; lvports.PORTS["engagement"] -> 7402; lvports.metrics(7402) -> 9402
    scripts/lvports.py      prints "executable rpc-port metrics-port" a line, as `lvctl ports` does
"""
import pathlib
import re
import sys

SOURCE = pathlib.Path(__file__).resolve().parent.parent / "Shared" / "LVRPC" / "DefaultPorts.swift"
_values = dict((m.group(1), int(m.group(2))) for m in
               re.finditer(r"public static let (\w+) = (\d+)\s*$", SOURCE.read_text(), re.M))
METRICS_OFFSET = _values.pop("metricsOffset")
PORTS = _values  # gateway, registration, engagement, assessment, web
EXECUTABLES = {f"lv-{name}": port for name, port in PORTS.items()}


def metrics(port: int) -> int:
    return port + METRICS_OFFSET


if __name__ == "__main__":
    for name in ("registration", "engagement", "assessment", "gateway", "web"):
        print(f"lv-{name} {PORTS[name]} {metrics(PORTS[name])}")
    sys.exit(0)
