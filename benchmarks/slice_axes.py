"""Out-of-fold cost of handing a network its slices the wrong way round.

    python benchmarks/slice_axes.py runs/cv/all-e300 [--threshold 0.35]

Every fold model of a finished ``benchmarks/cv.py train`` scores its own validation slices three
ways: as stored (the COVID-SemiSeg axes it was trained on), transposed (radiological display,
how NIfTI/DICOM slices reached the networks before ``covidseg.io.slice_axes``), and turned by
90 degrees; the probabilities are turned back before scoring. Prints mean lesion and lung Dice.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cv import TRAIN, _dice, fold_models  # noqa: E402
from select_on_val import link_view  # noqa: E402

TURNS = {
    "as stored": (lambda a: a, lambda a: a),
    "transposed (display)": (lambda a: np.swapaxes(a, 0, 1), lambda a: np.swapaxes(a, 0, 1)),
    "turned by 90 degrees": (lambda a: np.rot90(a, 1), lambda a: np.rot90(a, -1)),
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("root", type=Path, help="root of a finished cv train (foldK/model)")
    ap.add_argument("--train", type=Path, default=TRAIN)
    ap.add_argument("--threshold", type=float, default=0.35)
    args = ap.parse_args(argv)
    from covidseg.evaluation import load_ground_truth
    from covidseg.evaluation.evaluate import predict_probabilities
    from covidseg.models import load_pretrained

    scores: dict[str, list[tuple[float, float]]] = {name: [] for name in TURNS}
    for model_dir in fold_models(args.root):
        names = json.loads((model_dir / "config.json").read_text())["metadata"]["validation"]["names"]
        net = load_pretrained(model_dir).eval()
        with tempfile.TemporaryDirectory() as tmp:
            for gt in load_ground_truth(link_view(args.train, names, Path(tmp) / "val")):
                for name, (turn, back) in TURNS.items():
                    p = predict_probabilities(net, np.ascontiguousarray(turn(gt.image)))
                    scores[name].append((_dice(back(p["infection"]) > args.threshold, gt.masks["infection"]),
                                         _dice(back(p["lung"]) > 0.5, gt.masks["lung"])))
    for name, rows in scores.items():
        r = np.asarray(rows)
        print(f"{name:22s} lesion Dice {r[:, 0].mean():.4f}  lung Dice {r[:, 1].mean():.4f}  ({len(r)} slices)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
