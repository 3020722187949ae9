"""Where the lesion Dice is lost: test slices grouped by how much of the image is lesion.

    python benchmarks/by_lesion_size.py runs/eval/results.json [--groups 4]

Reads the per-image rows of a ``covidseg evaluate --out`` results.json and the ground-truth
infection masks of the split it names, sorts the slices by lesion area (percent of the
image) and prints the mean Dice of each equal-sized group under both protocols. The
benchmark averages Dice over images, so a slice with a small lesion weighs as much as one
with a large lesion.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", type=Path)
    ap.add_argument("--groups", type=int, default=4)
    args = ap.parse_args(argv)
    res = json.loads(args.results.read_text())
    split = Path(res["split"])
    prot = res["protocols"]
    binary = {r["name"]: r["dice"] for r in prot["binary"]["infection"]["per_image"]}
    published = {r["name"]: r["mean_dice"] for r in prot["published"]["infection"]["per_image"]}
    from covidseg.evaluation import load_ground_truth

    area = {g.name: float(g.masks["infection"].mean() * 100) for g in load_ground_truth(split)}
    missing = sorted(set(binary) - set(area))
    if missing:
        raise SystemExit(f"{split}: no infection mask for image(s) {missing}")
    rows = sorted((area[n], binary[n], published[n], n) for n in binary)
    print("| lesion area (% of image) | slices | binary Dice | published Dice |")
    print("|---|---|---|---|")
    for chunk in np.array_split(np.arange(len(rows)), args.groups):
        c = [rows[i] for i in chunk]
        print(f"| {c[0][0]:.1f}–{c[-1][0]:.1f} | {len(c)} | {np.mean([x[1] for x in c]):.3f} | "
              f"{np.mean([x[2] for x in c]):.3f} |")
    worst = sorted(rows, key=lambda x: x[1])[:5]
    print("\nlowest binary Dice: " + ", ".join(f"{n} ({d:.2f}, lesion {a:.1f} %)" for a, d, _, n in worst))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
