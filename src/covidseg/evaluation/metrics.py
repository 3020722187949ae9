"""Segmentation metrics for one 2-D image, and the published COVID-SemiSeg protocol.

Two families:

* :func:`binary_metrics` scores a binary mask (the ``binary`` protocol). Conventions for
  empty masks (docs/evaluation.md): Dice and IoU are 1 when prediction and ground truth are
  both empty; a ratio whose denominator is zero (sensitivity with empty ground truth,
  precision with empty prediction, specificity when everything is foreground) is NaN and
  left out of means; HD95 is 0 when both are empty and NaN when only one is.
* :func:`published_image` follows the Inf-Net authors' evaluation code (MATLAB
  ``EvaluationTool``): a min-max normalised probability map, metrics at 256 thresholds from
  1 to 0 with *their* convention that Dice, IoU, sensitivity, specificity and precision are 0
  when there is no true positive, E-measure on the map binarised with ``>``, S-measure and
  MAE on the map itself. :func:`published_summary` averages over images at each threshold
  and then over thresholds ("mean Dice" etc.).

S-measure: Fan et al., "Structure-measure: A New Way to Evaluate Foreground Maps", ICCV 2017.
E-measure: Fan et al., "Enhanced-alignment Measure for Binary Foreground Map Evaluation", IJCAI 2018.
"""

from __future__ import annotations

import math
import warnings

import numpy as np

EPS = np.finfo(np.float64).eps  # MATLAB's eps, used where the reference code uses it
N_THRESHOLDS = 256
BINARY_KEYS = ("dice", "iou", "sensitivity", "specificity", "precision", "hd95", "mae", "s_measure", "e_measure")
CURVE_KEYS = ("dice", "iou", "sensitivity", "specificity", "precision", "e_measure")


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den else math.nan


def confusion(pred: np.ndarray, gt: np.ndarray) -> tuple[int, int, int, int]:
    """(tp, fp, fn, tn) of two boolean masks."""
    pred, gt = np.asarray(pred, bool), np.asarray(gt, bool)
    if pred.shape != gt.shape:
        raise ValueError(f"prediction shape {pred.shape} differs from ground truth shape {gt.shape}")
    tp = int(np.count_nonzero(pred & gt))
    fp = int(np.count_nonzero(pred)) - tp
    fn = int(np.count_nonzero(gt)) - tp
    tn = pred.size - tp - fp - fn
    return tp, fp, fn, tn


def hd95(pred: np.ndarray, gt: np.ndarray, spacing: tuple[float, float] | None = None) -> float:
    """95th-percentile symmetric Hausdorff distance (MONAI), in pixels unless ``spacing`` is given."""
    pred, gt = np.asarray(pred, bool), np.asarray(gt, bool)
    if not pred.any() and not gt.any():
        return 0.0
    if not pred.any() or not gt.any():
        return math.nan
    import torch
    from monai.metrics import compute_hausdorff_distance

    p = torch.from_numpy(pred[None, None].astype(np.float32))
    g = torch.from_numpy(gt[None, None].astype(np.float32))
    with warnings.catch_warnings():  # MONAI deprecation chatter from its own internals
        warnings.simplefilter("ignore", FutureWarning)
        d = compute_hausdorff_distance(p, g, include_background=True, percentile=95, spacing=spacing)
    return float(d.reshape(-1)[0])


def s_measure(pred: np.ndarray, gt: np.ndarray, alpha: float = 0.5) -> float:
    """Structure measure S_alpha of a map in [0, 1] against a boolean ground truth."""
    pred = np.asarray(pred, np.float64)
    gt = np.asarray(gt, bool)
    if pred.min(initial=0) < 0 or pred.max(initial=0) > 1:
        raise ValueError("s_measure needs a map in [0, 1]")
    y = gt.mean()
    if y == 0:
        return float(1.0 - pred.mean())
    if y == 1:
        return float(pred.mean())
    q = alpha * _s_object(pred, gt) + (1 - alpha) * _s_region(pred, gt)
    return float(max(q, 0.0))


def _object(values: np.ndarray) -> float:
    if values.size == 0:
        return 0.0
    x = values.mean()
    sigma = values.std(ddof=1) if values.size > 1 else 0.0  # MATLAB std: N-1
    return float(2.0 * x / (x * x + 1.0 + sigma + EPS))


def _s_object(pred: np.ndarray, gt: np.ndarray) -> float:
    fg = np.where(gt, pred, 0.0)
    bg = np.where(gt, 0.0, 1.0 - pred)
    u = gt.mean()
    return u * _object(fg[gt]) + (1 - u) * _object(bg[~gt])


