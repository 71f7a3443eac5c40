#!/usr/bin/env python3
"""Mutation check: does the test suite notice when a rule changes?

Flips one comparison operator, boolean connective, range operator or integer constant at a time
in the given Swift files, runs the tests that cover them (`swift test --filter ...`), and
reports each mutant as KILLED (a test failed or the build broke) or SURVIVED (every test still
passed: no test guards that line). The file is restored after every mutant, also on Ctrl-C.

  scripts/mutate.py --filter 'ScoringTests|ScoringRuleTests' Services/Assessment/Domain/Scoring.swift
  scripts/mutate.py --list Services/Registration/Domain/*.swift          # the mutants, without running
  scripts/mutate.py --filter RulesTests --only 3,7 Services/Registration/Domain/CreditRules.swift

Each mutant rebuilds the changed module and the test targets, so a pass over a rules file takes
minutes per mutant on a small machine: use --only / --max to run a part. Results go to stdout and,
as JSON lines, to --out (default .build/mutation-results.jsonl).
"""
import argparse
import json
import os
import re
import subprocess
import sys
import time

OPERATORS = {
    "<=": ["<", ">"], "<": ["<=", ">="], ">=": [">", "<"], ">": [">=", "<="],
    "==": ["!="], "!=": ["=="], "&&": ["||"], "||": ["&&"],
}
BINARY = re.compile(r"(?<=\s)(<=|>=|==|!=|&&|\|\||<|>)(?=\s)")
RANGE = re.compile(r"\.\.<|\.\.\.")
INTEGER = re.compile(r"(?<![\w.])(\d[\d_]*)(?![\w.])")


def strip_strings_and_comments(line):
    """The line with string literals and a trailing // comment blanked out (same length)."""
    out = []
    in_string = False
    i = 0
    while i < len(line):
        c = line[i]
        if not in_string and line.startswith("//", i):
            out.append(" " * (len(line) - i))
            break
        if c == '"' and (i == 0 or line[i - 1] != "\\"):
            in_string = not in_string
            out.append(" ")
        elif in_string:
            out.append(" ")
        else:
            out.append(c)
        i += 1
    return "".join(out)


def mutants(path, kinds):
    """(line number, column, original, replacement, description) for every mutation site."""
    found = []
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    in_block_comment = False
    for n, raw in enumerate(lines, 1):
        stripped = raw.strip()
        if in_block_comment:
            if "*/" in stripped:
                in_block_comment = False
            continue
        if stripped.startswith("/*"):
            in_block_comment = "*/" not in stripped
            continue
        if stripped.startswith("//") or stripped.startswith("import ") or stripped.startswith("#"):
            continue
        code = strip_strings_and_comments(raw)
        if "operators" in kinds:
            for m in BINARY.finditer(code):
                for repl in OPERATORS[m.group(1)]:
                    found.append((n, m.start(), m.group(1), repl, f"{m.group(1)} -> {repl}"))
            for m in RANGE.finditer(code):
                repl = "..." if m.group(0) == "..<" else "..<"
                found.append((n, m.start(), m.group(0), repl, f"{m.group(0)} -> {repl}"))
        if "constants" in kinds:
            for m in INTEGER.finditer(code):
                text = m.group(1)
                value = int(text.replace("_", ""))
                for repl in sorted({value + 1, max(0, value - 1)} - {value}):
                    found.append((n, m.start(), text, str(repl), f"{text} -> {repl}"))
    return lines, found


def run(cmd, log):
    started = time.time()
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    with open(log, "a", encoding="utf-8") as f:
        f.write(f"$ {' '.join(cmd)}\n{p.stdout}\n")
    return p.returncode, p.stdout, time.time() - started


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("files", nargs="+")
    ap.add_argument("--filter", help="swift test --filter pattern for the suites covering the files")
    ap.add_argument("--kinds", default="operators,constants", help="operators, constants, or both (default)")
    ap.add_argument("--only", help="comma-separated mutant numbers (from --list) to run")
    ap.add_argument("--max", type=int, help="run at most this many mutants")
    ap.add_argument("--list", action="store_true", help="print the mutants and exit")
    ap.add_argument("--out", default=".build/mutation-results.jsonl")
    ap.add_argument("--swift", default=os.environ.get("SWIFT", "swift"))
    args = ap.parse_args()
    kinds = set(args.kinds.split(","))

    plan = []
    for path in args.files:
        lines, found = mutants(path, kinds)
        for site in found:
            plan.append((path, lines, site))
    if args.list:
        for i, (path, lines, (n, col, orig, repl, desc)) in enumerate(plan, 1):
            print(f"{i:4d} {path}:{n}:{col + 1}  {desc}    | {lines[n - 1].strip()[:100]}")
        return 0
    if not args.filter:
        ap.error("--filter is required to run mutants")
    chosen = list(enumerate(plan, 1))
    if args.only:
        wanted = {int(x) for x in args.only.split(",")}
        chosen = [c for c in chosen if c[0] in wanted]
    if args.max:
        chosen = chosen[: args.max]

    os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
    log = os.path.splitext(args.out)[0] + ".log"
    print(f"baseline: {args.swift} test --filter '{args.filter}'", flush=True)
    code, out, secs = run([args.swift, "test", "--filter", args.filter], log)
    if code != 0:
        print(f"the baseline fails (exit {code}); fix it before mutating. Log: {log}")
        return 2
    print(f"baseline passes ({secs:.0f} s); {len(chosen)} mutants of {len(plan)}", flush=True)

    survived = killed = 0
    for number, (path, lines, (n, col, orig, repl, desc)) in chosen:
        original = "\n".join(lines)
        line = lines[n - 1]
        assert line[col:col + len(orig)] == orig, (path, n, col, orig, line)
        mutated = lines[:]
        mutated[n - 1] = line[:col] + repl + line[col + len(orig):]
        try:
            with open(path, "w", encoding="utf-8") as f:
                f.write("\n".join(mutated))
            code, out, secs = run([args.swift, "test", "--filter", args.filter], log)
        finally:
            with open(path, "w", encoding="utf-8") as f:
                f.write(original)
        if code == 0:
            verdict = "SURVIVED"
            survived += 1
        else:
            ran = "Test run started" in out or "Test Suite" in out
            verdict = "KILLED" if ran else "KILLED (build)"
            killed += 1
        print(f"{verdict:15s} #{number} {path}:{n}  {desc}    | {line.strip()[:90]}  ({secs:.0f} s)", flush=True)
        with open(args.out, "a", encoding="utf-8") as f:
            f.write(json.dumps({"mutant": number, "file": path, "line": n, "change": desc, "source": line.strip(),
                                "verdict": verdict, "seconds": round(secs)}) + "\n")
    print(f"\n{killed} killed, {survived} survived of {len(chosen)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
