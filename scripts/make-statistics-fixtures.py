#!/usr/bin/env python3
"""Writes Tests/Fixtures/statistics.json: paired, one-sample and Welch t-tests, Spearman
correlations, McNemar tests, t and normal quantiles, noncentral t, KR-20 / Cronbach's alpha, the
reliable change index and Morris's d_ppc2 variance on seeded random data, computed by scipy/numpy
(independently of the Swift code), for the Swift statistics tests to match.
Run by hand after changing the cases (`python3 scripts/make-statistics-fixtures.py`);
`--check` fails when the committed file differs (make test runs it when scipy is present)."""
import json
import pathlib
import sys

import numpy as np
from scipy import optimize, special, stats

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
    out = {"generated_by": "scripts/make-statistics-fixtures.py", "scipy": stats.__name__ and __import__("scipy").__version__,
           "paired_t": paired, "spearman": spearman, "mcnemar": mcnemar}
    out.update(inference_cases())
    return out


def dz_interval(t, n, confidence):
    """Exact CI of d_z: the noncentralities with nct.cdf(t, n-1, lam) = (1+c)/2 and (1-c)/2, over sqrt(n).
    For |t| > 1000 the Swift code (documented) switches to the normal approximation
    d_z +- z * sqrt(1/n + d_z^2/(2n)); so does this, computed here from that formula."""
    df = n - 1
    if abs(t) > 1000:
        dz = t / np.sqrt(n)
        se = np.sqrt(1 / n + dz ** 2 / (2 * n))
        z = stats.norm.ppf((1 + confidence) / 2)
        return dz - z * se, dz + z * se

    def solve(target):
        f = lambda lam: stats.nct.cdf(t, df, lam) - target
        lo, hi = t - 1 - abs(t), t + 1 + abs(t)
        while f(lo) < 0:
            lo -= 1 + abs(lo)
        while f(hi) > 0:
            hi += 1 + abs(hi)
        return optimize.brentq(f, lo, hi, xtol=1e-14, rtol=1e-15, maxiter=500)

    return solve((1 + confidence) / 2) / np.sqrt(n), solve((1 - confidence) / 2) / np.sqrt(n)


def morris_variance(d, n_t, n_c, rho):
    """Morris (2008) eq. 25 as published, with the estimate d in place of delta."""
    n = n_t + n_c
    cp = 1 - 3 / (4 * (n - 2) - 1)
    a = n / (n_t * n_c)
    return 2 * cp ** 2 * (1 - rho) * a * ((n - 2) / (n - 4)) * (1 + d ** 2 / (2 * (1 - rho) * a)) - d ** 2


def check_morris_variance(rng):
    """Eq. 25 against (1) the exact variance of c_p * d (a scaled noncentral t under Morris's model)
    and (2) a Monte Carlo of pre/post bivariate normal data. Raises when either is off."""
    for n_t, n_c, rho, delta in [(20, 20, 0.5, 0.5), (10, 15, 0.8, 1.0), (50, 42, 0.2, 0.0)]:
        n = n_t + n_c
        cp = 1 - 3 / (4 * (n - 2) - 1)
        scale = np.sqrt(2 * (1 - rho) * n / (n_t * n_c))
        exact = cp ** 2 * scale ** 2 * stats.nct.var(n - 2, delta / scale)
        formula = morris_variance(delta, n_t, n_c, rho)
        # eq. 25 uses c_p^2 E[d^2] - delta^2 (E[c_p d] = delta only approximately): within 1 %.
        assert abs(formula - exact) <= 0.01 * exact, (n_t, n_c, rho, delta, formula, exact)
        reps = 20000
        cov = [[1, rho], [rho, 1]]

        def group(size, gain):
            x = rng.multivariate_normal([0, gain], cov, size=(reps, size))
            return x[..., 0], x[..., 1]

        pre_t, post_t = group(n_t, delta)
        pre_c, post_c = group(n_c, 0.0)
        pooled = np.sqrt(((n_t - 1) * pre_t.var(axis=1, ddof=1) + (n_c - 1) * pre_c.var(axis=1, ddof=1)) / (n - 2))
        d = cp * ((post_t.mean(1) - pre_t.mean(1)) - (post_c.mean(1) - pre_c.mean(1))) / pooled
        # the Monte Carlo variance has a relative standard error of about sqrt(2 / reps) = 1 %: allow 5 %.
        assert abs(d.var() - formula) <= 0.05 * formula, (n_t, n_c, rho, delta, d.var(), formula)


