"""``evaluate(split, model=... | predictions=...)``: both protocols on a labelled split folder.

Targets: ``infection`` (any lesion), ``ggo``, ``consolidation`` (lesion types) and ``lung``.
A model answers the targets of its task (an ``all`` model answers all four:
p(infection) = p(ggo) + p(consolidation), p(lung) = 1 - p(background)); a split answers
those it has masks for; both sets intersect.
"""

from __future__ import annotations

import csv
import io
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from covidseg.data import derived_masks, derived_probabilities, load_folder, resize_image, targets_for
from covidseg.data.folder import _find_mask, _is_nifti, list_images
from covidseg.errors import FileMissingError, InputError, ModelError
from covidseg.io.formats import RASTER_SUFFIXES
from covidseg.io.readers import read_label_map
from covidseg.io.windowing import MODEL_WINDOW, Window, model_window
from covidseg.evaluation.calibration import sharpen
from covidseg.evaluation.metrics import (
    BINARY_KEYS,
    CURVE_KEYS,
    binary_metrics,
    published_image,
    published_summary,
    summarize_binary,
    thresholds,
)

TARGETS = ("infection", "ggo", "consolidation", "lung")
# Headline columns of the terminal / markdown tables.
BINARY_COLUMNS = ("dice", "iou", "sensitivity", "specificity", "precision", "hd95", "mae", "s_measure", "e_measure")
PUBLISHED_COLUMNS = ("mean_dice", "mean_iou", "mean_sensitivity", "mean_specificity", "mean_precision", "s_measure",
                     "mean_e_measure", "mae", "max_dice")


@dataclass
class GroundTruth:
    name: str
    image: np.ndarray  # uint8 (H, W)
    masks: dict[str, np.ndarray]  # target -> bool (H, W)


def load_ground_truth(split: str | Path, hu_window: Window = MODEL_WINDOW) -> list[GroundTruth]:
    """Images of a split with every target its mask folders define (NIfTI HU through
    ``hu_window``, the evaluated model's window)."""
    split = Path(split)
    have = {k for k in ("infection", "classes", "lung") if (split / k).is_dir()}
    if not have:
        raise FileMissingError("no infection/, classes/ or lung/ mask folder to evaluate against", split)
    tasks = []
    if {"classes", "lung"} <= have:
        tasks = ["all"]
    else:
        if "classes" in have:
            tasks.append("classes")
        elif "infection" in have:
            tasks.append("lesion")
        if "lung" in have:
            tasks.append("lung")
    merged: dict[str, GroundTruth] = {}
    for task in tasks:
        for s in load_folder(split, task, hu_window=hu_window):
            gt = merged.setdefault(s.name, GroundTruth(s.name, s.image, {}))
            gt.masks.update(derived_masks(task, s.label))
    return list(merged.values())


