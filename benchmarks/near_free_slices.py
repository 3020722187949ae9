"""False-positive probe on real slices that are nearly free of lesion, through the predict path.

    python benchmarks/near_free_slices.py [--n 100] [--max-label 0.001] MODEL [MODEL ...]

MODEL is a model folder or ``shipped``. The slices are those of COVID-SemiSeg ``unlabeled/``
(COVID-19-CT-Seg volumes, other scanners than the labelled slices) whose Semi-Inf-Net machine
label covers less than ``--max-label`` of the image, ``--n`` of them drawn with seed 0, as stored
(like every COVID-SemiSeg slice they are the transpose of radiological display, here also
mirrored: the spine at the left edge; the networks are trained on such slices, left-right
flips included, and plain images go to them as stored: ``covidseg.io.slice_axes``).
Prints, per model and at its own threshold, the mean and median lesion share of the network
lung and how many slices show any lesion. Models trained on these slices (with any labels)
are favoured by it; docs/results.md, session 6.
"""

from __future__ import annotations

import argparse
import random
from pathlib import Path

import numpy as np
from PIL import Image

UNLABELED = Path(__file__).resolve().parents[2] / "shared" / "data" / "covid-semiseg" / "unlabeled"


def near_free(unlabeled: Path, max_label: float, n: int) -> list[Path]:
    """``n`` images (seed 0) whose machine label covers less than ``max_label`` of the image."""
    names = [p for p in sorted((unlabeled / "pseudo-infection").glob("*.png"))
             if (np.asarray(Image.open(p)) > 127).mean() < max_label]
    random.seed(0)
    return [next((unlabeled / "images").glob(p.stem + ".*")) for p in random.sample(names, min(n, len(names)))]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("models", nargs="+")
    ap.add_argument("--unlabeled", type=Path, default=UNLABELED)
    ap.add_argument("--n", type=int, default=100)
    ap.add_argument("--max-label", type=float, default=0.001)
    args = ap.parse_args(argv)
    from covidseg import Segmenter

    paths = near_free(args.unlabeled, args.max_label, args.n)
    print(f"{len(paths)} slices whose machine label covers < {args.max_label:.1%} of the image")
    for model in args.models:
        seg = Segmenter(None if model == "shipped" else model)
        shares, hit = [], 0
        for path in paths:
            pred = seg.predict(path)
            lung, lesion = int((pred.lung > 0).sum()), int((pred.lesion > 0).sum())
            shares.append(lesion / lung if lung else 0.0)
            hit += lesion > 0
        s = 100 * np.asarray(shares)
        print(f"{model}: lesion {s.mean():.2f} % of lung (median {np.median(s):.2f} %), "
              f"slices with any lesion {hit}/{len(paths)}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
