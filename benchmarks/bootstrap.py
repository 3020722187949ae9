"""How far apart two evaluations really are: bootstrap intervals over the test images.

    python benchmarks/bootstrap.py runs/eval_new/results.json [runs/eval_old/results.json]

Reads ``results.json`` files written by ``covidseg evaluate --out`` and resamples the images
(10,000 times, seed 0). For one file it prints the mean lesion Dice under both protocols
with a 95% percentile interval; for two it also prints the paired difference (first minus
second, same images in each resample) and how often the difference was <= 0. With 48 test
slices the interval of one model is about +-0.04 wide, which is why the docs report
differences smaller than that as ties.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

KEYS = {"binary": "dice", "published": "mean_dice"}


def per_image(path: Path, protocol: str, target: str) -> dict[str, float]:
    res = json.loads(path.read_text())
    rows = res["protocols"][protocol][target]["per_image"]
    return {r["name"]: float(r[KEYS[protocol]]) for r in rows}


def interval(samples: np.ndarray) -> str:
    lo, hi = np.percentile(samples, [2.5, 97.5])
    return f"[{lo:.3f}, {hi:.3f}]"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", nargs="+", type=Path, help="one or two results.json files")
    ap.add_argument("--target", default="infection")
    ap.add_argument("--n", type=int, default=10_000, help="bootstrap resamples [10000]")
    args = ap.parse_args(argv)
    if len(args.results) > 2:
        ap.error("give one or two results.json files")
    rng = np.random.default_rng(0)
    for protocol in KEYS:
        values = [per_image(p, protocol, args.target) for p in args.results]
        names = sorted(set.intersection(*(set(v) for v in values)))
        if any(len(v) != len(names) for v in values):
            ap.error("the files were evaluated on different images")
        arr = np.array([[v[n] for n in names] for v in values])  # (files, images)
        idx = rng.integers(0, len(names), (args.n, len(names)))
        means = arr[:, idx].mean(-1)  # (files, n)
        for p, m, full in zip(args.results, means, arr.mean(1)):
            print(f"{protocol:9s} {args.target} Dice {full:.3f} 95% CI {interval(m)}  {p}")
        if len(args.results) == 2:
            d = means[0] - means[1]
            print(f"{protocol:9s} difference {arr[0].mean() - arr[1].mean():+.3f} 95% CI {interval(d)}, "
                  f"P(difference <= 0) = {(d <= 0).mean():.3f}  ({len(names)} images)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
