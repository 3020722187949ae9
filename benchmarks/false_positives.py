"""False-positive burden on healthy CT and lesion Dice on COVID-19 slices, HU filters off/on.

    python benchmarks/false_positives.py [--model FOLDER] [--data ../shared/data]

Healthy inputs (non-COVID, `ct-examples`): the cip-ct64 volume (NIfTI and DICOM series) and
the two 512x512 DICOM slices; per input and setting: lesion % of lung, lesion volume/area,
the largest connected lesion, the MosMed grade with the noise floor and without it (raw).
COVID-19 inputs: the 48 COVID-SemiSeg test slices through the same predict path (JPG: the HU
filters do not run there, so both settings must agree), pooled and mean lesion Dice, the
smallest lesion burdens, and how many slices the noise floor would call CT-0 (must be 0).
Stress test: the same slices mapped back to pseudo-HU through the model window
(grey / 255 * 1350 - 1100, as the training images were windowed) with an assumed 0.7 mm pixel,
filtered as if they were HU slices: the lesion Dice the filters would cost on COVID-19 lungs.
Prints markdown tables (docs/predict.md).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image
from scipy import ndimage as ndi

HEALTHY = ("cip-ct64.nii.gz", "cip-ct64-dicom", "cip-chest-512-dicom/slice001.dcm", "cip-chest-512-dicom/slice002.dcm")
PSEUDO_PIXEL_MM = 0.7


def _settings():
    from covidseg.inference.postprocess import LesionFilterConfig

    return {"filters off": LesionFilterConfig(vessels=False, dependent=False), "filters on": LesionFilterConfig()}


def healthy_table(model, data: Path) -> list[str]:
    from covidseg import Segmenter
    from covidseg.io import read_image

    rows = ["| input | HU filters | lung | lesion | lesion % of lung | largest lesion | removed (vessels / dependent) "
            "| MosMed (floor) | raw MosMed | floor applied |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name, cfg in _settings().items():
        seg = Segmenter(model, lesion_filters=cfg)
        for item in HEALTHY:
            pred = seg.predict(read_image(data / "ct-examples" / item))
            m, sev = pred.measurements, pred.measurements.severity
            pct = "–" if m.whole.lesion_percent is None else f"{m.whole.lesion_percent:.2f}"
            removed = "–" if pred.lesion_filtered is None else \
                f"{pred.lesion_filtered['vessels']:.1f} / {pred.lesion_filtered['dependent']:.1f}"
            rows.append(f"| {item} | {name} | {m.whole.lung:.1f} {m.unit} | {m.whole.lesion:.1f} | {pct} | "
                        f"{sev.largest_lesion:.1f} | {removed} | {sev.mosmed_grade} | {sev.raw_mosmed_grade} | "
                        f"{sev.noise_floor_applied} |")
    return rows


def _dice_sums(pred: np.ndarray, gt: np.ndarray) -> tuple[int, int]:
    return int((pred & gt).sum()), int(pred.sum() + gt.sum())


def covid_tables(model, data: Path) -> list[str]:
    from covidseg import Segmenter
    from covidseg.inference.postprocess import LesionFilterConfig, filter_hu_lesions

    test = data / "covid-semiseg" / "test"
    images = sorted((test / "images").glob("*.jpg"), key=lambda p: int(p.stem))
    rows = ["| 48 test slices | HU filters | pooled lesion Dice | mean lesion Dice | smallest lesion % of lung "
            "| smallest largest lesion (px) | CT-0 by the floor |", "|---|---|---|---|---|---|---|"]
    kept = {}
    for name, cfg in _settings().items():
        seg = Segmenter(model, lesion_filters=cfg)
        inter = total = 0
        dices, pcts, largest, ct0 = [], [], [], 0
        for path in images:
            pred = seg.predict(path)
            gt = np.array(Image.open(test / "infection" / f"{path.stem}.png")) > 127
            i, t = _dice_sums(pred.lesion, gt)
            inter, total = inter + i, total + t
            dices.append(2 * i / t if t else 1.0)
            sev = pred.measurements.severity
            pcts.append(pred.measurements.whole.lesion_percent or 0.0)
            largest.append(sev.largest_lesion)
            ct0 += sev.mosmed_grade == "CT-0"
            kept[path.stem] = (pred.lesion, pred.lung, gt)
        rows.append(f"| predict path (JPG) | {name} | {2 * inter / total:.4f} | {np.mean(dices):.4f} | "
                    f"{min(pcts):.2f} | {min(largest):.0f} | {ct0} |")
    # stress test: the same predictions filtered as pseudo-HU slices
    cfg = LesionFilterConfig()
    inter0 = total0 = inter1 = total1 = 0
    d0, d1 = [], []
    for path in images:
        lesion, lung, gt = kept[path.stem]
        hu = np.asarray(Image.open(path).convert("L"), np.float32) / 255.0 * 1350.0 - 1100.0
        filtered, _ = filter_hu_lesions(hu, lesion, lung, (PSEUDO_PIXEL_MM,) * 2, ("P", "L"), cfg)
        for pred, acc in ((lesion, 0), (filtered, 1)):
            i, t = _dice_sums(pred, gt)
            (d0 if acc == 0 else d1).append(2 * i / t if t else 1.0)
            if acc == 0:
                inter0, total0 = inter0 + i, total0 + t
            else:
                inter1, total1 = inter1 + i, total1 + t
    rows.append(f"| pseudo-HU stress test | filters off | {2 * inter0 / total0:.4f} | {np.mean(d0):.4f} | | | |")
    rows.append(f"| pseudo-HU stress test | filters on | {2 * inter1 / total1:.4f} | {np.mean(d1):.4f} | | | |")
    return rows


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None, help="model folder (default: shipped weights)")
    ap.add_argument("--data", type=Path, default=Path(__file__).resolve().parents[1] / ".." / "shared" / "data")
    args = ap.parse_args(argv)
    print("\n".join(healthy_table(args.model, args.data)))
    print()
    print("\n".join(covid_tables(args.model, args.data)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