def _round_half_up(x: float) -> int:
    return int(math.floor(x + 0.5))  # MATLAB round (x >= 0 here)


def _s_region(pred: np.ndarray, gt: np.ndarray) -> float:
    rows, cols = gt.shape
    total = gt.sum()
    # centroid in MATLAB's 1-based indices; quadrants are gt(1:Y, 1:X) etc.
    x = _round_half_up((gt.sum(0) * np.arange(1, cols + 1)).sum() / total)
    y = _round_half_up((gt.sum(1) * np.arange(1, rows + 1)).sum() / total)
    area = rows * cols
    w = [x * y / area, (cols - x) * y / area, x * (rows - y) / area]
    w.append(1.0 - sum(w))
    quads = [(slice(0, y), slice(0, x)), (slice(0, y), slice(x, cols)), (slice(y, rows), slice(0, x)), (slice(y, rows), slice(x, cols))]
    q = 0.0
    for wi, (ry, rx) in zip(w, quads):
        if wi > 0:  # an empty quadrant has weight 0 (the reference would give 0 * NaN)
            q += wi * _ssim(pred[ry, rx], gt[ry, rx].astype(np.float64))
    return q


def _ssim(pred: np.ndarray, gt: np.ndarray) -> float:
    n = pred.size
    x, y = pred.mean(), gt.mean()
    sx2 = ((pred - x) ** 2).sum() / (n - 1 + EPS)
    sy2 = ((gt - y) ** 2).sum() / (n - 1 + EPS)
    sxy = ((pred - x) * (gt - y)).sum() / (n - 1 + EPS)
    a = 4 * x * y * sxy
    b = (x * x + y * y) * (sx2 + sy2)
    if a != 0:
        return float(a / (b + EPS))
    return 1.0 if b == 0 else 0.0


def _e_from_counts(tp, fp, fn, tn):
    """E-measure of a binary map from its confusion counts (vectorised over arrays of counts).

    For binary maps the alignment matrix takes one value per (prediction, truth) pair, so
    the per-pixel sum of the reference implementation reduces to four weighted terms.
    """
    tp, fp, fn, tn = (np.asarray(v, np.float64) for v in (tp, fp, fn, tn))
    n = tp + fp + fn + tn
    n_gt, n_pred = tp + fn, tp + fp
    mu_p, mu_g = n_pred / n, n_gt / n
    total = np.zeros_like(n)
    for count, fm, g in ((tp, 1.0, 1.0), (fp, 1.0, 0.0), (fn, 0.0, 1.0), (tn, 0.0, 0.0)):
        a, b = fm - mu_p, g - mu_g
        align = 2 * a * b / (a * a + b * b + EPS)
        total = total + count * (align + 1) ** 2 / 4
    total = np.where(n_gt == 0, n - n_pred, total)  # empty truth: enhanced = 1 - FM
    total = np.where(n_gt == n, n_pred, total)  # full truth: enhanced = FM
    return total / (n - 1 + EPS)


