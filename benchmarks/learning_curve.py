"""Does the number of labelled slices limit the lesion Dice? MA-UNet trained on 10, 20, 30 of the
40 training slices with the ablation's schedule, against the 40-slice ablation rows.

    python benchmarks/learning_curve.py run --only n10-s0 n20-s0   # resumable, like ablation.py run
    python benchmarks/learning_curve.py table                      # markdown table + log-linear fit

Every point uses ``configs/ablation/base.yaml`` unchanged (same 4,800 samples, so fewer slices
means more passes over each) plus ``--train-count N``, which takes a seeded subset of the
training slices and keeps the 10 validation slices; the 40-slice point is the ablation's
``maunet`` row (seeds 0 and 1). Evaluations go to ``benchmarks/results/learning_curve/``.
The fit of Dice against log2(slices) is a rough extrapolation from few points, printed as such.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from ablation import RESULTS as ABLATION, ROOT, ROW, train_and_evaluate  # noqa: E402

RUNS = ROOT / "runs" / "learning_curve"
RESULTS = ROOT / "benchmarks" / "results" / "learning_curve"
COUNTS = (10, 20, 30)
QUEUE = [f"n{n}-s0" for n in COUNTS]


def split_job(job: str) -> tuple[int, int]:
    head, _, seed = job.rpartition("-s")
    if not (head.startswith("n") and head[1:].isdigit() and seed.isdigit()):
        raise SystemExit(f"learning_curve: unknown job {job!r} (e.g. n10-s0)")
    return int(head[1:]), int(seed)


def run_job(job: str, threads: int) -> Path:
    count, seed = split_job(job)
    flags = [*ROW["maunet"].flags(), "--train-count", str(count), "--seed", str(seed)]
    record = {"point": {"job": job, "train_count": count, "seed": seed}}
    return train_and_evaluate(job, RUNS / job, RESULTS / f"{job}.json", flags, threads, record)


def points() -> list[dict]:
    """One row per evaluated run: slices, seed, val Dice, test Dice under both protocols."""
    rows = []
    files = sorted(RESULTS.glob("n*-s*.json")) + sorted(ABLATION.glob("maunet-s*.json"))
    for f in files:
        r = json.loads(f.read_text())
        count = r["point"]["train_count"] if "point" in r else 40
        seed = r["point"]["seed"] if "point" in r else r["row"]["seed"]
        p = r["protocols"]
        rows.append({"slices": count, "seed": seed, "val_dice": r["training"]["val_dice"],
                     "published": p["published"]["infection"]["mean"]["mean_dice"],
                     "binary": p["binary"]["infection"]["mean"]["dice"]})
    return sorted(rows, key=lambda r: (r["slices"], r["seed"]))


def table(rows: list[dict]) -> str:
    lines = ["| training slices | seed | val Dice | test published Dice | test binary Dice |", "|---|---|---|---|---|"]
    lines += [f"| {r['slices']} | {r['seed']} | {r['val_dice']:.3f} | {r['published']:.3f} | {r['binary']:.3f} |"
              for r in rows]
    out = "\n".join(lines) + "\n"
    if len({r["slices"] for r in rows}) >= 3:
        x = np.log2([r["slices"] for r in rows])
        for key in ("published", "binary"):
            slope, icept = np.polyfit(x, [r[key] for r in rows], 1)
            need = 2 ** ((0.80 - icept) / slope) if slope > 0 else float("inf")
            out += (f"\n{key}: {slope:+.3f} Dice per doubling of the labelled slices (least squares over "
                    f"{len(rows)} runs); a straight-line extrapolation reaches 0.80 at about {need:.0f} slices.")
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="train and evaluate the missing points")
    r.add_argument("--only", nargs="*", default=None, help=f"jobs (default: {' '.join(QUEUE)})")
    r.add_argument("--threads", type=int, default=2)
    sub.add_parser("table", help="print the learning curve as a markdown table")
    args = p.parse_args(argv)
    if args.cmd == "run":
        for job in args.only or QUEUE:
            run_job(job, args.threads)
        return 0
    print(table(points()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