@dataclass
class EvaluationResult:
    split: str
    source: str  # model folder or predictions folder
    task: str | None
    threshold: float | None
    names: list[str]
    binary: dict = field(default_factory=dict)  # target -> {"mean": {...}, "per_image": [...]}
    published: dict = field(default_factory=dict)  # target -> {"mean": {...}, "per_image": [...], "curves": {...}}
    # What ``binary`` scores: "predict" (the masks covidseg predict writes), "raw" (the network's
    # maps at the threshold: predict cannot run this model on this split), "maps" (given maps).
    binary_kind: str = "maps"
    binary_raw: dict = field(default_factory=dict)  # raw network maps at the threshold (model given)
    # The published protocol on the infection map after temperature scaling about the threshold
    # (evaluation.calibration.sharpen): masks unchanged; shown beside the raw published numbers.
    temperature: float | None = None
    published_calibrated: dict = field(default_factory=dict)

    def _tables(self) -> list[tuple[str, str, dict]]:
        """(protocol key, title, table) of every protocol measured, headline first."""
        thr = f"threshold {self.threshold:.2f}" if self.threshold is not None else "threshold"
        binary_title = {"predict": f"binary (as predict writes: {thr}, lesion inside the lung, small "
                                   f"components removed)",
                        "raw": f"binary (raw network, {thr}; predict cannot segment these images with this "
                               f"model: no lung channel)",
                        "maps": f"binary (given maps, {thr})"}[self.binary_kind]
        return [("binary", binary_title, self.binary),
                ("binary_raw", f"binary (raw network, {thr}, no post-processing)", self.binary_raw),
                ("published", "published (COVID-SemiSeg benchmark / Inf-Net evaluation code, raw network map)",
                 self.published),
                ("published_calibrated", f"published, calibrated map (temperature {self.temperature} about the "
                                         f"threshold, chosen out-of-fold; masks unchanged)", self.published_calibrated)]

    def to_dict(self) -> dict:
        return {
            "split": self.split, "source": self.source, "task": self.task, "threshold": self.threshold,
            "n_images": len(self.names),
            "binary_kind": self.binary_kind,
            "protocols": {
                "binary": {"description": self._tables()[0][1], **self.binary},
                **({"binary_raw": {"description": self._tables()[1][1], **self.binary_raw}} if self.binary_raw else {}),
                "published": {"description": "COVID-SemiSeg benchmark protocol (Inf-Net evaluation code) on the raw "
                              "network map: min-max normalised map, 256 thresholds, mean over images then "
                              "thresholds", **self.published},
                **({"published_calibrated": {"description": self._tables()[3][1], "temperature": self.temperature,
                                             **self.published_calibrated}} if self.published_calibrated else {}),
            },
        }

    def summary_rows(self) -> list[dict]:
        rows = []
        for protocol, _, table in self._tables():
            for target, res in table.items():
                rows.append({"protocol": protocol, "target": target, **res["mean"]})
        return rows

    def markdown(self) -> str:
        lines = [f"# Evaluation on `{self.split}` ({len(self.names)} images)", "",
                 f"Source: `{self.source}`" + (f" (task `{self.task}`, threshold {self.threshold:.2f})" if self.threshold is not None else ""), ""]
        for key, title, table in self._tables():
            cols = PUBLISHED_COLUMNS if key.startswith("published") else BINARY_COLUMNS
            if not table:
                continue
            lines += [f"## {title}", "", "| target | " + " | ".join(cols) + " |", "|---" * (len(cols) + 1) + "|"]
            for target, res in table.items():
                lines.append(f"| {target} | " + " | ".join(_fmt(res["mean"].get(c)) for c in cols) + " |")
            lines.append("")
        return "\n".join(lines)

    def write(self, out_dir: str | Path) -> Path:
        """results.json, summary.csv, per_image.csv and results.md in ``out_dir``."""
        out = Path(out_dir)
        out.mkdir(parents=True, exist_ok=True)
        write_text_atomic(out / "results.json", json.dumps(_json_safe(self.to_dict()), indent=2) + "\n")
        write_text_atomic(out / "summary.csv", rows_to_csv(self.summary_rows()))
        per = []
        for protocol, _, table in self._tables():
            for target, res in table.items():
                per += [{"protocol": protocol, "target": target, **r} for r in res["per_image"]]
        write_text_atomic(out / "per_image.csv", rows_to_csv(per))
        write_text_atomic(out / "results.md", self.markdown())
        return out

    def print_table(self, console=None) -> None:
        """One table per protocol, metrics as rows and targets as columns (fits 80 columns)."""
        from rich.console import Console
        from rich.table import Table

        console = console or Console()
        for key, title, table in self._tables():
            cols = PUBLISHED_COLUMNS if key.startswith("published") else BINARY_COLUMNS
            if not table:
                continue
            console.print(f"[bold]{title}[/bold] ({len(self.names)} images)")
            t = Table()
            t.add_column("metric", no_wrap=True)
            for target in table:
                t.add_column(target, justify="right", no_wrap=True)
            for c in cols:
                t.add_row(SHORT.get(c, c), *(_fmt(res["mean"].get(c)) for res in table.values()))
            console.print(t)


SHORT = {"dice": "Dice", "iou": "IoU", "sensitivity": "Sen", "specificity": "Spe", "precision": "Prec", "hd95": "HD95",
         "mae": "MAE", "s_measure": "Sα", "e_measure": "Eφ", "mean_dice": "mDice", "mean_iou": "mIoU",
         "mean_sensitivity": "mSen", "mean_specificity": "mSpe", "mean_precision": "mPrec", "mean_e_measure": "mEφ",
         "max_dice": "maxDice"}