def e_measure(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean enhanced-alignment measure E_phi of a binary map."""
    return float(_e_from_counts(*confusion(pred, gt)))


def binary_metrics(pred: np.ndarray, gt: np.ndarray, spacing: tuple[float, float] | None = None) -> dict[str, float]:
    """All ``binary`` protocol metrics of one binary mask (see module docstring for empty cases)."""
    pred, gt = np.asarray(pred, bool), np.asarray(gt, bool)
    tp, fp, fn, tn = confusion(pred, gt)
    both_empty = tp + fp + fn == 0
    return {
        "dice": 1.0 if both_empty else 2 * tp / (2 * tp + fp + fn),
        "iou": 1.0 if both_empty else tp / (tp + fp + fn),
        "sensitivity": _ratio(tp, tp + fn),
        "specificity": _ratio(tn, tn + fp),
        "precision": _ratio(tp, tp + fp),
        "hd95": hd95(pred, gt, spacing),
        "mae": float(np.mean(pred != gt)),
        "s_measure": s_measure(pred.astype(np.float64), gt),
        "e_measure": e_measure(pred, gt),
    }


# ---------------------------------------------------------------------- published protocol
def normalize_map(prob: np.ndarray, quantize: bool = True) -> np.ndarray:
    """Min-max normalise a probability map to [0, 1]; ``quantize`` rounds to 8 bits as the
    benchmark's PNG round-trip does. A constant map is left as it is (clipped to [0, 1])."""
    p = np.asarray(prob, np.float64)
    lo, hi = p.min(), p.max()
    p = (p - lo) / (hi - lo) if hi > lo else np.clip(p, 0, 1)
    if quantize:
        p = np.floor(p * 255 + 0.5) / 255
    return p


def thresholds() -> np.ndarray:
    """The 256 thresholds 1, 254/255, ..., 0 of the reference code."""
    return (255 - np.arange(N_THRESHOLDS)) / 255.0


def published_image(prob: np.ndarray, gt: np.ndarray, *, quantize: bool = True, normalize: bool = True) -> dict:
    """One image under the published protocol.

    ``prob`` must already be at the ground-truth size; ``gt`` is boolean (binarise 8-bit
    masks at > 128 as the reference does). Returns per-threshold curves (256 values, for
    thresholds 1 → 0) of dice, iou, sensitivity, specificity, precision, e_measure, plus
    scalars s_measure and mae.
    """
    gt = np.asarray(gt, bool)
    p = normalize_map(prob, quantize) if normalize else np.asarray(prob, np.float64)
    if p.shape != gt.shape:
        raise ValueError(f"map shape {p.shape} differs from ground truth shape {gt.shape}")
    n = p.size
    n_gt = int(gt.sum())
    if quantize:
        # integer levels avoid float ties at exactly k/255
        lev = np.floor(p * 255 + 0.5).astype(np.int64)
        t = 255 - np.arange(N_THRESHOLDS)
        hist_pos = np.bincount(lev[gt], minlength=256)
        hist_all = np.bincount(lev.ravel(), minlength=256)
        ge_pos = np.cumsum(hist_pos[::-1])[::-1]  # pixels with level >= k
        ge_all = np.cumsum(hist_all[::-1])[::-1]
        tp_ge, pred_ge = ge_pos[t], ge_all[t]
        gt_pos = np.append(ge_pos, 0)[t + 1]  # level > k
        gt_all = np.append(ge_all, 0)[t + 1]
    else:
        t = thresholds()
        pos, allv = np.sort(p[gt]), np.sort(p.ravel())
        tp_ge = pos.size - np.searchsorted(pos, t, "left")
        pred_ge = allv.size - np.searchsorted(allv, t, "left")
        gt_pos = pos.size - np.searchsorted(pos, t, "right")
        gt_all = allv.size - np.searchsorted(allv, t, "right")
    tp = tp_ge.astype(np.float64)
    fp = pred_ge - tp
    fn = n_gt - tp
    tn = n - tp - fp - fn
    has = tp > 0  # reference convention: every ratio is 0 without a true positive
    with np.errstate(divide="ignore", invalid="ignore"):
        curves = {
            "dice": np.where(has, 2 * tp / (n_gt + pred_ge), 0.0),
            "iou": np.where(has, tp / (fn + pred_ge), 0.0),
            "sensitivity": np.where(has, tp / max(n_gt, 1), 0.0),
            "specificity": np.where(has, tn / (tn + fp), 0.0),
            "precision": np.where(has, tp / pred_ge, 0.0),
        }
    etp = gt_pos.astype(np.float64)
    efp = gt_all - etp
    efn = n_gt - etp
    curves["e_measure"] = _e_from_counts(etp, efp, efn, n - etp - efp - efn)
    return {
        "curves": curves,
        "s_measure": s_measure(p, gt),
        "mae": float(np.mean(np.abs(p - gt))),
    }


def published_summary(images: list[dict]) -> dict[str, float]:
    """Benchmark numbers over images: curves averaged over images at each threshold, then
    ``mean_*`` (over thresholds, the published numbers) and ``max_*``; S-measure and MAE
    averaged over images."""
    if not images:
        raise ValueError("published_summary needs at least one image")
    out: dict[str, float] = {}
    for key in CURVE_KEYS:
        col = np.mean([im["curves"][key] for im in images], axis=0)
        out[f"mean_{key}"] = float(col.mean())
        out[f"max_{key}"] = float(col.max())
    out["s_measure"] = float(np.mean([im["s_measure"] for im in images]))
    out["mae"] = float(np.mean([im["mae"] for im in images]))
    return out


def summarize_binary(rows: list[dict]) -> dict[str, float]:
    """Mean over images of each binary metric, NaN (undefined) values left out; ``n_<key>`` counts."""
    out: dict[str, float] = {}
    for key in BINARY_KEYS:
        vals = np.array([r[key] for r in rows], np.float64)
        ok = np.isfinite(vals)
        out[key] = float(vals[ok].mean()) if ok.any() else math.nan
        if not ok.all():
            out[f"n_{key}"] = int(ok.sum())
    return out
