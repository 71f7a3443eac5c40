#!/usr/bin/env python3
"""Writes Tests/Fixtures/statistics.json: paired t-tests, Spearman correlations and McNemar
tests on seeded random data, computed by scipy, for the Swift statistics tests to match.
Run by hand after changing the cases (`python3 scripts/make-statistics-fixtures.py`);
`--check` fails when the committed file differs (make test runs it when scipy is present)."""
import json
import pathlib
import sys

import numpy as np
from scipy import stats

OUT = pathlib.Path(__file__).resolve().parent.parent / "Tests" / "Fixtures" / "statistics.json"


def cases():
    rng = np.random.default_rng(20261126)
    paired = []
    for n, gain, noise in [(5, 8, 10), (12, 15, 12), (40, 3, 15), (87, 26, 14), (200, 1, 20), (3, -5, 4)]:
        pre = np.clip(rng.normal(50, 15, n), 0, 100).round(1)
        post = np.clip(pre + rng.normal(gain, noise, n), 0, 100).round(1)
        r = stats.ttest_rel(post, pre)
        paired.append({"pre": pre.tolist(), "post": post.tolist(), "t": float(r.statistic), "p": float(r.pvalue),
                       "df": n - 1})
    spearman = []
    for n, strength, ties in [(10, 0.5, False), (30, 0.1, True), (100, 0.3, True), (500, 0.05, False), (8, -0.9, False)]:
        x = rng.normal(0, 1, n)
        y = strength * x + rng.normal(0, 1, n)
        if ties:
            x, y = np.round(x, 1), np.round(y, 0)
        r = stats.spearmanr(x, y)
        spearman.append({"x": x.tolist(), "y": y.tolist(), "rho": float(r.statistic), "p": float(r.pvalue)})
    mcnemar = []
    for b, c in [(12, 2), (5, 5), (0, 7), (20, 30), (40, 12), (1, 0)]:
        chi2 = (abs(b - c) - 1) ** 2 / (b + c) if b + c else None
        mcnemar.append({"b": b, "c": c, "chi2": chi2, "p_chi2": float(stats.chi2.sf(chi2, 1)),
                        "p_exact": float(stats.binomtest(b, b + c, 0.5).pvalue)})
    return {"generated_by": "scripts/make-statistics-fixtures.py", "scipy": stats.__name__ and __import__("scipy").__version__,
            "paired_t": paired, "spearman": spearman, "mcnemar": mcnemar}


def same(a, b):
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= 1e-12 * max(abs(a), abs(b), 1e-300)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def main():
    text = json.dumps(cases(), indent=1) + "\n"
    if "--check" in sys.argv:
        # Inputs must match exactly; scipy's outputs to 1e-12 relative (versions differ in the last bits).
        current = json.loads(OUT.read_text())
        fresh = json.loads(text)
        current.pop("scipy"); fresh.pop("scipy")
        if not same(current, fresh):
            print("stale: Tests/Fixtures/statistics.json differs from what scripts/make-statistics-fixtures.py computes", file=sys.stderr)
            sys.exit(1)
        return
    OUT.write_text(text)


if __name__ == "__main__":
    main()