def _fmt(v) -> str:
    if v is None:
        return "-"
    if isinstance(v, float) and not math.isfinite(v):
        return "nan"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def _json_safe(obj):
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _json_safe(obj.tolist())
    if isinstance(obj, (float, np.floating)):
        return None if not math.isfinite(float(obj)) else float(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def write_text_atomic(path: Path, text: str) -> None:
    """``path.write_text(text)`` through covidseg.io.atomic_write (no half-written table)."""
    from covidseg.io import atomic_write

    with atomic_write(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def rows_to_csv(rows: list[dict]) -> str:
    """CSV text of dict rows; the header is the union of their keys in first-seen order."""
    if not rows:
        return ""
    keys: list[str] = []
    for r in rows:
        keys += [k for k in r if k not in keys]
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=keys)
    w.writeheader()
    for r in rows:
        w.writerow({k: r.get(k, "") for k in keys})
    return buf.getvalue()


# ---------------------------------------------------------------------- predictions
def model_probabilities(model, images: list[np.ndarray], device="cpu", tta: bool = False) -> list[np.ndarray]:
    """The model's own output probabilities, (C, H, W) at each image's size (C = 1 for a
    sigmoid task): the images resized to the model's training size and run through
    :func:`covidseg.models.forward.probabilities` (the forward pass train and predict use), one
    batch per image size, the logits upsampled bilinearly to that size before the sigmoid/softmax. ``tta``:
    average with the prediction for the left-right mirrored image."""
    import torch

    meta = getattr(model, "metadata", {}) or {}
    size = meta.get("input_size")
    if meta.get("task") is None or size is None:
        raise ModelError("model metadata lacks 'task'/'input_size' (was it exported by covidseg train?)")
    from covidseg.models.forward import probabilities

    activation = meta.get("activation", "sigmoid")
    x = torch.from_numpy(np.stack([resize_image(im, int(size)) for im in images]).astype(np.float32) / 255.0)
    x = x[:, None].to(device)
    # one batch per image size: the logits are upsampled to that size before the activation
    groups: dict[tuple, list[int]] = {}
    for i, im in enumerate(images):
        groups.setdefault(im.shape, []).append(i)
    out: list = [None] * len(images)
    with torch.no_grad():
        for shape, idx in groups.items():
            p = probabilities(model, x[idx], activation, channels_last=False, tta=tta, size=shape).cpu().numpy()
            for j, i in enumerate(idx):
                out[i] = p[j]
    return out


def predict_probabilities(model, image: np.ndarray, device="cpu", tta: bool = False) -> dict[str, np.ndarray]:
    """Target probability maps (infection, ggo, consolidation, lung as the task answers) of
    one image at its size; see :func:`model_probabilities`."""
    task = (getattr(model, "metadata", {}) or {}).get("task")
    probs = model_probabilities(model, [image], device, tta=tta)[0]
    return derived_probabilities(task, probs)


def masks_from_probabilities(task: str, probs: dict[str, np.ndarray], threshold: float) -> dict[str, np.ndarray]:
    """Binary masks as users get them: infection = p(infection) > threshold; lesion type = the
    likelier of GGO / consolidation inside it; lung = p(lung) > 0.5 (threshold for the lung
    task) and always containing the infection."""
    out: dict[str, np.ndarray] = {}
    if "infection" in probs:
        inf = probs["infection"] > threshold
        out["infection"] = inf
        if "ggo" in probs:
            ggo_wins = probs["ggo"] >= probs["consolidation"]
            out["ggo"] = inf & ggo_wins
            out["consolidation"] = inf & ~ggo_wins
    if "lung" in probs:
        lung = probs["lung"] > (threshold if task == "lung" else 0.5)
        out["lung"] = lung | out["infection"] if "infection" in out else lung
    return out


def _load_prediction_maps(pred_dir: Path, name: str, targets: list[str], shape) -> dict[str, np.ndarray]:
    out = {}
    for target in targets:
        folder = pred_dir / target if (pred_dir / target).is_dir() else pred_dir
        path = _find_mask(folder.parent, folder.name, name) if folder != pred_dir else next(
            (p for p in (pred_dir / f"{name}{s}" for s in RASTER_SUFFIXES) if p.is_file()), None)
        if path is None:
            raise FileMissingError(f"no predicted {target} map for image {name}", folder)
        m = read_label_map(path).astype(np.float64)
        if m.ndim != 2:
            raise InputError(f"expected a 2-D map, got shape {m.shape}", path)
        lo, hi = float(m.min(initial=0)), float(m.max(initial=0))
        if lo < 0 or hi > 255:  # e.g. a 16-bit PNG: dividing by 255 would not give probabilities
            raise InputError(f"predicted {target} map holds values {lo:g}..{hi:g}; expected 0..255 (8-bit) "
                             "or 0..1", path)
        m = m / 255.0 if m.max(initial=0) > 1 else m
        if m.shape != shape:  # the reference resizes maps to the ground-truth size
            from PIL import Image

            m = np.asarray(Image.fromarray(m.astype(np.float32)).resize(shape[::-1], Image.BILINEAR), np.float64)
        out[target] = m
    return out


def _with_model_window(split: Path, gts: list[GroundTruth], model) -> list[GroundTruth]:
    """``gts`` with NIfTI volumes windowed as ``model`` was trained (read again if its window
    is not the default one the first read used)."""
    w = model_window(getattr(model, "metadata", None))
    if w == MODEL_WINDOW or not any(_is_nifti(p) for p in list_images(split)):
        return gts
    return load_ground_truth(split, hu_window=w)


def _predict_masks_or_none(model, split: Path, gts: list[GroundTruth], model_path: Path | None, *,
                           threshold: float, tta: bool, device: str, precision: str):
    """Iterator of the masks ``covidseg predict`` writes for each ground truth, or None when
    predict cannot segment this split with this model (plain images need a lung channel)."""
    from covidseg.evaluation.as_predicted import as_loaded_model, build_segmenter, predicted_masks, slice_sources

    segmenter = build_segmenter(as_loaded_model(model, model_path, threshold), tta=tta, device=device,
                                precision=precision)
    plain = any(src.index is None for src in slice_sources(split).values())
    if plain and "lung" not in segmenter.channels:
        return None
    return predicted_masks(segmenter, split, [g.name for g in gts], [g.image.shape for g in gts])


def _published_table(gts: list[GroundTruth], images: list[dict]) -> dict:
    per = [{"name": g.name, **{f"mean_{k}": float(np.mean(im["curves"][k])) for k in CURVE_KEYS},
            "s_measure": im["s_measure"], "mae": im["mae"]} for g, im in zip(gts, images)]
    curves = {k: np.mean([im["curves"][k] for im in images], axis=0).tolist() for k in CURVE_KEYS}
    return {"mean": published_summary(images), "per_image": per, "curves": {"thresholds": thresholds().tolist(), **curves}}


def evaluate(
    split: str | Path,
    *,
    model=None,
    predictions: str | Path | None = None,
    targets: list[str] | None = None,
    threshold: float | None = None,
    quantize: bool = True,
    tta: bool = False,
    temperature: float | None = None,
    device: str = "cpu",
    precision: str = "fp32",
    out: str | Path | None = None,
    progress=None,
) -> EvaluationResult:
    """Evaluate a model (folder or loaded network) or a folder of predicted maps on ``split``.

    ``predictions``: one PNG per image named like the ground truth, either directly in the
    folder (infection maps) or in ``infection/``, ``ggo/``, ``consolidation/``, ``lung/``
    subfolders; 8-bit values are read as probabilities (/255). ``threshold`` defaults to the
    model's metadata ``threshold`` (0.5 for prediction folders). ``quantize`` rounds the
    normalised map to 8 bits as the reference's PNG round-trip does. ``tta`` averages each
    model prediction with that of the mirrored image (as ``covidseg predict --tta``).
    ``temperature`` (default: the model's metadata ``published_temperature``; 0 or absent: off)
    adds ``published_calibrated``: the published protocol on the infection map sharpened about
    the threshold (:func:`covidseg.evaluation.calibration.sharpen`), which changes no mask.

    With a model, the ``binary`` protocol scores the masks ``covidseg predict`` writes (the
    Segmenter on each image file: same threshold, lesion inside the lung, small components
    removed, GGO/consolidation split; ``precision`` as ``predict --precision``), and
    ``binary_raw`` the network's maps thresholded without that post-processing. The
    ``published`` protocol is always on the raw network maps (it sweeps thresholds). A model
    predict cannot run on the split (a lesion-only model on plain images: no lung) gets
    ``binary_kind == "raw"``: ``binary`` then holds the raw numbers, and says so.
    """
    split = Path(split)
    if (model is None) == (predictions is None):
        raise ValueError("give exactly one of model= or predictions=")
    gts = load_ground_truth(split)
    available = [t for t in TARGETS if all(t in g.masks for g in gts)]
    task = None
    if model is not None:
        if isinstance(model, (str, Path)):
            from covidseg.models import load_pretrained

            folder = Path(model)
            if not (folder / "model.safetensors").is_file() and (folder / "model" / "model.safetensors").is_file():
                folder = folder / "model"  # a training run folder: use its exported model
            source = str(folder)
            model_path = folder
            model = load_pretrained(folder, device=device)
        else:
            source = type(model).__name__
            model_path = None
        model.eval()
        gts = _with_model_window(split, gts, model)
        task = model.metadata.get("task")
        answerable = list(targets_for(task))
        thr = float(threshold if threshold is not None else model.metadata.get("threshold", 0.5))
        if temperature is None:
            temperature = model.metadata.get("published_temperature")
    else:
        pred_dir = Path(predictions)
        if not pred_dir.is_dir():
            raise FileMissingError("predictions folder does not exist", pred_dir)
        source = str(pred_dir)
        subs = [t for t in TARGETS if (pred_dir / t).is_dir()]
        answerable = subs or ["infection"]
        thr = float(0.5 if threshold is None else threshold)
    if not 0 <= thr <= 1:
        raise ValueError(f"threshold must be in [0, 1], got {thr}")
    if temperature is not None and temperature < 0:
        raise ValueError(f"temperature must be >= 0 (0: off), got {temperature}")
    temperature = float(temperature) if temperature else None
    chosen = [t for t in TARGETS if t in answerable and t in available and (targets is None or t in targets)]
    if targets is not None:
        missing = [t for t in targets if t not in chosen]
        if missing:
            raise InputError(f"cannot evaluate target(s) {missing}: the model/predictions answer {answerable}, "
                             f"the split has masks for {available}", split)
    if not chosen:
        raise InputError(f"nothing to evaluate: the model/predictions answer {answerable}, the split has masks for {available}", split)

    rows_b: dict[str, list] = {t: [] for t in chosen}
    rows_raw: dict[str, list] = {t: [] for t in chosen}
    imgs_p: dict[str, list] = {t: [] for t in chosen}
    calibrated = temperature is not None and "infection" in chosen and 0 < thr < 1
    imgs_c: list = []
    as_written = None
    if model is not None:
        as_written = _predict_masks_or_none(model, split, gts, model_path, threshold=thr, tta=tta,
                                            device=device, precision=precision)
    for i, gt in enumerate(gts):
        if model is not None:
            probs = predict_probabilities(model, gt.image, device, tta=tta)
            raw = masks_from_probabilities(task, probs, thr)
            masks = next(as_written) if as_written is not None else raw
        else:
            probs = _load_prediction_maps(pred_dir, gt.name, chosen, gt.image.shape)
            masks = raw = {t: p > thr for t, p in probs.items()}
        for t in chosen:
            rows_b[t].append({"name": gt.name, **binary_metrics(masks[t], gt.masks[t])})
            if model is not None:
                rows_raw[t].append({"name": gt.name, **binary_metrics(raw[t], gt.masks[t])})
            imgs_p[t].append(published_image(probs[t], gt.masks[t], quantize=quantize))
        if calibrated:
            imgs_c.append(published_image(sharpen(probs["infection"], temperature, thr), gt.masks["infection"],
                                          quantize=quantize))
        if progress:
            progress(i + 1, len(gts))

    if tta and model is not None:
        source += " (mirror TTA)"
    res = EvaluationResult(str(split), source, task, thr, [g.name for g in gts])
    res.binary_kind = "maps" if model is None else ("predict" if as_written is not None else "raw")
    if calibrated:
        res.temperature = temperature
        res.published_calibrated["infection"] = _published_table(gts, imgs_c)
    for t in chosen:
        res.binary[t] = {"mean": summarize_binary(rows_b[t]), "per_image": rows_b[t]}
        if as_written is not None:
            res.binary_raw[t] = {"mean": summarize_binary(rows_raw[t]), "per_image": rows_raw[t]}
        res.published[t] = _published_table(gts, imgs_p[t])
    if out is not None:
        res.write(out)
    return res
