"""The masks ``covidseg predict`` writes, for the images of a labelled split.

The binary protocol scores these (issue 13): the Segmenter runs on each image file exactly
as ``covidseg predict`` does (same reader, same crop refinement, same threshold, lesion kept
inside the lung, small components removed, GGO/consolidation split), so ``covidseg
evaluate`` and the masks users get cannot drift apart. A slice of a NIfTI split volume is
taken from the Segmenter's prediction for the whole volume (what predict writes for it).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Iterator

import numpy as np

from covidseg.data.folder import _is_nifti, _stem, list_images
from covidseg.errors import InputError

__all__ = ["SliceSource", "slice_sources", "as_loaded_model", "build_segmenter", "masks_of_prediction",
           "predicted_masks"]


@dataclasses.dataclass(frozen=True)
class SliceSource:
    """Where a ground-truth sample comes from: an image file, or slice ``index`` of a volume."""

    path: Path
    index: int | None = None


def slice_sources(split: str | Path) -> dict[str, SliceSource]:
    """Sample name (as :func:`covidseg.data.load_folder` names it) → its image file / slice."""
    out: dict[str, SliceSource] = {}
    for path in list_images(Path(split)):
        stem = _stem(path)
        if _is_nifti(path):
            # load_folder names volume slices <stem>_z<index>; the index is the axial slice.
            import nibabel as nib

            try:
                img = nib.load(str(path))
                # the array axis closest to head-feet (load_folder reorients to RAS+ first)
                z_axis = int(np.nonzero(nib.io_orientation(img.affine)[:, 0] == 2)[0][0])
                n = int(img.shape[z_axis])
            except Exception as exc:  # nibabel raises many types for corrupt files
                raise InputError(f"cannot read NIfTI ({exc})", path) from None
            out.update({f"{stem}_z{z:03d}": SliceSource(path, z) for z in range(n)})
        else:
            out[stem] = SliceSource(path)
    return out


def as_loaded_model(module, path: Path | None = None, threshold: float | None = None):
    """A :class:`~covidseg.inference.loading.LoadedModel` for an already loaded network (its
    metadata checked as ``load_models`` does); ``threshold`` overrides the metadata's."""
    from covidseg.inference.loading import LoadedModel, _check_metadata

    meta = dict(getattr(module, "metadata", {}) or {})
    folder = Path(path) if path is not None else Path(type(module).__name__)
    task, labels, activation, input_size, thr = _check_metadata(folder, meta)
    return LoadedModel(folder.name, folder, task, labels, activation, input_size,
                       thr if threshold is None else float(threshold), getattr(module, "sha256", ""), module, meta)


def build_segmenter(loaded, *, tta: bool = False, device: str = "cpu", precision: str = "auto"):
    """The Segmenter ``covidseg predict --model M [--tta]`` builds (its default settings), for
    the outputs the model gives (``--tasks``: a lesion-only model is run for lung + lesion)."""
    from covidseg.inference import Segmenter, SegmenterConfig
    from covidseg.tasks import TASKS

    tasks = tuple(TASKS[loaded.task].outputs | {"lung"})
    return Segmenter([loaded], SegmenterConfig(tasks=tasks, device=device, tta=tta, precision=precision))


def masks_of_prediction(pred, z: int | None = None) -> dict[str, np.ndarray]:
    """Evaluation targets from a Prediction's masks (slice ``z`` of a volume): infection =
    the lesion mask, ggo / consolidation = class 1 / 2, lung = the lung mask."""
    pick = (lambda a: a) if z is None else (lambda a: a[z])
    out: dict[str, np.ndarray] = {}
    if pred.lesion is not None:
        out["infection"] = pick(pred.lesion).astype(bool)
    if pred.classes is not None:
        classes = pick(pred.classes)
        out["ggo"], out["consolidation"] = classes == 1, classes == 2
    if pred.lung is not None:
        out["lung"] = pick(pred.lung).astype(bool)
    return out


def predicted_masks(segmenter, split: str | Path, names: list[str],
                    shapes: list[tuple[int, ...]]) -> Iterator[dict[str, np.ndarray]]:
    """For each sample name, the masks predict writes for it (one Segmenter run per file; a
    volume is run once for all its slices)."""
    sources = slice_sources(split)
    cached: tuple[Path, object] | None = None
    for name, shape in zip(names, shapes):
        src = sources.get(name)
        if src is None:
            raise InputError(f"no image file for sample {name!r}", split)
        if cached is None or cached[0] != src.path:
            cached = (src.path, segmenter.predict(src.path))
        masks = masks_of_prediction(cached[1], src.index)
        for target, m in masks.items():
            if m.shape != tuple(shape):
                raise InputError(f"predicted {target} mask of shape {m.shape} does not match the ground truth "
                                 f"{tuple(shape)} (the reader and the training loader disagree on this file)",
                                 src.path)
        yield masks
