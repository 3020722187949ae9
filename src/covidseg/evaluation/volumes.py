"""Whole-volume evaluation (issue 14.4): CT volumes against reference label maps.

``evaluate_volumes(pairs, model=None)`` runs the Segmenter on each volume exactly as
``covidseg predict`` does and compares its masks with the reference in 3-D: Dice of lesion,
lung, GGO and consolidation (those the reference has), lesion volume error in mL, and the
MosMed severity grade of both (covidseg.quantify). Layout and label convention:
docs/evaluation.md "Whole volumes".

Pairs are a folder in the training layout with NIfTI volumes::

    <folder>/images/<case>.nii.gz      CT in Hounsfield units
    <folder>/infection/<case>.nii.gz   lesion: 0 background, 1 lesion
    <folder>/classes/<case>.nii.gz     lesion type: 0 background, 1 GGO, 2 consolidation
    <folder>/lung/<case>.nii.gz        lung: 0 background, 1 lung (or right lung), 2 left lung

(``infection/`` or ``classes/`` is required; ``lung/`` optional), or a CSV file with a header
``image`` and any of ``infection``, ``classes``, ``lung`` (and optionally ``case``), paths
relative to the CSV's folder.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from covidseg.errors import EmptyFolderError, FileMissingError, InputError
from covidseg.io.formats import NIFTI_SUFFIXES

__all__ = ["LABELS", "VolumeCase", "VolumeEvaluation", "find_pairs", "read_label", "evaluate_volumes"]

#: allowed values of each reference label map (anything else is refused with the file named)
LABELS: dict[str, dict[int, str]] = {
    "infection": {0: "background", 1: "lesion"},
    "classes": {0: "background", 1: "GGO", 2: "consolidation"},
    "lung": {0: "background", 1: "lung (or right lung)", 2: "left lung"},
}
VOLUME_SUFFIXES = NIFTI_SUFFIXES  # reference label maps: NIfTI only (covidseg.io.formats)
AFFINE_TOLERANCE_MM = 1e-3  # voxel-to-world agreement between image and label (mm)
TARGETS = ("infection", "ggo", "consolidation", "lung")


@dataclass(frozen=True)
class VolumeCase:
    """One CT volume and its reference label maps (kind -> path)."""

    name: str
    image: Path
    labels: dict[str, Path]


def _stem(path: Path) -> str:
    name = path.name
    for suf in VOLUME_SUFFIXES:
        if name.lower().endswith(suf):
            return name[: -len(suf)]
    return path.stem


def find_pairs(source: str | Path) -> list[VolumeCase]:
    """The cases of a pairs folder or CSV (layout in the module docstring)."""
    source = Path(source)
    if not source.exists():
        raise FileMissingError("volume pairs folder or CSV does not exist", source)
    cases = _pairs_from_csv(source) if source.is_file() else _pairs_from_folder(source)
    if not cases:
        raise EmptyFolderError("no image/label pairs found", source)
    names = [c.name for c in cases]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError(f"case names must be unique; repeated: {dup}", source)
    for c in cases:
        if not ({"infection", "classes"} & set(c.labels)):
            raise InputError(f"case {c.name!r} has no lesion reference (infection or classes label map)", source)
    return cases


def _pairs_from_folder(folder: Path) -> list[VolumeCase]:
    images = folder / "images"
    if not images.is_dir():
        raise FileMissingError("no images/ folder (expected images/ + infection/ or classes/ [+ lung/])", folder)
    kinds = [k for k in LABELS if (folder / k).is_dir()]
    if not ({"infection", "classes"} & set(kinds)):
        raise FileMissingError("no infection/ or classes/ label folder to evaluate against", folder)
    cases = []
    for path in sorted(p for p in images.iterdir() if p.is_file() and p.name.lower().endswith(VOLUME_SUFFIXES)):
        stem = _stem(path)
        labels = {}
        for kind in kinds:
            found = [folder / kind / f"{stem}{suf}" for suf in VOLUME_SUFFIXES if (folder / kind / f"{stem}{suf}").is_file()]
            if not found:
                raise FileMissingError(f"no {kind} label map for image {path.name}", folder / kind)
            labels[kind] = found[0]
        cases.append(VolumeCase(stem, path, labels))
    if not cases:
        raise EmptyFolderError("images/ holds no .nii/.nii.gz volume", images)
    return cases


def _pairs_from_csv(path: Path) -> list[VolumeCase]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            reader = csv.DictReader(fh)
            rows = list(reader)
            header = [(h or "").strip() for h in (reader.fieldnames or [])]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise InputError(f"cannot read the pairs CSV ({exc})", path) from None
    if not rows:
        raise EmptyFolderError("the pairs CSV has no rows", path)
    unknown = sorted(set(header) - {"case", "image", *LABELS})
    if "image" not in header or unknown:
        raise InputError(f"pairs CSV header must name 'image' and any of {sorted(LABELS)} (optional 'case'); "
                         f"got {header}", path)
    cases = []
    for n, row in enumerate(rows, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in row.items()}
        if not row.get("image"):
            raise InputError(f"line {n}: empty 'image' cell", path)
        image = (path.parent / row["image"]).resolve()
        labels = {k: (path.parent / row[k]).resolve() for k in LABELS if row.get(k)}
        for f in (image, *labels.values()):
            if not f.is_file():
                raise FileMissingError(f"line {n} of {path.name} names a file that does not exist", f)
        cases.append(VolumeCase(row.get("case") or _stem(image), image, labels))
    return cases


def read_label(path: Path, kind: str, image) -> np.ndarray:
    """A reference label map in ``image``'s canonical grid (uint8), checked against the image
    (shape and voxel-to-world geometry) and against the label values allowed for ``kind``."""
    from covidseg.io import read_image

    label = read_image(path)
    if label.array.shape != image.array.shape:
        raise InputError(f"{kind} label map has shape {label.array.shape}, the image {image.source.name} has "
                         f"{image.array.shape} (z, y, x)", path)
    if image.affine is not None and label.affine is not None and not np.allclose(
            label.affine, image.affine, atol=AFFINE_TOLERANCE_MM):
        worst = float(np.abs(np.asarray(label.affine) - np.asarray(image.affine)).max())
        raise InputError(f"{kind} label map geometry (affine) differs from image {image.source.name} by up to "
                         f"{worst:.3g} mm: not voxel-aligned", path)
    values = np.unique(label.array)
    allowed = LABELS[kind]
    bad = [v for v in values.tolist() if v not in allowed]
    if bad:
        shown = ", ".join(f"{v:g}" for v in bad[:5]) + (" ..." if len(bad) > 5 else "")
        legend = ", ".join(f"{k} {v}" for k, v in allowed.items())
        raise InputError(f"{kind} label values {shown} outside the allowed set ({legend})", path)
    return label.array.astype(np.uint8)


def _dice(pred: np.ndarray, ref: np.ndarray) -> float:
    p, r = int(np.count_nonzero(pred)), int(np.count_nonzero(ref))
    if p + r == 0:
        return 1.0  # both empty: the same convention as the slice protocol
    return 2.0 * int(np.count_nonzero(pred & ref)) / (p + r)


def _references(case: VolumeCase, image) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    if "classes" in case.labels:
        cls = read_label(case.labels["classes"], "classes", image)
        out["ggo"], out["consolidation"] = cls == 1, cls == 2
        out["infection"] = cls > 0
    if "infection" in case.labels:
        inf = read_label(case.labels["infection"], "infection", image) > 0
        if "infection" in out and not np.array_equal(inf, out["infection"]):
            raise InputError("infection label map differs from classes > 0 of the same case", case.labels["infection"])
        out["infection"] = inf
    if "lung" in case.labels:
        out["lung"] = read_label(case.labels["lung"], "lung", image) > 0
    return out


def _case_row(case: VolumeCase, pred, refs: dict[str, np.ndarray], severity) -> dict:
    from covidseg.quantify import measure

    image = pred.image
    voxel_ml = float(np.prod(image.spacing)) / 1000.0 if image.spacing is not None else math.nan
    masks = {"infection": pred.lesion, "lung": pred.lung}
    if pred.classes is not None:
        masks["ggo"], masks["consolidation"] = pred.classes == 1, pred.classes == 2
    row: dict = {"case": case.name}
    for t in TARGETS:
        if t in refs and masks.get(t) is not None:
            row[f"dice_{t}"] = _dice(np.asarray(masks[t], bool), refs[t])
    pred_ml = float(np.count_nonzero(pred.lesion)) * voxel_ml
    ref_ml = float(np.count_nonzero(refs["infection"])) * voxel_ml
    row.update(lesion_ml_pred=pred_ml, lesion_ml_ref=ref_ml, lesion_ml_error=pred_ml - ref_ml,
               lesion_ml_abs_error=abs(pred_ml - ref_ml))
    # Reference grade: the reference lesion within the reference lung (the predicted lung when
    # the pairs have none), graded by the same code and thresholds as predict's report.
    ref_lung = refs.get("lung", np.asarray(pred.lung, bool))
    ref_m = measure(ref_lung, refs["infection"], spacing=image.spacing, severity=severity)
    pm = pred.measurements
    row.update(lesion_percent_pred=pm.whole.lesion_percent, lesion_percent_ref=ref_m.whole.lesion_percent,
               grade_pred=pm.severity.mosmed_grade, grade_ref=ref_m.severity.mosmed_grade,
               grade_match=pm.severity.mosmed_grade == ref_m.severity.mosmed_grade,
               reference_lung="reference" if "lung" in refs else "predicted")
    return row


def _mean_sd(values: list[float]) -> dict:
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], np.float64)
    if not v.size:
        return {"mean": None, "sd": None, "n": 0}
    return {"mean": float(v.mean()), "sd": float(v.std(ddof=1)) if v.size > 1 else 0.0, "n": int(v.size)}


SUMMARY_KEYS = ("dice_infection", "dice_ggo", "dice_consolidation", "dice_lung", "lesion_ml_error",
                "lesion_ml_abs_error", "lesion_percent_pred", "lesion_percent_ref")


@dataclass
class VolumeEvaluation:
    source: str
    model: list[dict]
    cases: list[dict] = field(default_factory=list)

    @property
    def summary(self) -> dict:
        out = {k: _mean_sd([c.get(k) for c in self.cases]) for k in SUMMARY_KEYS if any(k in c for c in self.cases)}
        out["grade_agreement"] = {"matches": sum(bool(c["grade_match"]) for c in self.cases), "n": len(self.cases)}
        return out

    def to_dict(self) -> dict:
        return {"pairs": self.source, "models": self.model, "n_cases": len(self.cases),
                "protocol": "3-D, masks as covidseg predict writes them; Dice per case (1 when both are empty), "
                            "lesion volume error = predicted - reference (mL), MosMed grade of both",
                "summary": self.summary, "cases": self.cases}

    def markdown(self) -> str:
        lines = [f"# Whole-volume evaluation on `{self.source}` ({len(self.cases)} cases)", "",
                 "Masks as `covidseg predict` writes them, scored in 3-D against the reference label maps.", "",
                 "| metric | mean ± sd | n |", "|---|---|---|"]
        for k, s in self.summary.items():
            if k == "grade_agreement":
                continue
            val = "-" if s["mean"] is None else f"{s['mean']:.3f} ± {s['sd']:.3f}"
            lines.append(f"| {k} | {val} | {s['n']} |")
        g = self.summary["grade_agreement"]
        lines += ["", f"MosMed grade agrees on {g['matches']} of {g['n']} cases.", "",
                  "| case | " + " | ".join(_columns(self.cases)[1:]) + " |",
                  "|---" * len(_columns(self.cases)) + "|"]
        for c in self.cases:
            lines.append("| " + " | ".join(_cell(c.get(k)) for k in _columns(self.cases)) + " |")
        return "\n".join(lines) + "\n"

    def write(self, out_dir: str | Path) -> Path:
        """per_case.csv, summary.csv, results.json, results.md in ``out_dir`` (atomic writes)."""
        from covidseg.evaluation.evaluate import rows_to_csv, write_text_atomic

        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out / "per_case.csv", rows_to_csv(self.cases))
        write_text_atomic(out / "summary.csv", rows_to_csv(
            [{"metric": k, **v} for k, v in self.summary.items() if k != "grade_agreement"]))
        write_text_atomic(out / "results.json", json.dumps(_safe(self.to_dict()), indent=2) + "\n")
        write_text_atomic(out / "results.md", self.markdown())
        return out

    def print_table(self, console=None) -> None:
        from rich.console import Console
        from rich.table import Table

        console = console or Console()
        t = Table(title=f"whole volumes, masks as predict writes them ({len(self.cases)} cases)")
        cols = _columns(self.cases)
        for c in cols:
            t.add_column(c.replace("dice_", "Dice ").replace("lesion_ml_", "mL ").replace("_", " "),
                         justify="left" if c == "case" else "right")
        for c in self.cases:
            t.add_row(*(_cell(c.get(k)) for k in cols))
        console.print(t)
        for k, s in self.summary.items():
            if k != "grade_agreement" and s["mean"] is not None:
                console.print(f"{k}: {s['mean']:.3f} ± {s['sd']:.3f} (n={s['n']})")
        g = self.summary["grade_agreement"]
        console.print(f"MosMed grade agrees on {g['matches']} of {g['n']} cases")


def _columns(cases: list[dict]) -> list[str]:
    keys = ["case", *(f"dice_{t}" for t in TARGETS), "lesion_ml_pred", "lesion_ml_ref", "lesion_ml_error",
            "grade_pred", "grade_ref"]
    return [k for k in keys if any(k in c for c in cases)]


def _cell(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return "nan" if not math.isfinite(v) else f"{v:.3f}"
    return str(v)


def _safe(obj):
    if isinstance(obj, dict):
        return {k: _safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_safe(v) for v in obj]
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, (np.floating, np.integer, np.bool_)):
        return obj.item()
    return obj


def evaluate_volumes(pairs: str | Path, *, model=None, tta: bool = False, device: str = "cpu",
                     precision: str = "fp32", out: str | Path | None = None, progress=None) -> VolumeEvaluation:
    """Evaluate the Segmenter (``model``: as ``Segmenter(model)``, None for the shipped
    weights) on every image/label pair; see the module docstring for the layout."""
    from covidseg.inference import Segmenter, SegmenterConfig
    from covidseg.io import read_image

    cases = find_pairs(pairs)
    segmenter = Segmenter(model, SegmenterConfig(device=device, tta=tta, precision=precision))
    res = VolumeEvaluation(str(pairs), [m.describe() for m in segmenter.models])
    for i, case in enumerate(cases):
        image = read_image(case.image)
        if image.array.ndim != 3:
            raise InputError(f"expected a CT volume, got a {image.array.ndim}-D image", case.image)
        if not image.is_hu:
            raise InputError("volume evaluation needs CT in Hounsfield units (the values look like a plain image)",
                             case.image)
        refs = _references(case, image)  # checked before the network runs: errors come fast
        pred = segmenter.predict(image)
        res.cases.append(_case_row(case, pred, refs, segmenter.config.severity))
        if progress:
            progress(i + 1, len(cases))
    if out is not None:
        res.write(out)
    return res