def append_one_sample(one_sample, xs, mu, confidence):
    n = len(xs)
    greater = stats.ttest_1samp(xs, mu, alternative="greater")
    two = stats.ttest_1samp(xs, mu)
    ci = two.confidence_interval(confidence)
    dz = (xs.mean() - mu) / xs.std(ddof=1)
    lo, hi = dz_interval(float(two.statistic), n, confidence)
    one_sample.append({"xs": xs.tolist(), "mu": mu, "confidence": confidence, "t": float(two.statistic),
                       "df": n - 1, "p_one": float(greater.pvalue), "p_two": float(two.pvalue),
                       "ci_lower": float(ci.low), "ci_upper": float(ci.high),
                       "dz": float(dz), "dz_lower": float(lo), "dz_upper": float(hi)})


def inference_cases():
    rng = np.random.default_rng(20260305)
    one_sample = []
    for n, mean, sd, mu, confidence in [(2, 3.0, 2.0, 0.0, 0.95), (3, 1.0, 4.0, 0.0, 0.95), (8, 5.0, 10.0, 0.0, 0.95),
                                        (25, 0.4, 1.0, 0.0, 0.90), (60, 12.0, 15.0, 5.0, 0.95),
                                        (150, -0.2, 1.0, 0.0, 0.99), (400, 0.9, 1.1, 0.0, 0.95)]:
        xs = rng.normal(mean, sd, n).round(2)
        append_one_sample(one_sample, xs, mu, confidence)
    # Nearly constant (sd 8e-5 around 50, not zero up to rounding): t ~ 6e6, the approximate d_z CI.
    append_one_sample(one_sample, 50 + np.tile([0.0, 1e-4, 2e-4], 34)[:100], 0.0, 0.95)
    welch = []
    for (na, ma, sa), (nb, mb, sb), confidence in [((2, 70, 5), (2, 60, 12), 0.95), ((3, 65, 10), (2, 60, 3), 0.95),
                                                   ((3, 50, 8), (3, 55, 20), 0.95), ((12, 72, 9), (30, 64, 15), 0.95),
                                                   ((45, 61, 20), (18, 60, 6), 0.90), ((200, 70, 12), (150, 67, 14), 0.99)]:
        a = rng.normal(ma, sa, na).round(1)
        b = rng.normal(mb, sb, nb).round(1)
        greater = stats.ttest_ind(a, b, equal_var=False, alternative="greater")
        two = stats.ttest_ind(a, b, equal_var=False)
        ci = two.confidence_interval(confidence)
        # Hedges' g, computed here from the textbook formulas (exact J from gamma functions).
        m = na + nb - 2
        pooled = np.sqrt(((na - 1) * a.var(ddof=1) + (nb - 1) * b.var(ddof=1)) / m)
        j = np.exp(special.gammaln(m / 2) - special.gammaln((m - 1) / 2)) / np.sqrt(m / 2)
        g = j * (a.mean() - b.mean()) / pooled
        se = np.sqrt((na + nb) / (na * nb) + g ** 2 / (2 * (na + nb)))
        z = stats.norm.ppf((1 + confidence) / 2)
        welch.append({"a": a.tolist(), "b": b.tolist(), "confidence": confidence, "t": float(two.statistic),
                      "df": float(two.df), "p_one": float(greater.pvalue), "p_two": float(two.pvalue),
                      "ci_lower": float(ci.low), "ci_upper": float(ci.high),
                      "g": float(g), "g_lower": float(g - z * se), "g_upper": float(g + z * se)})
    t_quantiles = [{"p": p, "df": df, "x": float(stats.t.ppf(p, df)), "upper_at_x": float(stats.t.sf(stats.t.ppf(p, df), df))}
                   for p, df in [(0.975, 1), (0.975, 2), (0.975, 4), (0.95, 9), (0.995, 29), (0.025, 3.7),
                                 (0.9, 1.3), (0.999, 57.25), (0.5 + 1e-6, 10), (1e-8, 5), (0.3, 0.6), (0.975, 1e5)]]
    t_upper = [{"t": t, "df": df, "upper": float(stats.t.sf(t, df))}
               for t, df in [(0.0, 5), (1.0, 1), (-1.0, 1), (2.5, 3.7), (-2.5, 3.7), (12.0, 8), (40.0, 120.5),
                             (1e-4, 30), (-6.0, 2.2), (3.0, 1e6)]]
    normal_quantiles = [{"p": p, "x": float(stats.norm.ppf(p))}
                        for p in [1e-300, 1e-12, 1e-6, 0.001, 0.02425, 0.025, 0.3, 0.5 - 1e-9, 0.7, 0.95, 0.975, 0.999999]]
    noncentral_t = [{"t": t, "df": df, "delta": delta, "cdf": float(stats.nct.cdf(t, df, delta))}
                    for t, df, delta in [(2.0, 10, 1.0), (2.0, 10, -1.0), (-1.5, 4, 0.5), (30.0, 80, 28.0),
                                         (0.5, 2, 3.0), (5.0, 199, 2.0), (0.001, 5, 0.2), (-3.0, 19, -4.0),
                                         (1.0, 1, 0.0), (0.3, 7, 25.0), (150.0, 300, 147.0)]]
    reliability = []
    # 0/1 items from a Rasch-like model: 60 respondents x 10 items.
    ability = rng.normal(0, 1, (60, 1))
    difficulty = np.linspace(-1.5, 1.5, 10)
    binary = (rng.random((60, 10)) < 1 / (1 + np.exp(-(ability - difficulty)))).astype(float)
    # Likert 1-5 from a common factor: 40 respondents x 6 items.
    factor = rng.normal(0, 1, (40, 1))
    likert = np.clip(np.round(3 + factor + rng.normal(0, 0.9, (40, 6))), 1, 5)
    # a small 0/1 matrix with weak items.
    small = (rng.random((6, 4)) < 0.5).astype(float)
    for x, dichotomous in [(binary, True), (likert, False), (small, True)]:
        k = x.shape[1]
        total = x.sum(axis=1)
        alpha = k / (k - 1) * (1 - x.var(axis=0, ddof=1).sum() / total.var(ddof=1))
        entry = {"responses": x.tolist(), "alpha": float(alpha), "kr20": None}
        if dichotomous:
            # KR-20 as in the textbook: p q per item over the population (n) variance of the total.
            p = x.mean(axis=0)
            entry["kr20"] = float(k / (k - 1) * (1 - (p * (1 - p)).sum() / total.var(ddof=0)))
        reliability.append(entry)
    rci = []
    for sd_pre, rel, pre, post in [(10.0, 0.8, 50.0, 62.0), (10.0, 0.8, 50.0, 56.0), (10.0, 0.8, 70.0, 55.0),
                                   (4.5, 0.0, 20.0, 31.0), (15.0, 0.95, 40.0, 40.0), (7.2, 0.67, 81.0, 64.5)]:
        se = sd_pre * np.sqrt(2) * np.sqrt(1 - rel)
        index = (post - pre) / se
        cls = "reliableImprovement" if index > 1.96 else "reliableDecline" if index < -1.96 else "noReliableChange"
        rci.append({"sd_pre": sd_pre, "reliability": rel, "pre": pre, "post": post, "se_diff": float(se),
                    "index": float(index), "class": cls})
    morris = [{"d": d, "nT": n_t, "nC": n_c, "rho": rho, "variance": float(morris_variance(d, n_t, n_c, rho))}
              for d, n_t, n_c, rho in [(0.768, 20, 20, 0.5), (0.801, 50, 42, 0.3), (1.205, 9, 9, 0.7),
                                       (-0.4, 3, 2, 0.0), (0.0, 100, 80, 0.9), (1.048, 10, 11, -0.5)]]
    check_morris_variance(np.random.default_rng(1))
    return {"one_sample_t": one_sample, "welch_t": welch, "t_quantiles": t_quantiles, "t_upper": t_upper,
            "normal_quantiles": normal_quantiles, "noncentral_t": noncentral_t, "reliability": reliability,
            "reliable_change": rci, "morris_variance": morris}


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
