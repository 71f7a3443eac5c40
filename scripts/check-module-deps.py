#!/usr/bin/env python3
"""Checks the module boundaries docs/ARCHITECTURE.md promises (make check-deps, part of make test).

From `swift package describe` (the manifest's targets, transitively):
  - lvctl and lv-load link no server module (a service's handler or store, LVService) and no SQLite;
  - the simulator does not depend on the registration service;
  - LVDomain depends on neither the wire (LVRPC) nor SQLite (LVStore).
Then, when the debug lvctl has been built, the binary itself: no symbol of a server module
(nm) and no libsqlite3 (ldd). Exits 1 naming each broken rule.
"""
import json
import os
import subprocess
import sys

SERVER = {"Registration", "Engagement", "Assessment", "Gateway", "LVStore", "LVStoreMessages", "LVService",
          "LVStorePostgres", "CSQLite", "CSQLiteConfig", "CLibPQ"}
RULES = [
    ("lvctl", SERVER),
    ("lv-load", SERVER),
    ("Simulation", SERVER),
    ("LVDomain", {"LVRPC", "LVStore", "CSQLite", "LVStorePostgres", "CLibPQ"}),
    # The PostgreSQL backend is its own target: LVStore (and so the sanitizer builds) never needs libpq.
    ("LVStore", {"LVStorePostgres", "CLibPQ"}),
    # Only the services with data link libpq; the gateway has none.
    ("lv-gateway", {"LVStorePostgres", "CLibPQ"}),
    ("LVService", {"LVStorePostgres", "CLibPQ"}),
]


def closure(targets, name):
    seen, stack = set(), [name]
    while stack:
        for dep in targets[stack.pop()].get("target_dependencies", []):
            if dep not in seen:
                seen.add(dep)
                stack.append(dep)
    return seen


def main():
    swift = os.environ.get("SWIFT", "swift")
    described = json.loads(subprocess.run([swift, "package", "describe", "--type", "json"],
                                          check=True, capture_output=True, text=True).stdout)
    targets = {t["name"]: t for t in described["targets"]}
    failures = []
    for name, forbidden in RULES:
        bad = sorted(closure(targets, name) & forbidden)
        if bad:
            failures.append(f"{name} depends on {', '.join(bad)}")
    binary = os.path.join(subprocess.run([swift, "build", "--show-bin-path"], check=True, capture_output=True,
                                         text=True).stdout.strip(), "lvctl")
    checked = "manifest"
    if os.path.exists(binary):
        checked += " and the lvctl binary"
        symbols = subprocess.run(["nm", binary], check=True, capture_output=True, text=True).stdout
        for module in sorted(SERVER - {"CSQLite", "CSQLiteConfig", "CLibPQ"}):
            if f"$s{len(module)}{module}" in symbols:
                failures.append(f"the lvctl binary holds symbols of {module}")
        if "sqlite3_open" in symbols:
            failures.append("the lvctl binary holds SQLite")
        libraries = subprocess.run(["ldd", binary], capture_output=True, text=True).stdout
        if "libsqlite3" in libraries:
            failures.append("the lvctl binary loads libsqlite3")
        if "libpq" in libraries:
            failures.append("the lvctl binary loads libpq")
    for f in failures:
        print(f"check-module-deps: {f}", file=sys.stderr)
    if failures:
        return 1
    print(f"check-module-deps: {len(RULES)} rules hold ({checked})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
