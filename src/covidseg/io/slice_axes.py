"""Which way up a network's training slices were: the in-plane axes it expects.

The COVID-SemiSeg slices (all 98 labelled ones and the 1,600 unlabeled ones) are not in
radiological display. Their two lungs are stacked, not side by side (94 of 94 slices with two
lung components). The larger one, the patient's right lung, is on top in 80 of 94, and the
spine is at the right edge. So their rows run toward the patient's left and their columns
toward posterior (``"LP"``), the transpose of the display (``"PL"``: rows toward posterior,
columns toward the patient's left) in which covidseg reads every CT of known orientation.

A network sees a slice the other way round poorly: out-of-fold, the all-e300 fold models
score lesion Dice 0.743 on the slices as stored and 0.679 on the same slices transposed
(``benchmarks/slice_axes.py``; docs/results.md, session 6). So inference hands each network
its slices with the axes it was trained on, which is the model metadata's ``slice_axes``
(default ``"LP"``, the COVID-SemiSeg convention of every model trained so far). NIfTI training volumes are sliced
into the same convention, and plain JPG/PNG slices are taken as they are stored, like the
benchmark's.
"""

from __future__ import annotations

#: rows toward the patient's left, columns toward posterior: the COVID-SemiSeg slices
MODEL_SLICE_AXES = "LP"
#: radiological display, the in-plane axes of covidseg's canonical volumes and DICOM slices
DISPLAY_AXES = "PL"
SLICE_AXES = (MODEL_SLICE_AXES, DISPLAY_AXES)


def model_slice_axes(metadata: dict | None) -> str:
    """The in-plane axes a model's training slices had (metadata ``slice_axes``)."""
    axes = (metadata or {}).get("slice_axes", MODEL_SLICE_AXES)
    if axes not in SLICE_AXES:
        raise ValueError(f"metadata 'slice_axes' must be one of {list(SLICE_AXES)}, got {axes!r}")
    return axes


def display_to_model(array, axes: str = MODEL_SLICE_AXES):
    """A slice or stack of slices (..., rows, columns) in display axes, in ``axes`` (a view)."""
    return array.swapaxes(-1, -2) if axes != DISPLAY_AXES else array
