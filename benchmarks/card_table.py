"""Print a model card's test table (docs/models.md) from `covidseg evaluate --out` results.

    python benchmarks/card_table.py EVAL/results.json [EVAL_TTA/results.json]

Rows are in the layout `tests/evaluation/test_model_card.py` re-measures: protocol cell,
target, then Dice, Sen, Spec, IoU, Sα, Eφ, MAE at three decimals.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

NAMES = {"infection": "infection", "ggo": "GGO", "consolidation": "consolidation", "lung": "lung"}
KEYS = {
    "published": ("mean_dice", "mean_sensitivity", "mean_specificity", "mean_iou", "s_measure", "mean_e_measure", "mae"),
    "binary": ("dice", "sensitivity", "specificity", "iou", "s_measure", "e_measure", "mae"),
}


def rows(doc: dict, tta: bool) -> list[str]:
    prot = doc["protocols"]
    thr = doc["threshold"]
    plus = " + TTA" if tta else ""
    first = {
        "published": f"published{plus} (raw network map, mean over 256 thresholds)",
        "published_calibrated": f"published, calibrated{plus} (map sharpened by T = "
                                f"{prot.get('published_calibrated', {}).get('temperature')} about the threshold; "
                                f"no mask changes)",
        "binary": f"binary{plus}, as `covidseg predict`{' --tta' if tta else ''} writes (threshold {thr:.2f})",
        "binary_raw": f"raw network binary{plus} (threshold {thr:.2f}, no post-processing)",
    }
    out = []
    for key in ("published", "published_calibrated", "binary", "binary_raw"):
        table = {t: v for t, v in prot.get(key, {}).items() if t in NAMES}
        for i, (target, res) in enumerate(table.items()):
            cols = KEYS["published" if key.startswith("published") else "binary"]
            cells = [first[key] if i == 0 else "", NAMES[target]] + [f"{res['mean'][c]:.3f}" for c in cols]
            out.append("| " + " | ".join(cells) + " |")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("results", type=Path)
    ap.add_argument("tta_results", type=Path, nargs="?")
    args = ap.parse_args(argv)
    print("| protocol | target | Dice | Sen | Spec | IoU | Sα | Eφ | MAE |")
    print("|---|---|---|---|---|---|---|---|---|")
    for line in rows(json.loads(args.results.read_text()), False):
        print(line)
    if args.tta_results:
        for line in rows(json.loads(args.tta_results.read_text()), True):
            print(line)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
